"""Load (issue 14): one Flick behind a trusted proxy, first idle, then under load, in one run.

Idle: an honest uploader sends the 60 s 1080p H.264 clip through tus at an uplink's pace (live.py's client and clock:
upload start → playable over HTTP) while wrk polls the status API at a steady rate.

Under load, all at once:
- 200 viewers of a ready video (the same clip, served as fMP4 cut from its original), each asking for the master and
  media playlists, the init segment, then every segment at playback pace (see `_viewer`);
- 2 re-encodes running (HEVC and VP9, uploaded from their own addresses, encoding when the load starts; their status
  is polled to show they ran through the honest upload);
- an attacker coming through the proxy (127.0.0.1) from a fresh IPv6 /128 of one /64 per request
  (`X-Forwarded-For: 2001:db8:dead:beef:…`): a stream of small uploads that each need a long re-encode (a 5-minute
  VP9 clip of about 35 kB made here with ffmpeg), joined after SLOW_START by slow tus PATCH trickles and slow plain
  POST bodies (4 kB/s, above the rate cut, each held SLOW_HOLD seconds then dropped and started again);
- the honest uploader again, same clip, same pace: its time to first playable against the idle figure;
- wrk polling GET /api/video/{id} at the same steady rate as idle (p50/p99);
- the server's VmRSS sampled from /proc every 200 ms (the peak, idle and under load).
Honest clients are distinct IPv4 addresses in X-Forwarded-For. After the load, `storage_check` compares what the
API lists (admin listing) with what clients were told, then deletes every accepted video and expects an empty data
dir: nothing half-stored.

Why the viewers are not a load tool: wrk, oha, vegeta and k6 measure rates and latencies, but "every segment in
hand before the playhead reaches it" is a per-viewer schedule (segment i due at start + buffer + the durations of
the segments before it, later segments shifting when one is late). wrk's Lua state is per thread and cannot tell its
connections apart, so it cannot keep a schedule per viewer, and none of these tools reports a deadline missed (wrk
is a Debian package here; oha would be a cargo build, k6 and vegeta are not in the registries this project uses).
So the viewers are a small asyncio client in a process of its own (so that its work never delays the uploader's
pacing thread), which also reports its own scheduling lag: a late wake-up of the client is told apart from a late
segment. wrk (a standard tool) is used where it fits: the
steady-rate status poller, with a `delay()` between requests (4 connections x 50 ms: about 75 requests/s); wrk
waits for a response before the next request on a connection, so a stall of the server shows as one slow request,
not as many (coordinated omission) — p99 is then optimistic, the max is not.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import secrets
import select
import socket
import statistics
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from . import live
from .serving import parse_wrk, percentile
from .server import Flick
from .stream import segments, video_status, wait_encoding, wait_ready

GIB = 1 << 30
# Honest clients, as the proxy forwards them (documentation ranges).
VIEWED_UPLOADER = "198.51.100.5"
HONEST_UPLOADER = "198.51.100.10"
ENCODE_UPLOADERS = ("198.51.100.21", "198.51.100.22")
STATUS_POLLER = "198.51.100.30"
VIEWER_NET = "203.0.113"
# The attacker: one /64, a new /128 each request.
ATTACKER_NET = "2001:db8:dead:beef"

# Settings Flick may or may not have (another change adds them): set through the environment only when
# `flick print-config` prints the key, so that the section runs before and after that change.
OPTIONAL_KNOBS = {
    "upload.max_bytes_per_ip_per_day": 2 * GIB,
    "upload.max_unfinished_bytes_per_ip": 1 * GIB,
    "storage.max_total_bytes": 8 * GIB,
    "processing.max_reencode_duration_seconds": 600,
}
# Always set: the proxy in front, and the admin token for the listing that storage_check reads.
TRUSTED_PROXY = "127.0.0.1"

# Timeline of the load phase, in seconds from its start (t0).
VIEWERS_START = 2.0  # the first viewer (the viewers' process needs a moment to start)
VIEWERS_RAMP = 5.0  # viewers start evenly over this
HONEST_START = 10.0  # the honest upload, once every viewer is watching and the attacker is at it
ATTACK_SECONDS = 60.0
LOAD_API_SECONDS = 60
IDLE_API_SECONDS = 15
# The status poller: wrk connections x a delay between requests on each.
API_CONNECTIONS = 4
API_DELAY_MS = 50

# A viewer: the first segment is due START_BUFFER after the viewer asked for the master playlist (a player's start),
# segment i then at that + the durations before it; a segment is asked for AHEAD seconds before it is due (about one
# segment of buffer: a real player keeps more, so this counts a slow segment sooner than a player would stall).
START_BUFFER = 2.0
AHEAD = 4.0
REQUEST_TIMEOUT = 20.0
READ_BLOCK = 256 << 10

# The attacker's pace: bounded in time (ATTACK_SECONDS) and in count.
SLOW_TUS_WORKERS = 3
SLOW_POST_WORKERS = 3
SMALL_WORKERS = 2
SLOW_START = 3.0  # the slow flood starts this long after the small uploads (which queue re-encodes meanwhile)
SLOW_HOLD = 12.0  # an admitted slow body is trickled this long, then dropped (and another one started)
TRICKLE_BYTES = 4096  # per second: above upload.min_bytes_per_second (1024), so the rate cut does not end it
SMALL_PAUSE = 0.05
REFUSED_PAUSE = 0.2
MAX_ATTEMPTS = 20_000
ATTACK_CLIP_SECONDS = 300

SETTLE_SECONDS = 3.0


# --- configuration ----------------------------------------------------------------------------------

def config_keys(binary: Path) -> set[str]:
    """`section.key` for every top-level key `flick print-config` prints (uncommented, two-space indent)."""
    out = subprocess.run([str(binary), "print-config"], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    keys, section = set(), None
    for line in out.splitlines():
        if m := re.match(r"([a-z_0-9]+):", line):
            section = m.group(1)
        elif section and (m := re.match(r"  ([a-z_0-9]+):", line)):
            keys.add(f"{section}.{m.group(1)}")
    return keys


def env_name(key: str) -> str:
    section, name = key.split(".", 1)
    return f"FLICK_{section.upper()}__{name.upper()}"


def flick_env(binary: Path, admin_token: str) -> tuple[dict[str, str], dict[str, int]]:
    """The environment Flick runs with, and which optional settings it has (set) among OPTIONAL_KNOBS."""
    known = config_keys(binary)
    knobs = {k: v for k, v in OPTIONAL_KNOBS.items() if k in known}
    env = {"FLICK_SERVER__TRUSTED_PROXIES": TRUSTED_PROXY, "FLICK_ADMIN__TOKEN": admin_token}
    env.update({env_name(k): str(v) for k, v in knobs.items()})
    return env, knobs


def limits_of(binary: Path, env: dict[str, str]) -> dict[str, int]:
    """The per-address limits in force (defaults from print-config, overridden by `env`)."""
    out = subprocess.run([str(binary), "print-config"], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    found = {}
    for name in ("max_concurrent_per_ip", "max_per_ip_per_hour", "min_bytes_per_second"):
        m = re.search(rf"^  {name}: (\d+)", out, re.M)
        found[name] = int(env.get(env_name(f"upload.{name}"), m.group(1) if m else "0"))
    return found


def xff(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def attacker_address() -> str:
    return ATTACKER_NET + ":" + ":".join(f"{random.getrandbits(16):x}" for _ in range(4))


def make_attack_clip(dest: Path) -> Path:
    """A few kB that cost a long re-encode: 5 minutes of a still 320x180 picture, VP9 (Flick re-encodes VP9)."""
    if not dest.exists():
        tmp = dest.with_suffix(".tmp.webm")
        subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", f"color=c=teal:s=320x180:r=5:d={ATTACK_CLIP_SECONDS}", "-c:v", "libvpx-vp9",
                        "-deadline", "realtime", "-cpu-used", "8", "-b:v", "20k", str(tmp)],
                       check=True, timeout=120)
        tmp.rename(dest)
    return dest


# --- server RSS -------------------------------------------------------------------------------------

class RssSampler:
    """VmRSS of one process every `every` seconds in a thread: [(monotonic time, bytes)]."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        path = Path(f"/proc/{self.pid}/status")
        while not self._stop.is_set():
            try:
                for line in path.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.samples.append((time.monotonic(), int(line.split()[1]) * 1024))
                        break
            except OSError:
                return
            self._stop.wait(self.every)

    def peak(self, start: float, end: float) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- the status poller (wrk) ------------------------------------------------------------------------

