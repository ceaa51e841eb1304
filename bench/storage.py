#!/usr/bin/env python3
"""Time to first playable with blobs in an S3 bucket, beside the same with blobs on the local disk (the reference).

    python3 bench/storage.py          # `make bench-storage`: a remux and a re-encode input, 3 runs each
    python3 bench/storage.py --smoke  # one 10 s clip, one run

Two `flick serve` processes run side by side on the same machine and inputs: one with the default local data folder,
one with `storage.blob_url: s3://…` on a Garage server on loopback (scripts/garage.sh, port 3920). Runs alternate
between them. TTFP is timed from the upload's response to the moment a player has the master playlist, the media
playlist and its first segment (bench/flickbench/stream.py); with S3 that includes the worker fetching the raw upload
from the bucket and every segment going into the bucket and back out through Flick. Upload time is reported apart:
with S3 the upload is in the bucket before the 201. Garage here is a debug build (what the tests install), so the
S3 figures are an upper bound of what a real object store costs.

Writes target/bench/storage/report.md and report.json. Settings: BENCH_RUNS (3), FLICK_BIN (target/release/flick).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flickbench.machine import git_describe, load_average, machine  # noqa: E402
from flickbench.server import Flick  # noqa: E402
from flickbench.stream import measure_flick  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GARAGE_PORT = "3920"
INPUTS = {
    "h264_1080p_60s.mp4": "60 s 1080p H.264/AAC, remuxed",
    "hevc_1080p_60s.mov": "60 s 1080p HEVC, re-encoded",
}
SMOKE = {"h264_720p_10s.mp4": "10 s 720p H.264/AAC, remuxed"}


def say(msg: str) -> None:
    print(f"[bench-storage {datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def duration_of(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def garage(command: str) -> dict[str, str]:
    """Runs scripts/garage.sh on the bench's own port; returns the FLICK_TEST_S3_* settings it prints."""
    env = dict(os.environ, FLICK_GARAGE_PORT=GARAGE_PORT)
    out = subprocess.run(["bash", str(ROOT / "scripts/garage.sh"), command], env=env, capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise RuntimeError(f"scripts/garage.sh {command} failed:\n{out.stderr}")
    settings = {}
    for line in out.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        settings[name] = value
    return settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one short input, one run")
    smoke = parser.parse_args().smoke
    runs = 1 if smoke else int(os.environ.get("BENCH_RUNS", "3"))
    inputs = SMOKE if smoke else INPUTS
    out = ROOT / "target/bench" / ("storage-smoke" if smoke else "storage")
    out.mkdir(parents=True, exist_ok=True)
    binary = Path(os.environ.get("FLICK_BIN", ROOT / "target/release/flick"))
    subprocess.run(["bash", str(ROOT / "bench/inputs.sh"), "smoke" if smoke else "storage"], check=True)
    in_dir = ROOT / "target/bench/inputs"

    say("starting Garage on 127.0.0.1:" + GARAGE_PORT)
    s3 = garage("start")
    prefix = f"bench-{int(time.time())}"
    s3_env = {
        "FLICK_STORAGE__BLOB_URL": f"s3://{s3['FLICK_TEST_S3_BUCKET']}/{prefix}",
        "FLICK_STORAGE__S3__ENDPOINT": s3["FLICK_TEST_S3_ENDPOINT"],
        "FLICK_STORAGE__S3__REGION": "garage",
        "FLICK_STORAGE__S3__ACCESS_KEY_ID": s3["FLICK_TEST_S3_KEY_ID"],
        "FLICK_STORAGE__S3__SECRET_ACCESS_KEY": s3["FLICK_TEST_S3_SECRET"],
    }
    scratch = out / "scratch"
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    rows = []
    try:
        with Flick(binary, scratch, out / "flick-local.log") as local, \
                Flick(binary, scratch, out / "flick-s3.log", env=s3_env) as bucket:
            for name, label in inputs.items():
                path = in_dir / name
                duration = duration_of(path)
                results: dict[str, list] = {"local": [], "s3": []}
                for run in range(runs):
                    # Alternate which goes first, so neither always meets a warmer page cache.
                    order = [("local", local), ("s3", bucket)] if run % 2 == 0 else [("s3", bucket), ("local", local)]
                    for which, flick in order:
                        r = measure_flick(flick, path, duration, poll=0.02)
                        results[which].append(r)
                        say(f"{name} {which} run {run + 1}: upload {r.upload:.2f} s, TTFP {r.ttfp * 1e3:.0f} ms, "
                            f"ready {r.ready:.1f} s")
                med = {k: {f: statistics.median(getattr(r, f) for r in v) for f in ("upload", "ttfp", "ready")}
                       for k, v in results.items()}
                rows.append({"input": name, "label": label, "size_mb": path.stat().st_size / 1e6, "runs": runs,
                             "local": med["local"], "s3": med["s3"],
                             "ttfp_ratio": med["s3"]["ttfp"] / med["local"]["ttfp"]})
    finally:
        garage("stop")

    meta = {"command": "make bench-storage" + ("-smoke" if smoke else ""), "machine": machine(),
            "git": git_describe(ROOT), "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "elapsed_minutes": (time.monotonic() - t0) / 60, "load_end": load_average()}
    lines = [
        "# TTFP: blobs in S3 (Garage on loopback) vs on the local disk",
        "",
        f"`{meta['command']}` at {meta['git']}, {meta['started']}, {runs} run(s) per input (medians).",
        "",
        "| input | size | TTFP local | TTFP S3 | S3 / local | ready local | ready S3 | upload local | upload S3 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lo, s = r["local"], r["s3"]
        lines.append(f"| {r['label']} | {r['size_mb']:.0f} MB | {lo['ttfp'] * 1e3:.0f} ms | {s['ttfp'] * 1e3:.0f} ms "
                     f"| {r['ttfp_ratio']:.2f}x | {lo['ready']:.1f} s | {s['ready']:.1f} s | {lo['upload']:.2f} s "
                     f"| {s['upload']:.2f} s |")
    report = "\n".join(lines) + "\n"
    (out / "report.md").write_text(report)
    (out / "report.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(report)
    say(f"wrote {out}/report.md and report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
