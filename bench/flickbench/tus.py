"""A tus 1.0.0 client as Flick's own clients behave: 8 MiB PATCHes without checksums (so the server shows the bytes
while they arrive), an MP4/MOV whose index (`moov`) follows its media sent index first (`Flick-Index-Offset`, as the
web app and `flick upload` do), and an optional uplink speed (a token bucket on the bytes written to the socket), so
"watch while it uploads" can be timed at the rates real uploaders have. Stdlib only, real HTTP over loopback.
"""

from __future__ import annotations

import base64
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .server import TUS_CHUNK, Flick

# Blocks handed to the socket: small enough that pacing is smooth at 20 Mbit/s (13 ms a block), large enough that
# Python is not what limits an unthrottled upload.
PACED_BLOCK = 32 << 10
# What the bucket may hold: a link sends back-to-back packets, not one byte at a time.
BUCKET_BYTES = 64 << 10
# Top-level boxes walked at most, as the web app's planner (real files have a handful).
MAX_BOXES = 64


class TokenBucket:
    """An uplink of `rate` bytes per second: `take(n)` returns once n bytes may go. The bucket refills while the
    client waits for an answer, up to `BUCKET_BYTES`, so request round trips cost time as they do on a real link."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = float(BUCKET_BYTES)
        self.last = time.monotonic()

    def take(self, n: int) -> None:
        now = time.monotonic()
        self.tokens = min(float(BUCKET_BYTES), self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= n
        if self.tokens < 0:
            time.sleep(-self.tokens / self.rate)


def mbit(rate_mbit: float) -> float:
    """Mbit/s (what people call an uplink's speed) to bytes per second."""
    return rate_mbit * 1e6 / 8


def index_after_media(path: Path, max_index_bytes: int) -> int | None:
    """The offset of the `moov` box when it follows the media (`mdat`) and it and what follows fit in
    `max_index_bytes`; None to send the file front to back (not ISO BMFF, index already first, or too big).
    The same walk over top-level box headers as web/src/lib/upload/index-first.ts."""
    size = path.stat().st_size
    offset, saw_mdat = 0, False
    with open(path, "rb") as f:
        for _ in range(MAX_BOXES):
            if offset >= size:
                return None
            f.seek(offset)
            head = f.read(16)
            if len(head) < 8:
                return None
            box_size, kind = struct.unpack(">I4s", head[:8])
            if not all(0x20 <= c <= 0x7E for c in kind):
                return None
            if box_size == 1:
                if len(head) < 16:
                    return None
                box_size = struct.unpack(">Q", head[8:16])[0]
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8 or offset + box_size > size:
                return None
            if kind == b"moov":
                return offset if saw_mdat and size - offset <= max_index_bytes else None
            saw_mdat |= kind == b"mdat"
            offset += box_size
    return None


@dataclass
class Upload:
    """One upload's timeline (monotonic seconds) and identity, filled in as it goes; readable from other threads."""
    size: int
    index_offset: int | None = None
    started: float = 0.0  # just before the creation POST is sent
    created: float | None = None  # the POST's 201 arrived
    finished: float | None = None  # the last PATCH's 204 arrived
    video: dict = field(default_factory=dict)  # {"id", "manageToken"} once created
    error: BaseException | None = None
    created_event: threading.Event = field(default_factory=threading.Event)

    @property
    def seconds(self) -> float:
        assert self.finished is not None
        return self.finished - self.started


def transmission_order(path: Path, index_offset: int | None) -> Iterator[tuple[int, int]]:
    """The file's byte ranges in the order they are sent: the tail from the index on first, then the head."""
    size = path.stat().st_size
    if index_offset is None:
        yield 0, size
    else:
        yield index_offset, size
        yield 0, index_offset


def _read_transmission(f, ranges: list[tuple[int, int]], at: int, n: int) -> bytes:
    """`n` bytes at transmission offset `at`."""
    out, pos = bytearray(), 0
    for start, end in ranges:
        length = end - start
        if at < pos + length and len(out) < n:
            skip = max(0, at - pos)
            take = min(length - skip, n - len(out))
            f.seek(start + skip)
            out += f.read(take)
        pos += length
    return bytes(out)


def _paced(data: bytes, bucket: TokenBucket | None) -> Iterator[bytes]:
    if bucket is None:
        yield data  # one write: loopback at full speed
        return
    view = memoryview(data)
    for i in range(0, len(data), PACED_BLOCK):
        block = view[i:i + PACED_BLOCK]
        bucket.take(len(block))
        yield block


def upload(flick: Flick, path: Path, rate: float | None = None, index_first: bool = True,
           state: Upload | None = None, on_created: Callable[[Upload], None] | None = None,
           extra_headers: dict[str, str] | None = None) -> Upload:
    """Uploads `path` through /api/uploads; `rate` in bytes per second (None: as fast as loopback goes).
    `state` (optional) is filled in as the upload runs, so another thread can watch the video meanwhile.
    `extra_headers` go on every request (e.g. the X-Forwarded-For a trusted proxy adds)."""
    size = path.stat().st_size
    index_offset = None
    if index_first:
        max_index = int(flick.get_json("/api/config").get("maxIndexBytes") or 0)
        index_offset = index_after_media(path, max_index) if max_index > 0 else None
    up = state or Upload(size=size)
    up.size, up.index_offset = size, index_offset
    bucket = TokenBucket(rate) if rate else None
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Content-Length": "0",
               "Upload-Metadata": "filename " + base64.b64encode(path.name.encode()).decode(), **(extra_headers or {})}
    if index_offset is not None:
        headers["Flick-Index-Offset"] = str(index_offset)
    try:
        up.started = time.monotonic()
        status, answer, body = flick.request("POST", "/api/uploads", headers=headers)
        if status != 201 or "location" not in answer:
            raise RuntimeError(f"tus creation of {path.name}: {status} {body[:200]!r}")
        up.created = time.monotonic()
        # The video's links name its share id (Flick-Share-Url), not the upload's id.
        share = answer.get("flick-share-url") or answer["location"]
        up.video = {"id": share.rstrip("/").rsplit("/", 1)[1],
                    "manageToken": answer.get("flick-manage-token", "")}
        up.created_event.set()
        if on_created:
            on_created(up)
        _send(flick, path, _path_of(answer["location"]), up, bucket, extra_headers or {})
        up.finished = time.monotonic()
    except BaseException as e:
        up.error = e
        up.created_event.set()
        raise
    return up


def _send(flick: Flick, path: Path, location: str, up: Upload, bucket: TokenBucket | None,
          extra_headers: dict[str, str]) -> None:
    """PATCHes of `TUS_CHUNK` over one kept-alive connection, in transmission order."""
    ranges = list(transmission_order(path, up.index_offset))
    c = flick.conn(timeout=600)
    offset = 0
    try:
        with open(path, "rb") as f:
            while offset < up.size:
                chunk = _read_transmission(f, ranges, offset, min(TUS_CHUNK, up.size - offset))
                c.request("PATCH", location, body=_paced(chunk, bucket), headers={
                    "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream", "Content-Length": str(len(chunk)),
                    **extra_headers})
                r = c.getresponse()
                r.read()
                if r.status != 204:
                    raise RuntimeError(f"tus PATCH of {path.name} at {offset}: {r.status}")
                offset = int(r.getheader("Upload-Offset", "-1"))
    finally:
        c.close()


def _path_of(location: str) -> str:
    """A Location header may be absolute (http://host/path) or a path."""
    if "://" in location:
        rest = location.split("://", 1)[1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return location
