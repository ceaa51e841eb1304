"""The adaptive ladder (issue 13): what its renditions cost, and that they never delay anyone's first playable.

- Cost: a 1080p video is uploaded to a Flick with one ladder worker; the CPU its ffmpeg children used (the server's
  reaped children's time, /proc/PID/stat cutime + cstime) from the video's `ready` until its master playlist lists
  every rendition, per minute of input, and the wall time that took.
- Priority: the first playable of a new upload (a re-encode: the case that needs the CPU) on an idle Flick, then on
  one whose two ladder workers are both encoding (two other videos' ladders), in the same run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .server import Flick
from .stream import poll_until, video_status, wait_ready

TICKS = os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(flick: Flick) -> float:
    """CPU time of the server's reaped children (every ffmpeg it ran and waited for), in seconds."""
    fields = Path(f"/proc/{flick.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3; cutime and cstime are fields 16 and 17.
    return (int(fields[13]) + int(fields[14])) / TICKS


def renditions(flick: Flick, video_id: str) -> int:
    status, _, body = flick.request("GET", f"/streams/{video_id}/master.m3u8")
    return body.count(b"#EXT-X-STREAM-INF") if status == 200 else 0


def ladder_log_count(flick: Flick) -> int:
    """Ladder encodes started so far (the server logs each one)."""
    flick.log.flush()
    return Path(flick.log.name).read_bytes().count(b"encoding a rendition")


def cost(binary: Path, scratch: Path, log: Path, source: Path, duration: float, expected: int) -> dict:
    with Flick(binary, scratch, log, env={"FLICK_PROCESSING__LADDER_WORKERS": "1"}) as flick:
        video, _, _ = flick.upload(source)
        vid = video["id"]
        wait_ready(flick, vid, limit=600)
        before, start = children_cpu_seconds(flick), time.monotonic()
        wall = poll_until(lambda: renditions(flick, vid) >= expected, start, 0.25, 1800,
                          f"{expected} renditions of {source.name}")
        # The last rendition's ffmpeg has been reaped once its playlist is listed.
        cpu = children_cpu_seconds(flick) - before
        listed = renditions(flick, vid)
        flick.delete(video)
    minutes = duration / 60
    return {"cpu_seconds": cpu, "wall_seconds": wall, "renditions": listed - 1, "input_minutes": minutes,
            "cpu_per_input_minute": cpu / minutes, "cores": os.cpu_count()}


def first_playable(flick: Flick, source: Path, poll: float) -> float:
    video, responded, _ = flick.upload(source)
    vid = video["id"]
    try:
        return poll_until(lambda: flick.get_json(f"/api/video/{vid}").get("playable", False), responded, poll, 600,
                          f"{source.name} playable")
    finally:
        wait_ready(flick, vid, limit=900)
        flick.delete(video)


def priority(binary: Path, scratch: Path, log: Path, ladder_source: Path, new_upload: Path, runs: int,
             poll: float) -> dict:
    env = {"FLICK_PROCESSING__LADDER_WORKERS": "2"}
    with Flick(binary, scratch, log, env=env) as flick:
        idle = [first_playable(flick, new_upload, poll) for _ in range(runs)]
        loaded = []
        busy_throughout = True
        for _ in range(runs):
            started = ladder_log_count(flick)
            busy = [flick.upload(ladder_source)[0] for _ in range(2)]
            for v in busy:
                wait_ready(flick, v["id"], limit=600)
            poll_until(lambda: ladder_log_count(flick) >= started + 2, time.monotonic(), 0.1, 120,
                       "two ladder encodes running")
            loaded.append(first_playable(flick, new_upload, poll))
            busy_throughout &= all(renditions(flick, v["id"]) < 3 for v in busy)
            for v in busy:
                flick.delete(v)
            # Let the deleted videos' ladder jobs notice and stop before the next run.
            time.sleep(2)
    return {"idle": idle, "loaded": loaded, "ladders_ran_throughout": busy_throughout}


def storyboard(binary: Path, scratch: Path, log: Path, sources: list[Path], runs: int, poll: float) -> list[dict]:
    """Seek-bar previews: for each source, the time from the upload's answer to its first playable, to `ready`, and
    to its storyboard being listed in the status; the figure is the storyboard's time after the first segment."""
    out = []
    with Flick(binary, scratch, log) as flick:
        for source in sources:
            samples = []
            for _ in range(runs):
                video, responded, _ = flick.upload(source)
                vid = video["id"]
                # One poll watches for all three: each is timed when first seen.
                seen: dict[str, float] = {}

                def check() -> bool:
                    v = flick.get_json(f"/api/video/{vid}")
                    now = time.monotonic() - responded
                    for key, done in (("playable", v.get("playable", False)), ("ready", v.get("status") == "ready"),
                                      ("storyboard", bool(v.get("storyboardUrl")))):
                        if done:
                            seen.setdefault(key, now)
                    return len(seen) == 3

                poll_until(check, responded, poll, 900, f"{source.name} playable, ready and its storyboard")
                playable, ready, board = seen["playable"], seen["ready"], seen["storyboard"]
                samples.append({"playable": playable, "ready": ready, "storyboard": board,
                                "after_first_segment": board - playable, "after_ready": board - ready})
                flick.delete(video)
            out.append({"input": source.name, "runs": samples})
    return out
