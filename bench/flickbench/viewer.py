"""The viewer where the viewer is: Chromium on the share page of a video whose upload is still running
(bench/viewer.mjs does the browser side), timed from the upload's start to the first frame, with the stalls counted
until the video has played to its end.

The browser is started before the upload, and the share link is opened the moment the creation POST answers, as a
person who gets the link from the uploader at once would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import tus
from .server import Flick

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "bench" / "viewer.mjs"
CHROMIUM = Path("/usr/bin/chromium")


# A stall with at least this much buffered past the playhead is the browser's (decoding on a busy CPU), not the
# stream's: the data was there.
BUFFERED_S = 0.5


def starved(stall: list[float]) -> bool:
    """The stall happened with (almost) nothing buffered: the stream had not delivered the next seconds."""
    return len(stall) < 3 or stall[2] < BUFFERED_S


@dataclass
class ViewerResult:
    rate_mbit: float
    upload: float  # seconds the upload took
    first_frame: float | None  # upload start -> the first `playing` event on the share page
    played_before_upload_end: bool
    ended: bool  # the video played to its end
    # [media time, seconds, least seconds buffered ahead during it] each
    stalls: list[list[float]] = field(default_factory=list)
    waiting_events: int = 0
    page_errors: list[str] = field(default_factory=list)


def missing() -> str | None:
    """Why the viewer cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}"
    if not (ROOT / "web" / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules/playwright-core is missing (cd web && npm ci)"
    return None


def watch(flick: Flick, path: Path, rate_mbit: float, duration: float) -> ViewerResult:
    """Uploads `path` at `rate_mbit` while Chromium plays it from its share page; returns what the viewer saw."""
    size = path.stat().st_size
    limit = size / tus.mbit(rate_mbit) + duration * 2 + 120
    node = subprocess.Popen(["node", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    up = tus.Upload(size=size)
    try:
        ready = node.stdout.readline()
        if not ready.strip().startswith('{"ready"'):
            raise RuntimeError(f"viewer.mjs did not start: {ready}{node.stderr.read()[:1000]}")

        def open_link(u: tus.Upload) -> None:
            # Date.now() in the browser and time.time() here read the same clock: the start is passed as wall time.
            started_wall = time.time() - (time.monotonic() - u.started)
            node.stdin.write(json.dumps({"url": f"{flick.base}/v/{u.video['id']}", "started": started_wall * 1000,
                                         "limitMs": limit * 1000}) + "\n")
            node.stdin.flush()

        def give_up() -> None:
            # The link will never come: end the browser's wait for it (it then reports an error).
            if not up.video:
                node.stdin.close()

        uploader = threading.Thread(target=_upload, args=(flick, path, rate_mbit, up, open_link, give_up),
                                    daemon=True)
        uploader.start()
        out = node.stdout.readline()
        if not node.stdin.closed:
            node.stdin.close()
        uploader.join(timeout=limit)
        if up.error is not None:
            raise RuntimeError(f"upload of {path.name} failed: {up.error}") from up.error
        if up.finished is None:
            raise RuntimeError(f"upload of {path.name} at {rate_mbit:g} Mbit/s did not end within {limit:.0f} s")
        node.wait(timeout=30)
        seen = json.loads(out) if out.strip() else {"error": node.stderr.read()[:2000]}
        if "error" in seen:
            raise RuntimeError(f"viewer.mjs failed: {seen['error']}")
        first = seen["firstPlaying"] / 1000 if seen["firstPlaying"] is not None else None
        return ViewerResult(rate_mbit=rate_mbit, upload=up.seconds, first_frame=first,
                            played_before_upload_end=first is not None and first < up.seconds,
                            ended=seen["ended"], stalls=seen["stalls"], waiting_events=seen["waitingEvents"],
                            page_errors=seen["pageErrors"])
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
        if up.video:
            flick.delete(up.video)


def _upload(flick: Flick, path: Path, rate_mbit: float, up: tus.Upload, on_created, on_failure) -> None:
    try:
        tus.upload(flick, path, rate=tus.mbit(rate_mbit), state=up, on_created=on_created)
    except BaseException:  # noqa: BLE001 (recorded in up.error)
        on_failure()
