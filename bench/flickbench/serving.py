"""Serving: segment requests per second (wrk) against Flick and nginx on the same bytes, and the
latency of the status API while re-encodes run.

Flick serves two kinds of segments: fMP4 (`init.mp4` + `seg_NNNNN.m4s`) cut on request from an H.264/AAC original,
and MPEG-TS files (`seg_NNNNN.ts`) a re-encode wrote. Either way nginx gets the very bytes Flick served, as files
(fetched through Flick's own playlist), so the reference is "the same segments, already made, served statically"."""

from __future__ import annotations

import math
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .server import Flick
from .stream import init_segment, segments

# Debian puts nginx in /usr/sbin, which is not on every user's PATH.
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class WrkResult:
    rps: float
    p99_ms: float
    errors: int
    p50_ms: float = 0.0
    requests: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_stream(flick: Flick, video_id: str, dest: Path) -> list[Path]:
    """Fetches a video's playlists, init segment (if any) and every segment from Flick into `dest`, under the same
    names; returns the media segments' files in playlist order."""
    dest.mkdir(parents=True, exist_ok=True)
    base = f"/streams/{video_id}"

    def fetch(name: str) -> bytes:
        status, _, body = flick.request("GET", f"{base}/{name}")
        if status != 200:
            raise RuntimeError(f"GET {base}/{name}: {status}")
        (dest / name).write_bytes(body)
        return body

    fetch("master.m3u8")
    playlist = fetch("index.m3u8")
    init = init_segment(playlist)
    if init is not None:
        fetch(init)
    listed = segments(playlist)
    for name in listed:
        fetch(name)
    return [dest / name for name in listed]


def wrk_script(paths: list[str], dest: Path, cookie: str | None = None) -> Path:
    """A wrk script that cycles through every segment, so the whole video is served, not one hot file (with a
    `Cookie` header on every request when given: a password-protected video's proof)."""
    listed = ",\n".join(f'  "{p}"' for p in paths)
    headers = "{[\"Cookie\"] = \"" + cookie + "\"}" if cookie else "nil"
    dest.write_text(
        "local paths = {\n" + listed + "\n}\n"
        "local i = 0\n"
        f"local headers = {headers}\n"
        "request = function()\n"
        "  i = i % #paths + 1\n"
        "  return wrk.format(\"GET\", paths[i], headers)\n"
        "end\n")
    return dest


def run_wrk(base: str, script: Path, connections: int, seconds: int) -> WrkResult:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not rps:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    done = re.search(r"(\d+) requests in", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return WrkResult(rps=float(rps.group(1)), p99_ms=float(p99.group(1)) * scale[p99.group(2)] if p99 else 0.0,
                     errors=errors, p50_ms=float(p50.group(1)) * scale[p50.group(2)] if p50 else 0.0,
                     requests=int(done.group(1)) if done else 0)


NGINX_CONF = """\
# Written by the Flick benchmark: nginx as a team would run it to serve static HLS files.
daemon off;
master_process on;
user root;
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ video/mp2t ts; video/mp4 mp4 m4s; application/vnd.apple.mpegurl m3u8; }}
    server {{
        listen 127.0.0.1:{port};
        location /streams/{video_id}/ {{ alias {hls_dir}/; }}
    }}
}}
"""


class Nginx:
    """Debian's nginx on 127.0.0.1 with a temp config, serving a video's HLS folder at Flick's URL paths."""

    def __init__(self, hls_dir: Path, video_id: str, scratch: Path):
        scratch.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="nginx-", dir=scratch))
        self.port = free_port()
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=self.tmp, port=self.port, video_id=video_id, hls_dir=hls_dir))
        self.proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(self.tmp)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()[:500]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        # SIGTERM to the master: fast shutdown of master and workers.
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Nginx":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def latency_samples(flick: Flick, path: str, seconds: float, every: float) -> list[float]:
    """GETs `path` on one kept-alive connection every `every` seconds for `seconds`, as a page polling its
    status would; returns each request's latency in milliseconds."""
    conn = flick.conn(timeout=30)
    samples: list[float] = []
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            tick = time.monotonic()
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {path}: {r.status}")
            samples.append((time.monotonic() - tick) * 1000)
            time.sleep(max(0.0, every - (time.monotonic() - tick)))
    finally:
        conn.close()
    return samples


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def summary(samples: list[float]) -> dict:
    return {"count": len(samples), "p50_ms": statistics.median(samples), "p99_ms": percentile(samples, 99),
            "max_ms": max(samples)}
