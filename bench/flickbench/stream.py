"""Time to first playable and time to ready, as a viewer sees them over HTTP."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from .server import Flick


@dataclass
class FlickResult:
    upload: float  # seconds the upload took (not part of TTFP)
    ttfp: float  # upload response -> master, media playlist with a segment, and that segment all fetched
    ready: float  # upload response -> status ready


def segments(playlist: bytes) -> list[str]:
    """The segment URIs a media playlist lists, in order."""
    lines = (line.strip() for line in playlist.decode("utf-8", "replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def first_segment(playlist: bytes) -> str | None:
    listed = segments(playlist)
    return listed[0] if listed else None


def init_segment(playlist: bytes) -> str | None:
    """The `#EXT-X-MAP` URI (fMP4 segments served from the original need their init segment first)."""
    match = re.search(rb'#EXT-X-MAP:.*?URI="([^"]+)"', playlist)
    return match.group(1).decode() if match else None


def is_ended(playlist: bytes) -> bool:
    return b"#EXT-X-ENDLIST" in playlist


def playable(flick: Flick, video_id: str) -> bool:
    """What a player does first: master playlist, media playlist with a segment, the init segment when it has one
    (fMP4 from the original), then the first segment, all 200."""
    base = f"/streams/{video_id}"
    status, _, _ = flick.request("GET", f"{base}/master.m3u8")
    if status != 200:
        return False
    status, _, body = flick.request("GET", f"{base}/index.m3u8")
    segment = first_segment(body) if status == 200 else None
    if segment is None:
        return False
    init = init_segment(body)
    if init is not None:
        status, _, head = flick.request("GET", f"{base}/{init}")
        if status != 200 or not head:
            return False
    status, _, body = flick.request("GET", f"{base}/{segment}")
    return status == 200 and len(body) > 0


def ended(flick: Flick, video_id: str) -> bool:
    """The media playlist is closed (#EXT-X-ENDLIST): a player knows the whole video is there."""
    status, _, body = flick.request("GET", f"/streams/{video_id}/index.m3u8")
    return status == 200 and is_ended(body)


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


def wait_encoding(flick: Flick, ids: list[str], limit: float = 60) -> None:
    """Until every video reports progress: the workers' ffmpeg are encoding, not just starting."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if all(flick.get_json(f"/api/video/{i}").get("progress", 0) > 0 for i in ids):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the re-encodes of {ids} did not start within {limit:.0f} s")
