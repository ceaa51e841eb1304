"""The Flick process under test, and the HTTP calls the benchmark makes to it (stdlib only)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

# Upload bodies are sent in large blocks: the client should not be what limits an upload over loopback.
SEND_BLOCK = 1 << 20
# tus chunks, as the web app sends them.
TUS_CHUNK = 8 << 20


class Flick:
    """`flick serve` on 127.0.0.1 with a port picked by the OS and a fresh data dir, stopped on exit."""

    def __init__(self, binary: Path, scratch: Path, log_path: Path, env: dict[str, str] | None = None):
        # The data dir sits under target/bench (not /tmp) so that uploads and `dd` write to the same disk.
        scratch.mkdir(parents=True, exist_ok=True)
        self.temp = Path(tempfile.mkdtemp(prefix="flick-", dir=scratch))
        self.data_dir = self.temp / "data"
        full_env = dict(os.environ)
        full_env.update({
            "FLICK_SERVER__HOST": "127.0.0.1",
            "FLICK_SERVER__PORT": "0",
            "FLICK_STORAGE__DATA_DIR": str(self.data_dir),
            "RUST_LOG": os.environ.get("BENCH_FLICK_LOG", "info"),
            # Lower renditions only where a section measures them (ladder.py): elsewhere they would add CPU.
            "FLICK_PROCESSING__LADDER_WORKERS": "0",
        })
        full_env.update(env or {})
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [str(binary), "serve"], cwd=self.temp, env=full_env,
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
        )
        self.host, self.port = "127.0.0.1", self._wait_listening()

    def _wait_listening(self) -> int:
        """Reads stdout up to the line `... (listening on http://127.0.0.1:PORT)` and returns PORT."""
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            if "listening on " in line:
                addr = line.split("listening on ", 1)[1].strip().rstrip(")")
                # Keep draining stdout so the server never blocks on a full pipe.
                threading.Thread(target=self._drain, daemon=True).start()
                return int(addr.rsplit(":", 1)[1])
        raise RuntimeError(f"flick exited before listening (see {self.log.name})")

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def peak_rss_bytes(self) -> int:
        """The process's peak resident set (VmHWM) since it started."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("VmHWM not found")

    def stop(self) -> None:
        """SIGTERM (the server kills its ffmpeg children on shutdown), SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.temp, ignore_errors=True)

    def __enter__(self) -> "Flick":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- HTTP ---------------------------------------------------------------------------------------

    def conn(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout, blocksize=SEND_BLOCK)

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                timeout: float = 60) -> tuple[int, dict, bytes]:
        """One request on a fresh connection: (status, lower-cased headers, body)."""
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def get_json(self, path: str) -> dict:
        status, _, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        return json.loads(body)

    def upload(self, path: Path, method: str = "POST",
               extra_headers: dict[str, str] | None = None) -> tuple[dict, float, float]:
        """Streams `path` as a raw body to /api/upload (with `extra_headers`, e.g. a proxy's X-Forwarded-For).

        Returns (response json, monotonic time the response arrived, seconds the upload took)."""
        size = path.stat().st_size
        started = time.monotonic()
        with open(path, "rb") as f:
            status, _, body = self.request(
                method, f"/api/upload?filename={path.name}", body=f,
                headers={"Content-Length": str(size), "Content-Type": "application/octet-stream",
                         **(extra_headers or {})},
                timeout=600,
            )
        done = time.monotonic()
        if status != 201:
            raise RuntimeError(f"upload of {path.name}: {status} {body[:300]!r}")
        return json.loads(body), done, done - started

    def delete(self, video: dict) -> None:
        self.request("DELETE", f"/api/video/{video['id']}",
                     headers={"Authorization": f"Bearer {video['manageToken']}"})

    # --- tus (the resumable upload path; the client itself is in tus.py) ------------------------------

    def tus_available(self) -> bool:
        """tus is there when OPTIONS /api/uploads answers 204 with a Tus-Version header."""
        try:
            status, headers, _ = self.request("OPTIONS", "/api/uploads", timeout=10)
        except OSError:
            return False
        return status == 204 and "tus-version" in headers
