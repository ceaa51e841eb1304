"""Ingest: a large upload over loopback (raw body, and tus when it exists) against `dd` to the same disk."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import tus
from .server import Flick


@dataclass
class IngestResult:
    seconds: float
    peak_rss: int | None = None  # bytes (VmHWM of the server), None for dd


def dd_write(src: Path, scratch: Path) -> IngestResult:
    """`dd` copying the same bytes into the same folder the server writes to, synced before it exits
    (the server fsyncs an upload before answering, so the reference must too)."""
    scratch.mkdir(parents=True, exist_ok=True)
    dest = scratch / "dd.out"
    started = time.monotonic()
    subprocess.run(["dd", f"if={src}", f"of={dest}", "bs=8M", "conv=fsync", "status=none"], check=True)
    seconds = time.monotonic() - started
    dest.unlink()
    return IngestResult(seconds=seconds)


def _fresh_server(binary: Path, scratch: Path, log: Path) -> Flick:
    # No workers: processing would compete with the upload for the disk and the two cores, and its
    # ffmpeg children are not the server's memory anyway. A fresh process makes VmHWM this upload's peak.
    return Flick(binary, scratch, log, env={"FLICK_PROCESSING__WORKERS": "0"})


def raw_upload(binary: Path, src: Path, scratch: Path, log: Path) -> IngestResult:
    with _fresh_server(binary, scratch, log) as flick:
        _, _, seconds = flick.upload(src, method="POST")
        return IngestResult(seconds=seconds, peak_rss=flick.peak_rss_bytes())


def tus_upload(binary: Path, src: Path, scratch: Path, log: Path) -> IngestResult | None:
    """None when the server has no tus endpoint yet."""
    with _fresh_server(binary, scratch, log) as flick:
        if not flick.tus_available():
            return None
        # Front to back, as in earlier runs of this row: it measures the write path, not the index-first order.
        up = tus.upload(flick, src, index_first=False)
        return IngestResult(seconds=up.seconds, peak_rss=flick.peak_rss_bytes())


def idle_rss(binary: Path, scratch: Path, log: Path) -> int:
    """The peak RSS of a server that only started: the floor under the upload figures."""
    with _fresh_server(binary, scratch, log) as flick:
        flick.get_json("/api/config")
        return flick.peak_rss_bytes()
