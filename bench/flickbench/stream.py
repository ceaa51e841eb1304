"""Time to first playable and time to ready, as a viewer sees them over HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .server import Flick


@dataclass
class FlickResult:
    upload: float  # seconds the upload took (not part of TTFP)
    ttfp: float  # upload response -> master, media playlist with a segment, and that segment all fetched
    ready: float  # upload response -> status ready


def first_segment(playlist: bytes) -> str | None:
    for line in playlist.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return None


def playable(flick: Flick, video_id: str) -> bool:
    """What a player does first: master playlist, media playlist with a segment, then that segment, all 200."""
    base = f"/streams/{video_id}"
    status, _, _ = flick.request("GET", f"{base}/master.m3u8")
    if status != 200:
        return False
    status, _, body = flick.request("GET", f"{base}/index.m3u8")
    segment = first_segment(body) if status == 200 else None
    if segment is None:
        return False
    status, _, body = flick.request("GET", f"{base}/{segment}")
    return status == 200 and len(body) > 0


def video_status(flick: Flick, video_id: str) -> str:
    v = flick.get_json(f"/api/video/{video_id}")
    if v["status"] == "error":
        raise RuntimeError(f"video {video_id} failed: {v.get('error')}")
    return v["status"]


def poll_until(check, start: float, every: float, limit: float, what: str) -> float:
    """Calls `check` every `every` seconds (measured start to start) until it is true; returns the time since `start`."""
    while True:
        tick = time.monotonic()
        if check():
            return time.monotonic() - start
        if tick - start > limit:
            raise RuntimeError(f"{what}: not reached within {limit:.0f} s")
        time.sleep(max(0.0, every - (time.monotonic() - tick)))


def measure_flick(flick: Flick, path, duration: float, poll: float) -> FlickResult:
    """Uploads `path`, times TTFP and ready from the upload's response, then deletes the video."""
    video, responded, upload_seconds = flick.upload(path)
    vid = video["id"]
    # Generous limits: processing at 0.3x real time would still finish.
    limit = 60 + duration * 4
    try:
        ttfp = poll_until(lambda: playable(flick, vid), responded, poll, limit, f"{path.name} playable")
        ready = poll_until(lambda: video_status(flick, vid) == "ready", responded, poll, limit, f"{path.name} ready")
    finally:
        flick.delete(video)
    return FlickResult(upload=upload_seconds, ttfp=ttfp, ready=ready)


def wait_ready(flick: Flick, video_id: str, limit: float) -> None:
    poll_until(lambda: video_status(flick, video_id) == "ready", time.monotonic(), 0.1, limit, f"{video_id} ready")