def status_script(video_id: str, dest: Path) -> Path:
    """wrk: GET the status of one video, on each connection one request every API_DELAY_MS plus its latency."""
    dest.write_text(
        f'local headers = {{["X-Forwarded-For"] = "{STATUS_POLLER}"}}\n'
        "request = function()\n"
        f'  return wrk.format("GET", "/api/video/{video_id}", headers)\n'
        "end\n"
        f"delay = function() return {API_DELAY_MS} end\n")
    return dest


def start_wrk(base: str, script: Path, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["wrk", "-t1", f"-c{API_CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", str(script),
         base], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_wrk(proc: subprocess.Popen, seconds: int) -> dict:
    out, _ = proc.communicate(timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{out}")
    return asdict(parse_wrk(out))


# --- viewers ----------------------------------------------------------------------------------------

def run_viewers(host: str, port: int, video_id: str, count: int, start_at: float) -> dict:
    """`count` viewers (asyncio, this process), started evenly over VIEWERS_RAMP from `start_at` (monotonic)."""
    return asyncio.run(_viewers(host, port, video_id, count, start_at))


async def _viewers(host: str, port: int, video_id: str, count: int, start_at: float) -> dict:
    step = VIEWERS_RAMP / max(1, count)
    runs = await asyncio.gather(*(
        _viewer(host, port, video_id, n, start_at, start_at + n * step) for n in range(count)))
    late = [s for r in runs for s in r["stalls"]]
    errors = Counter(e for r in runs for e in r["errors"])
    lag = [x for r in runs for x in r["lag"]]
    startup = [r["startup"] for r in runs if r["startup"] is not None]
    return {
        "viewers": count,
        "finished": sum(r["finished"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "segments": sum(r["segments"] for r in runs),
        "bytes": sum(r["bytes"] for r in runs),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(10)),
        "stalls": len(late),
        "stalled_viewers": sum(1 for r in runs if r["stalls"]),
        "stall_max_s": max((s["late"] for s in late), default=0.0),
        # The first few, by when they happened (seconds after the first viewer's start): which segment, how late.
        "stall_samples": sorted(late, key=lambda s: s["at"])[:12],
        "startup_p50_s": statistics.median(startup) if startup else None,
        "startup_max_s": max(startup, default=None),
        "client_lag_p99_ms": percentile(lag, 99) * 1000 if lag else 0.0,
        "client_lag_max_ms": max(lag, default=0.0) * 1000,
        "segments_per_viewer": max((r["segments"] for r in runs), default=0),
    }


class _Conn:
    """One kept-alive HTTP/1.1 connection of a viewer (reopened after an error or a `Connection: close`)."""

    def __init__(self, host: str, port: int, forwarded_for: str):
        self.host, self.port, self.forwarded_for = host, port, forwarded_for
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, keep: bool) -> tuple[int, bytes, int]:
        """(status, body if `keep` else b"", body length)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          f"X-Forwarded-For: {self.forwarded_for}\r\n\r\n".encode())
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        body, length = bytearray(), 0
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                length += size
                if keep:
                    body += data[:size]
                if size == 0:
                    break
        else:
            left = int(headers.get("content-length", "0"))
            length = left
            while left:
                data = await self.reader.read(min(left, READ_BLOCK))
                if not data:
                    raise ConnectionResetError("closed mid-body")
                left -= len(data)
                if keep:
                    body += data
        if headers.get("connection", "").lower() == "close" or (
                lines[0].startswith("HTTP/1.0") and headers.get("connection", "").lower() != "keep-alive"):
            self.close()
        return status, bytes(body), length

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _viewer(host: str, port: int, video_id: str, n: int, origin: float, start_at: float) -> dict:
    """One player: playlists and init at once, then segment i asked for AHEAD before it is due and timed against
    its due time; a late segment is a stall, and what follows is due that much later (the player waited).
    A failed request is an error and is tried again (up to 3 times), as a player would."""
    loop = asyncio.get_running_loop()
    out = {"requests": 0, "segments": 0, "bytes": 0, "errors": [], "stalls": [], "lag": [], "startup": None,
           "finished": False}
    conn = _Conn(host, port, f"{VIEWER_NET}.{n % 250 + 1}")
    base = f"/streams/{video_id}"

    async def fetch(name: str, keep: bool = False) -> bytes | None:
        for _ in range(3):
            out["requests"] += 1
            try:
                status, body, length = await asyncio.wait_for(conn.get(f"{base}/{name}", keep), REQUEST_TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
                out["errors"].append(f"{type(e).__name__} on {_kind(name)}")
                conn.close()
                continue
            if not 200 <= status < 300:
                out["errors"].append(f"HTTP {status} on {_kind(name)}")
                continue
            out["bytes"] += length
            return body
        return None

    async def sleep_until(when: float) -> None:
        wait = when - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
            out["lag"].append(max(0.0, loop.time() - when))

    await sleep_until(start_at)
    started = loop.time()
    try:
        master = await fetch("master.m3u8", keep=True)
        variant = segments(master)[0] if master else None
        playlist = await fetch(variant, keep=True) if variant else None
        if not playlist:
            return out
        text = playlist.decode("utf-8", "replace")
        durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", text)]
        listed = segments(playlist)
        init = re.search(r'#EXT-X-MAP:.*?URI="([^"]+)"', text)
        if init and await fetch(init.group(1)) is None:
            return out
        offset, shift = 0.0, 0.0
        for i, (name, duration) in enumerate(zip(listed, durations)):
            due = started + START_BUFFER + offset + shift
            await sleep_until(due - AHEAD)
            if await fetch(name) is None:
                return out
            done = loop.time()
            out["segments"] += 1
            if i == 0:
                out["startup"] = done - started
            if done > due:
                out["stalls"].append({"viewer": n, "segment": i, "late": round(done - due, 3),
                                      "at": round(done - origin, 2)})
                shift += done - due
            offset += duration
        out["finished"] = True
    finally:
        conn.close()
    return out


def _kind(name: str) -> str:
    return "playlist" if name.endswith(".m3u8") else "init" if name.startswith("init") else "segment"


# --- the attacker -----------------------------------------------------------------------------------

class Attacker:
    """Threads flooding uploads from one IPv6 /64 through the proxy until `until` (monotonic), each request from a
    new /128. Every request's outcome is counted per kind: accepted (2xx), refused (429/507), cut (408, the server
    ending a body), held (admitted, still trickling when the client dropped it), other (another status), error
    (reset or timeout without an answer)."""

    def __init__(self, flick: Flick, slow_body: Path, small_clip: Path, until: float):
        self.flick, self.until = flick, until
        self.slow = slow_body.read_bytes()[: int(SLOW_HOLD * TRICKLE_BYTES * 2)]
        self.slow_size = slow_body.stat().st_size
        self.slow_name = slow_body.name
        self.small = small_clip.read_bytes()
        self.small_name = small_clip.name
        self.lock = threading.Lock()
        self.outcomes: Counter = Counter()  # (kind, outcome)
        self.statuses: Counter = Counter()  # (kind, status or exception)
        self.accepted: list[dict] = []  # {"id", "manageToken", "kind"}: uploads the server took on
        self.attempts = 0
        self.held_now = 0
        self.held_max = 0
        self.threads = [threading.Thread(target=self._loop, args=(fn, delay), daemon=True) for fn, delay in
                        [(self._tus_slow, SLOW_START)] * SLOW_TUS_WORKERS
                        + [(self._post_slow, SLOW_START)] * SLOW_POST_WORKERS + [(self._small, 0.0)] * SMALL_WORKERS]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=SLOW_HOLD + 30)

    def _loop(self, attempt: Callable[[], str], delay: float) -> None:
        time.sleep(delay)
        while time.monotonic() < self.until:
            with self.lock:
                if self.attempts >= MAX_ATTEMPTS:
                    return
            outcome = attempt()
            time.sleep(REFUSED_PAUSE if outcome in ("refused", "error", "other") else SMALL_PAUSE)

    def _count(self, kind: str, status) -> str:
        if isinstance(status, int):
            outcome = ("accepted" if 200 <= status < 300 else "refused" if status in (429, 507)
                       else "cut" if status == 408 else "other")
        else:
            outcome = "held" if status == "held" else "error"
        with self.lock:
            self.attempts += 1
            self.outcomes[(kind, outcome)] += 1
            self.statuses[(kind, str(status))] += 1
        return outcome

    def _held(self, delta: int) -> None:
        with self.lock:
            self.held_now += delta
            self.held_max = max(self.held_max, self.held_now)

    def _small(self) -> str:
        """One small upload that needs a long re-encode (POST /api/upload, whole body at once)."""
        try:
            status, _, body = self.flick.request(
                "POST", f"/api/upload?filename={self.small_name}", body=self.small, timeout=30,
                headers={"Content-Length": str(len(self.small)), "Content-Type": "application/octet-stream",
                         **xff(attacker_address())})
        except OSError as e:
            return self._count("small re-encode uploads", type(e).__name__)
        if status == 201:
            video = json.loads(body)
            with self.lock:
                self.accepted.append({"id": video["id"], "manageToken": video.get("manageToken", ""),
                                      "kind": "small"})
        return self._count("small re-encode uploads", status)

    def _post_slow(self) -> str:
        """A plain POST whose body trickles (the whole file announced in Content-Length)."""
        head = (f"POST /api/upload?filename={self.slow_name} HTTP/1.1\r\nHost: {self.flick.host}\r\n"
                f"Content-Length: {self.slow_size}\r\nContent-Type: application/octet-stream\r\n"
                f"X-Forwarded-For: {attacker_address()}\r\n\r\n")
        return self._count("slow POST bodies", self._trickle(head))

    def _tus_slow(self) -> str:
        """A tus upload created (counted on its own), then one PATCH that trickles."""
        meta = "filename " + base64.b64encode(self.slow_name.encode()).decode()
        try:
            status, answer, _ = self.flick.request("POST", "/api/uploads", timeout=30, headers={
                "Tus-Resumable": "1.0.0", "Upload-Length": str(self.slow_size), "Content-Length": "0",
                "Upload-Metadata": meta, **xff(attacker_address())})
        except OSError as e:
            return self._count("tus creations", type(e).__name__)
        outcome = self._count("tus creations", status)
        if status != 201:
            return outcome
        share = answer.get("flick-share-url") or answer["location"]
        with self.lock:
            self.accepted.append({"id": share.rstrip("/").rsplit("/", 1)[1],
                                  "manageToken": answer.get("flick-manage-token", ""), "kind": "tus"})
        location = answer["location"]
        if "://" in location:
            location = "/" + location.split("://", 1)[1].split("/", 1)[1]
        head = (f"PATCH {location} HTTP/1.1\r\nHost: {self.flick.host}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {self.slow_size}\r\nX-Forwarded-For: {attacker_address()}\r\n\r\n")
        return self._count("slow tus PATCHes", self._trickle(head))

    def _trickle(self, head: str):
        """Sends `head`, waits a moment for an answer (a refusal comes at once), then trickles TRICKLE_BYTES a second
        for SLOW_HOLD seconds; returns the status that came back, "held" (dropped by us while still admitted), or the
        exception's name."""
        try:
            s = socket.create_connection((self.flick.host, self.flick.port), timeout=10)
        except OSError as e:
            return type(e).__name__
        try:
            s.sendall(head.encode())
            status = _answer(s, 0.5)
            if status is not None:
                return status
            self._held(1)
            try:
                end, sent = min(self.until, time.monotonic() + SLOW_HOLD), 0
                while time.monotonic() < end:
                    try:
                        s.sendall(self.slow[sent:sent + TRICKLE_BYTES])
                    except OSError as e:
                        return _answer(s, 0.5) or type(e).__name__
                    sent += TRICKLE_BYTES
                    status = _answer(s, 1.0)
                    if status is not None:
                        return status
                return "held"
            finally:
                self._held(-1)
        finally:
            s.close()

    def summary(self) -> dict:
        kinds = sorted({k for k, _ in self.outcomes})
        return {
            "attempts": self.attempts,
            "by_kind": {k: {o: n for (kk, o), n in self.outcomes.items() if kk == k} for k in kinds},
            "statuses": {f"{k}: {s}": n for (k, s), n in sorted(self.statuses.items())},
            "accepted_uploads": len(self.accepted),
            "accepted_small": sum(1 for a in self.accepted if a["kind"] == "small"),
            "accepted_tus": sum(1 for a in self.accepted if a["kind"] == "tus"),
            "held_max": self.held_max,
            "refused": sum(n for (_, o), n in self.outcomes.items() if o == "refused"),
            "errors": sum(n for (_, o), n in self.outcomes.items() if o == "error"),
            "server_errors": sum(n for (_, s), n in self.statuses.items() if s.isdigit() and int(s) >= 500
                                 and int(s) != 507),
        }


def _answer(s: socket.socket, wait: float):
    """The status of a response that has arrived on `s` within `wait` seconds, "closed" or an exception's name
    when the connection ended without one, None when nothing came."""
    try:
        readable, _, _ = select.select([s], [], [], wait)
        if not readable:
            return None
        data = s.recv(4096)
    except OSError as e:
        return type(e).__name__
    if not data:
        return "closed"
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else "garbled"


class StatusWatch:
    """The status of some videos every `every` seconds in a thread: [(monotonic time, [status, ...])]."""

    def __init__(self, flick: Flick, ids: list[str], every: float = 0.5):
        self.flick, self.ids, self.every = flick, ids, every
        self.samples: list[tuple[float, list[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), [video_status(self.flick, i) for i in self.ids]))
            except (OSError, RuntimeError) as e:
                self.samples.append((time.monotonic(), [f"unknown ({e})"] * len(self.ids)))
            self._stop.wait(self.every)

    def all_processing(self, start: float, end: float) -> bool:
        inside = [s for t, s in self.samples if start <= t <= end]
        return bool(inside) and all(st == "processing" for s in inside for st in s)

    def done_after(self, origin: float) -> list[float | None]:
        """Per video, seconds from `origin` to the first sample where it was no longer processing."""
        return [next((round(t - origin, 1) for t, s in self.samples if s[k] != "processing"), None)
                for k in range(len(self.ids))]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# --- after the run: nothing half-stored -------------------------------------------------------------

def list_videos(flick: Flick, token: str) -> list[dict]:
    """Every video record, through the admin listing."""
    videos, offset = [], 0
    while True:
        status, _, body = flick.request("GET", f"/api/videos?limit=1000&offset={offset}",
                                        headers={"Authorization": f"Bearer {token}"})
        if status != 200:
            raise RuntimeError(f"GET /api/videos: {status} {body[:200]!r}")
        page = json.loads(body)["videos"]
        videos += page
        if len(page) < 1000:
            return videos
        offset += len(page)


def storage_check(flick: Flick, token: str, accepted: dict[str, dict], deleted: set[str]) -> dict:
    """What the server holds against what its clients were told, once the load has stopped.

    `accepted`: share id → {"kind": "honest" | "small" | "tus", "manageToken"} for every upload a client got a 2xx
    creation answer for; `deleted`: those the honest clients deleted since. First the records (admin listing):
    half-stored would be a record nobody was told of (left by a refused, cut or dropped request), an accepted one
    missing, or a plain POST's video still `uploading` (only tus uploads may stay unfinished: their client may
    resume). Files are keyed by an internal id the API does not show, so they are judged by deleting every accepted
    video with its owner's token: then the listing must be empty and raw/, hls/, thumbs/, tmp/ and work/ must hold no
    file (waited for up to 30 s: a running job is stopped and cleans up after itself). A file left then is one that
    no video accounts for: a refused or cut body's bytes, or a deleted video's debris."""
    listed = {v["id"]: v for v in list_videos(flick, token)}
    expected = {i for i in accepted if i not in deleted}
    unknown = sorted(set(listed) - expected)
    missing = sorted(expected - set(listed))
    stuck = sorted(i for i, v in listed.items()
                   if v["status"] == "uploading" and accepted.get(i, {}).get("kind") != "tus")
    statuses = Counter(v["status"] for v in listed.values())
    files_before = len(_stored_files(flick.data_dir))
    answers: Counter = Counter()
    for share in sorted(expected):
        status, _, _ = flick.request("DELETE", f"/api/video/{share}",
                                     headers={"Authorization": f"Bearer {accepted[share]['manageToken']}"})
        answers[status] += 1
    deadline = time.monotonic() + 30
    while True:
        remaining = list_videos(flick, token)
        left = _stored_files(flick.data_dir)
        if (not remaining and not left) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return {"listed": len(listed), "expected": len(expected), "statuses": dict(statuses),
            "unknown_records": unknown[:20], "unknown_count": len(unknown), "missing_records": missing[:20],
            "missing_count": len(missing), "stuck_uploading": stuck[:20], "stuck_count": len(stuck),
            "files_before_delete": files_before, "delete_answers": {str(k): n for k, n in answers.items()},
            "records_after_delete": len(remaining), "orphans": left[:20], "orphan_count": len(left),
            "ok": not unknown and not missing and not stuck and not remaining and not left}


def _stored_files(data: Path) -> list[str]:
    """Files under the folders that hold videos' bytes (not the database)."""
    return sorted(str(p.relative_to(data)) for top in ("raw", "hls", "thumbs", "tmp", "work")
                  for p in (data / top).rglob("*") if p.is_file())


# --- the section ------------------------------------------------------------------------------------

def measure(flick_bin: Path, scratch: Path, log: Path, clip: Path, encodes: list[Path], slow_body: Path,
            duration: float, uplink_mbit: float, viewers: int, poll: float,
            say: Callable[[str], None]) -> dict:
    """The whole section: idle, then under load, in one Flick process; returns the figures (report.load_rows)."""
    token = secrets.token_hex(16)
    env, knobs = flick_env(flick_bin, token)
    limits = limits_of(flick_bin, env)
    scratch.mkdir(parents=True, exist_ok=True)
    small = make_attack_clip(scratch / f"attack_{ATTACK_CLIP_SECONDS}s.webm")
    say("load: optional settings set: "
        + (", ".join(f"{k}={v}" for k, v in knobs.items()) or "none (not in print-config)"))
    accepted: dict[str, dict] = {}  # share id -> {"kind", "manageToken"}
    deleted: set[str] = set()
    with Flick(flick_bin, scratch, log, env) as flick:
        rss = RssSampler(flick.proc.pid)
        try:
            watched, _, _ = flick.upload(clip, extra_headers=xff(VIEWED_UPLOADER))
            accepted[watched["id"]] = {"kind": "honest", "manageToken": watched["manageToken"]}
            wait_ready(flick, watched["id"], limit=300)
            script = status_script(watched["id"], scratch / "load-status.lua")

            # Idle: the honest upload, the status poller beside it.
            idle_start = time.monotonic()
            wrk = start_wrk(flick.base, script, IDLE_API_SECONDS)
            idle = live.while_uploading(flick, clip, uplink_mbit, poll, duration, xff(HONEST_UPLOADER))
            idle_api = finish_wrk(wrk, IDLE_API_SECONDS)
            idle_end = time.monotonic()
            accepted[idle.video_id] = {"kind": "honest", "manageToken": ""}
            deleted.add(idle.video_id)
            say(f"load idle: honest first playable {idle.first_playable:.3f} s (upload {idle.upload:.1f} s); status "
                f"p50 {idle_api['p50_ms']:.1f} ms, p99 {idle_api['p99_ms']:.1f} ms; RSS peak "
                f"{rss.peak(idle_start, idle_end) / 2**20:.0f} MiB")

            # Under load.
            encoding = [flick.upload(p, extra_headers=xff(a))[0] for p, a in zip(encodes, ENCODE_UPLOADERS)]
            for e in encoding:
                accepted[e["id"]] = {"kind": "honest", "manageToken": e["manageToken"]}
            wait_encoding(flick, [e["id"] for e in encoding])
            t0 = time.monotonic()
            encodes_watch = StatusWatch(flick, [e["id"] for e in encoding])
            pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
            try:
                watching = pool.submit(run_viewers, flick.host, flick.port, watched["id"], viewers,
                                       t0 + VIEWERS_START)
                wrk = start_wrk(flick.base, script, LOAD_API_SECONDS)
                attacker = Attacker(flick, slow_body, small, until=t0 + ATTACK_SECONDS)
                attacker.start()
                time.sleep(max(0.0, t0 + HONEST_START - time.monotonic()))
                honest_start = time.monotonic()
                loaded = live.while_uploading(flick, clip, uplink_mbit, poll, duration, xff(HONEST_UPLOADER))
                accepted[loaded.video_id] = {"kind": "honest", "manageToken": ""}
                deleted.add(loaded.video_id)
                say(f"load: honest first playable {loaded.first_playable:.3f} s under load (upload "
                    f"{loaded.upload:.1f} s, then ready after {loaded.ready:.1f} s)")
                seen = watching.result(timeout=VIEWERS_START + VIEWERS_RAMP + duration * 3 + 120)
                load_api = finish_wrk(wrk, LOAD_API_SECONDS)
                attacker.join()
            finally:
                pool.shutdown(cancel_futures=True)
            load_end = time.monotonic()
            encodes_watch.stop()
            encodes_through = encodes_watch.all_processing(honest_start, honest_start + loaded.upload)
            encodes_done = encodes_watch.done_after(t0)
            for a in attacker.accepted:
                accepted[a["id"]] = a
            time.sleep(SETTLE_SECONDS)
            stored = storage_check(flick, token, accepted, deleted)
            rss_idle, rss_load = rss.peak(idle_start, idle_end), rss.peak(t0, load_end)
        finally:
            rss.stop()
        hwm = flick.peak_rss_bytes()
    attack = attacker.summary()
    say(f"load: viewers {seen['errors']} errors, {seen['stalls']} stalls ({seen['segments']} segments, client lag "
        f"max {seen['client_lag_max_ms']:.0f} ms); status p99 {load_api['p99_ms']:.1f} ms; attacker "
        f"{attack['accepted_uploads']} accepted, {attack['refused']} refused of {attack['attempts']}; stored ok "
        f"{stored['ok']}; RSS peak {rss_load / 2**20:.0f} MiB")
    return {
        "input": clip.name, "encodes": [p.name for p in encodes], "uplink_mbit": uplink_mbit, "knobs": knobs,
        "limits": limits, "viewers": seen, "idle": {"honest": asdict(idle), "api": idle_api, "rss_peak": rss_idle},
        "load": {"honest": asdict(loaded), "api": load_api, "rss_peak": rss_load, "rss_hwm": hwm,
                 "encodes_through_honest_upload": encodes_through, "encodes_done_after": encodes_done,
                 "honest_start": round(honest_start - t0, 1), "seconds": load_end - t0},
        "attacker": attack, "stored": stored,
        "api_rate": f"wrk {API_CONNECTIONS} connections x {API_DELAY_MS} ms delay",
    }
