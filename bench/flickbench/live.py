"""Watch while it uploads: the time from the start of an upload at a real uploader's speed to the moment a player
can start, beside today's clock (the same file uploaded at full speed, then the time from its last byte to playable).

Both go through the same tus client (tus.py: index first when the index follows the media, 8 MiB PATCHes without
checksums), so the only difference between the two is the pace of the upload.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import tus
from .server import Flick
from .stream import ended, playable, poll_until, video_status


@dataclass
class LiveResult:
    rate_mbit: float | None  # the uplink's speed; None: full speed over loopback
    index_first: bool
    upload: float  # upload start (creation POST sent) -> the last PATCH's 204
    first_playable: float  # upload start -> a player has the playlists, init and first segment (over HTTP)
    endlist: float  # the last PATCH's 204 -> the media playlist has #EXT-X-ENDLIST
    ready: float  # the last PATCH's 204 -> status "ready"
    video_id: str = ""

    @property
    def before_end(self) -> bool:
        """Playable before the upload had finished."""
        return self.first_playable < self.upload


def while_uploading(flick: Flick, path: Path, rate_mbit: float, poll: float, duration: float,
                    extra_headers: dict[str, str] | None = None) -> LiveResult:
    """Uploads `path` at `rate_mbit` in a thread and polls, from the upload's start, for what a player needs.
    `extra_headers` go on the upload's requests (e.g. the X-Forwarded-For of a client behind a proxy)."""
    up = tus.Upload(size=path.stat().st_size)
    thread = threading.Thread(target=_upload_quietly, args=(flick, path, tus.mbit(rate_mbit), up, extra_headers),
                              daemon=True)
    thread.start()
    up.created_event.wait(timeout=60)
    _raise_if_failed(up, path)
    upload_seconds = up.size / tus.mbit(rate_mbit)
    limit = upload_seconds + 60 + duration * 4
    try:
        first = poll_until(lambda: _raise_if_failed(up, path) or playable(flick, up.video["id"]), up.started, poll,
                           limit, f"{path.name} playable while uploading")
        thread.join(timeout=max(0.0, limit - (time.monotonic() - up.started)))
        _raise_if_failed(up, path)
        if up.finished is None:
            raise RuntimeError(f"{path.name}: the upload at {rate_mbit:g} Mbit/s did not end within {limit:.0f} s")
        return _after_last_byte(flick, up, rate_mbit, first, poll, duration)
    finally:
        thread.join(timeout=60)
        if up.video:
            flick.delete(up.video)


def after_upload(flick: Flick, path: Path, poll: float, duration: float) -> LiveResult:
    """Today's clock: the whole file at full speed, and only then a player starts asking (from the last byte's 2xx).
    `first_playable` is then counted from the upload's start like the throttled runs'; `upload_end_to_playable`
    gives the part after the upload."""
    up = tus.upload(flick, path)
    try:
        limit = 60 + duration * 4
        after = poll_until(lambda: playable(flick, up.video["id"]), up.finished, poll, limit, f"{path.name} playable")
        return _after_last_byte(flick, up, None, up.seconds + after, poll, duration)
    finally:
        flick.delete(up.video)


def upload_end_to_playable(r: dict) -> float:
    return r["first_playable"] - r["upload"]


def _after_last_byte(flick: Flick, up: tus.Upload, rate_mbit: float | None, first: float, poll: float,
                     duration: float) -> LiveResult:
    vid, limit = up.video["id"], 60 + duration * 4
    endlist = poll_until(lambda: ended(flick, vid), up.finished, poll, limit, f"{vid} ENDLIST")
    ready = poll_until(lambda: video_status(flick, vid) == "ready", up.finished, poll, limit, f"{vid} ready")
    return LiveResult(rate_mbit=rate_mbit, index_first=up.index_offset is not None, upload=up.seconds,
                      first_playable=first, endlist=endlist, ready=ready, video_id=vid)


def _upload_quietly(flick: Flick, path: Path, rate: float, up: tus.Upload,
                    extra_headers: dict[str, str] | None = None) -> None:
    """The upload thread: its failure is recorded in `up` and raised by the watching thread."""
    try:
        tus.upload(flick, path, rate=rate, state=up, extra_headers=extra_headers)
    except BaseException:  # noqa: BLE001 (recorded in up.error)
        pass


def _raise_if_failed(up: tus.Upload, path: Path) -> None:
    if up.error is not None:
        raise RuntimeError(f"upload of {path.name} failed: {up.error}") from up.error
    if not up.created_event.is_set():
        raise RuntimeError(f"upload of {path.name}: no creation answer within 60 s")
