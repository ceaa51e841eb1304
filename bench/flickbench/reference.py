"""The reference pipeline: what a team would write first, one ffmpeg run straight to HLS.

    ffmpeg -i IN -c:v libx264 -preset fast -c:a aac -f hls -hls_time 4 OUT/index.m3u8

timed from its start to the first segment listed in its playlist, and to its exit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RefResult:
    first_segment: float
    # Seconds to finish the whole input; None when only the first segment was waited for.
    total: float | None = None
    # True when the run was stopped at the cap and `total` extrapolated from its progress.
    estimated: bool = False


def probe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def reference_command(src: Path, out_dir: Path) -> list[str]:
    # -progress only reports how far the run is (for extrapolating a capped run); it changes nothing else.
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
            "-i", str(src), "-c:v", "libx264", "-preset", "fast", "-c:a", "aac",
            "-f", "hls", "-hls_time", "4", str(out_dir / "index.m3u8")]


def has_segment(playlist: Path) -> bool:
    """Whether the playlist lists a segment (ffmpeg renames it into place, so it is never half written)."""
    try:
        text = playlist.read_text()
    except FileNotFoundError:
        return False
    return any(line and not line.startswith("#") for line in text.splitlines())


class _Progress:
    """Follows ffmpeg's `-progress` output: the media time reached so far."""

    def __init__(self, proc: subprocess.Popen):
        self.out_seconds = 0.0
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit():
                self.out_seconds = int(value) / 1e6


def run_reference(src: Path, scratch: Path, duration: float, full: bool, cap_seconds: float,
                  poll: float) -> RefResult:
    """Runs the reference on `src`; with `full`, also to its end (or to `cap_seconds`, then extrapolated)."""
    scratch.mkdir(parents=True, exist_ok=True)
    out_dir = Path(tempfile.mkdtemp(prefix="ref-", dir=scratch))
    playlist = out_dir / "index.m3u8"
    started = time.monotonic()
    proc = subprocess.Popen(reference_command(src, out_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    progress = _Progress(proc)
    try:
        first = _wait_first_segment(proc, playlist, started, poll, cap_seconds)
        if not full:
            return RefResult(first_segment=first)
        total, estimated = _wait_end(proc, progress, started, duration, cap_seconds)
        return RefResult(first_segment=first, total=total, estimated=estimated)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        shutil.rmtree(out_dir, ignore_errors=True)


def _wait_first_segment(proc: subprocess.Popen, playlist: Path, started: float, poll: float, cap: float) -> float:
    while True:
        tick = time.monotonic()
        if has_segment(playlist):
            return tick - started
        if proc.poll() is not None:
            if has_segment(playlist):
                return time.monotonic() - started
            raise RuntimeError(f"reference ffmpeg exited {proc.returncode} without a segment: {proc.stderr.read()[:500]}")
        if tick - started > cap:
            raise RuntimeError(f"reference ffmpeg listed no segment within {cap:.0f} s")
        time.sleep(max(0.0, poll - (time.monotonic() - tick)))


def _wait_end(proc: subprocess.Popen, progress: _Progress, started: float, duration: float,
              cap: float) -> tuple[float, bool]:
    """Seconds to the end of the run, or (past `cap`) the time its speed so far predicts, flagged estimated."""
    try:
        proc.wait(timeout=max(0.0, cap - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        elapsed = time.monotonic() - started
        done = progress.out_seconds
        proc.kill()
        if done <= 0:
            raise RuntimeError("reference ffmpeg made no progress before the cap")
        return elapsed * duration / done, True
    if proc.returncode != 0:
        raise RuntimeError(f"reference ffmpeg failed ({proc.returncode}): {proc.stderr.read()[:500]}")
    return time.monotonic() - started, False
