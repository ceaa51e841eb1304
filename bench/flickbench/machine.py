"""What the benchmark ran on: recorded with every report, because absolute figures mean little without it."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> dict:
    mem_kib = int((_first("/proc/meminfo", "MemTotal") or "0 kB").split()[0])
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "ram_gib": mem_kib / 2**20,
        "kernel": f"{platform.system()} {platform.release()}",
        "ffmpeg": " ".join(ffmpeg[0].split()[:3]) if ffmpeg else "ffmpeg ?",
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def git_describe(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()
    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "crates")
    return f"{rev}{' + uncommitted changes in crates/' if dirty else ''}"
