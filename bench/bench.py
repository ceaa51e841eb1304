#!/usr/bin/env python3
"""Flick's benchmark: time-to-stream (after the upload, and while it is still running), ingest, serving, a viewer
in Chromium, and a load test (viewers, re-encodes and an attacker at once), each beside a reference or idle figure
measured in the same run.

    python3 bench/bench.py          # the full run (`make bench`): inputs from bench/inputs.sh full
    python3 bench/bench.py --smoke  # one short input, one run, one upload paced at 20 Mbit/s (`make bench-smoke`)

Writes target/bench/report.md, report.json and ttfp.svg (the smoke run: target/bench/smoke/). Settings (environment):
    BENCH_RUNS=3              runs per input (medians are reported)
    BENCH_RUNS_LARGE=2        runs for the ~1 GB inputs (TTFP and ingest)
    BENCH_REF_MAX_SECONDS=180 the reference's total time is extrapolated from its progress past this
    BENCH_WRK_SECONDS=10      length of each wrk run
    BENCH_API_SECONDS=10      length of each status-API latency window
    BENCH_LIVE_RATES=20,50,100  uplink speeds (Mbit/s) of the "watch while it uploads" rows
    BENCH_LIVE_LARGE_RATES=50,100  the same for the ~1 GB file, one run each (BENCH_LIVE_RUNS_LARGE=1); add 20 for
                              the 7-minute upload at 20 Mbit/s
    BENCH_VIEWER_FACTOR=1.5   the Chromium viewer's upload runs at this multiple of the video's own bitrate
    BENCH_LOAD_VIEWERS=200    the load section's concurrent viewers (segments at playback pace)
    BENCH_LOAD_UPLINK=50      the load section's honest uploader's uplink (Mbit/s), idle and under load
    BENCH_ONLY=ttfp,scaling,ingest,serving,gate,api,live,viewer,load,ladder   a subset of sections; `load` (about 2.5
                              minutes, needs wrk) is issue 14's test: Flick behind a trusted proxy, idle then under 200
                              viewers, 2 re-encodes and an attacker from one IPv6 /64 (bench/flickbench/load.py);
                              `ladder` (issue 13) the lower renditions' CPU cost and a first playable beside two of them, and the storyboard's time
                              after the first segment
                              (bench/flickbench/ladder.py). Other sections run without ladder workers.
    FLICK_BIN=target/release/flick
Exits non-zero when the harness itself fails (a video never plays, a tool is missing); missed targets are
reported, not errors: machines are shared and noisy, and CI must not turn timing into flaky failures.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from flickbench import gate, ingest, ladder, live, load, report, serving, viewer
from flickbench.machine import git_describe, load_average, machine
from flickbench.reference import probe_duration, reference_command, run_reference
from flickbench.server import Flick
from flickbench.stream import measure_flick, video_status, wait_encoding, wait_ready

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("ttfp", "scaling", "ingest", "serving", "gate", "api", "live", "viewer", "load", "ladder")


@dataclass(frozen=True)
class Input:
    name: str  # file stem in target/bench/inputs (made by bench/inputs.sh)
    ext: str
    label: str
    kind: str  # "remux" (H.264/AAC: Flick copies it) or "reencode"
    large: bool = False  # ~1 GB: fewer runs

    @property
    def file(self) -> str:
        return f"{self.name}.{self.ext}"


H264_60S = Input("h264_1080p_60s", "mp4", "60 s 1080p H.264/AAC MP4, index at end", "remux")
H264_1GB = Input("h264_1080p_1gb", "mp4", "≈1 GB 1080p H.264/AAC MP4 (10 min)", "remux", large=True)
HEVC_60S = Input("hevc_1080p_60s", "mov", "60 s 1080p HEVC MOV", "reencode")
VP9_60S = Input("vp9_1080p_60s", "webm", "60 s 1080p VP9/Opus WebM", "reencode")
FULL_INPUTS = [
    H264_60S,
    H264_1GB,
    HEVC_60S,
    VP9_60S,
    Input("h264_4k_30s", "mp4", "30 s 4K H.264/AAC MP4", "remux"),
]
# Watch while it uploads: the copy path (index first, small and large) and the re-encode path.
LIVE_INPUTS = [H264_60S, H264_1GB, HEVC_60S, VP9_60S]
# The Chromium viewer: the copy path, then the re-encode path.
VIEWER_INPUTS = [H264_60S, HEVC_60S]
# TTFP of the remux path against size: cuts of the 1 GB file (the 60 s and 1 GB inputs are reused).
SCALING_INPUTS = [
    Input("h264_cut_50mb", "mp4", "50 MB cut", "remux"),
    H264_60S,
    Input("h264_cut_250mb", "mp4", "250 MB cut", "remux"),
    H264_1GB,
]
SMOKE_INPUT = Input("h264_720p_10s", "mp4", "10 s 720p H.264/AAC MP4", "remux")


@dataclass(frozen=True)
class Settings:
    smoke: bool
    runs: int
    runs_large: int
    ref_max_seconds: float
    wrk_seconds: int
    api_seconds: float
    live_rates: tuple[float, ...]
    live_large_rates: tuple[float, ...]
    live_runs_large: int
    viewer_factor: float
    load_viewers: int
    load_uplink: float
    sections: tuple[str, ...]
    flick_bin: Path
    out: Path
    poll: float = 0.020  # the polling interval
    connections: int = 64

    @staticmethod
    def from_env(smoke: bool) -> "Settings":
        env = os.environ.get
        only = tuple(s for s in env("BENCH_ONLY", ",".join(SECTIONS)).split(",") if s)
        unknown = set(only) - set(SECTIONS)
        if unknown:
            sys.exit(f"BENCH_ONLY: unknown sections {sorted(unknown)} (known: {', '.join(SECTIONS)})")
        return Settings(
            smoke=smoke,
            runs=int(env("BENCH_RUNS", "1" if smoke else "3")),
            runs_large=int(env("BENCH_RUNS_LARGE", "1" if smoke else "2")),
            ref_max_seconds=float(env("BENCH_REF_MAX_SECONDS", "60" if smoke else "180")),
            wrk_seconds=int(env("BENCH_WRK_SECONDS", "10")),
            api_seconds=float(env("BENCH_API_SECONDS", "10")),
            # The smoke run: one short upload at the slowest speed.
            live_rates=_rates(env("BENCH_LIVE_RATES", "20" if smoke else "20,50,100")),
            live_large_rates=_rates(env("BENCH_LIVE_LARGE_RATES", "50,100")),
            live_runs_large=int(env("BENCH_LIVE_RUNS_LARGE", "1")),
            viewer_factor=float(env("BENCH_VIEWER_FACTOR", "1.5")),
            load_viewers=int(env("BENCH_LOAD_VIEWERS", "200")),
            load_uplink=float(env("BENCH_LOAD_UPLINK", "50")),
            # The smoke run keeps to what a CI machine has after `make deps`: no wrk, nginx, Chromium or 1 GB files.
            sections=tuple(s for s in only if not smoke or s in ("ttfp", "ingest", "gate", "live")),
            flick_bin=Path(env("FLICK_BIN", str(ROOT / "target/release/flick"))),
            out=Path(env("BENCH_OUT", str(ROOT / "target/bench"))),
        )

    @property
    def inputs_dir(self) -> Path:
        return self.out / "inputs"

    @property
    def reports(self) -> Path:
        # The smoke run writes beside the full report, never over it.
        return self.out / "smoke" if self.smoke else self.out

    @property
    def scratch(self) -> Path:
        return self.out / "scratch"

    def log(self, name: str) -> Path:
        return self.out / "logs" / f"{name}.log"

    def path(self, inp: Input) -> Path:
        p = self.inputs_dir / inp.file
        if not p.exists():
            sys.exit(f"missing input {p}: run bench/inputs.sh {'smoke' if self.smoke else 'full'}")
        return p

    def runs_for(self, inp: Input) -> int:
        return self.runs_large if inp.large else self.runs

    def live_rates_for(self, inp: Input) -> tuple[float, ...]:
        return self.live_large_rates if inp.large else self.live_rates

    def live_runs_for(self, inp: Input) -> int:
        return self.live_runs_large if inp.large else self.runs


def _rates(text: str) -> tuple[float, ...]:
    return tuple(float(r) for r in text.split(",") if r.strip())


def say(msg: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# --- sections ---------------------------------------------------------------------------------------

def section_ttfp(s: Settings, inputs: list[Input]) -> list[dict]:
    """Per input, alternating: Flick (upload → playable → ready), then the reference on the same file.
    The reference runs to its end once per input (its total time) and only to its first segment after."""
    entries = []
    with Flick(s.flick_bin, s.scratch, s.log("ttfp")) as flick:
        for inp in inputs:
            path = s.path(inp)
            duration = probe_duration(path)
            entry = {"name": inp.name, "label": inp.label, "kind": inp.kind, "large": inp.large,
                     "duration": duration, "bytes": path.stat().st_size, "flick": [], "reference": []}
            for run in range(s.runs_for(inp)):
                f = measure_flick(flick, path, duration, s.poll)
                r = run_reference(path, s.scratch, duration, full=run == 0, cap_seconds=s.ref_max_seconds,
                                  poll=s.poll)
                entry["flick"].append(asdict(f))
                entry["reference"].append(asdict(r))
                say(f"{inp.name} run {run + 1}: Flick upload {f.upload:.2f} s, TTFP {f.ttfp:.3f} s, "
                    f"ready {f.ready:.2f} s | reference first segment {r.first_segment:.2f} s"
                    + (f", total {r.total:.1f} s{' (est.)' if r.estimated else ''}" if r.total else ""))
            entries.append(entry)
    return entries


def section_scaling(s: Settings, ttfp_entries: list[dict]) -> list[dict]:
    """TTFP of the remux path at growing sizes; inputs already measured in the TTFP section are reused."""
    done = {e["name"]: e for e in ttfp_entries}
    entries = []
    with Flick(s.flick_bin, s.scratch, s.log("scaling")) as flick:
        for inp in SCALING_INPUTS:
            path = s.path(inp)
            size, duration = path.stat().st_size, probe_duration(path)
            label = f"{size / report.MB:.0f} MB remux ({duration:.0f} s of 1080p)"
            if inp.name in done:
                e = done[inp.name]
                flick_ttfp = [r["ttfp"] for r in e["flick"]]
                ref_first = [r["first_segment"] for r in e["reference"]]
            else:
                flick_ttfp, ref_first = [], []
                for run in range(s.runs_for(inp)):
                    flick_ttfp.append(measure_flick(flick, path, duration, s.poll).ttfp)
                    ref_first.append(run_reference(path, s.scratch, duration, False, s.ref_max_seconds,
                                                   s.poll).first_segment)
                    say(f"{inp.name} run {run + 1}: Flick TTFP {flick_ttfp[-1]:.3f} s | "
                        f"reference first segment {ref_first[-1]:.2f} s")
            entries.append({"name": inp.name, "label": label, "bytes": size, "duration": duration,
                            "flick_ttfp": flick_ttfp, "reference_first": ref_first})
    return entries


def section_ingest(s: Settings, inp: Input) -> dict:
    """The same file through POST /api/upload, through tus (when the server has it), and through dd."""
    path = s.path(inp)
    result = {"input": inp.label, "bytes": path.stat().st_size, "dd": [], "raw": [], "tus": None,
              "idle_rss": ingest.idle_rss(s.flick_bin, s.scratch, s.log("ingest"))}
    for run in range(s.runs_for(inp)):
        dd = ingest.dd_write(path, s.scratch)
        raw = ingest.raw_upload(s.flick_bin, path, s.scratch, s.log("ingest"))
        result["dd"].append(asdict(dd))
        result["raw"].append(asdict(raw))
        say(f"ingest run {run + 1}: dd {dd.seconds:.2f} s | POST {raw.seconds:.2f} s, "
            f"peak RSS {raw.peak_rss / 2**20:.1f} MiB")
    tus = ingest.tus_upload(s.flick_bin, path, s.scratch, s.log("ingest"))
    if tus is None:
        say("ingest: tus not available (OPTIONS /api/uploads did not answer 204 with Tus-Version)")
    else:
        result["tus"] = [asdict(tus)]
        for _ in range(s.runs_for(inp) - 1):
            result["tus"].append(asdict(ingest.tus_upload(s.flick_bin, path, s.scratch, s.log("ingest"))))
        say(f"ingest: tus {[round(t['seconds'], 2) for t in result['tus']]} s")
    return result


def section_serving(s: Settings, inp: Input) -> dict:
    """wrk over every segment of one video, against Flick and against nginx serving the very same bytes as files.
    An H.264/AAC MP4 is served as fMP4 cut from its original on each request; a re-encoded one as stored MPEG-TS."""
    with Flick(s.flick_bin, s.scratch, s.log("serving")) as flick:
        video, _, _ = flick.upload(s.path(inp))
        wait_ready(flick, video["id"], limit=300)
        files = s.scratch / f"segments-{inp.name}"
        segments = serving.copy_stream(flick, video["id"], files)
        paths = [f"/streams/{video['id']}/{p.name}" for p in segments]
        script = serving.wrk_script(paths, s.scratch / f"segments-{inp.name}.lua")
        kind = "fMP4 from the original" if segments[0].suffix == ".m4s" else "stored MPEG-TS"
        result = {"input": inp.label, "kind": kind, "segments": len(segments),
                  "segment_bytes": sum(p.stat().st_size for p in segments) / len(segments),
                  "connections": s.connections, "seconds": s.wrk_seconds, "flick": [], "nginx": []}
        with serving.Nginx(files, video["id"], s.scratch) as nginx:
            # Warm-up: whoever goes first would pay for the page cache.
            serving.run_wrk(nginx.base, script, s.connections, 2)
            serving.run_wrk(flick.base, script, s.connections, 2)
            for run in range(s.runs):
                # Alternate who goes first, so a drift in the machine's load does not favour one side.
                order = [("nginx", nginx.base), ("flick", flick.base)]
                for name, base in order if run % 2 == 0 else reversed(order):
                    result[name].append(asdict(serving.run_wrk(base, script, s.connections, s.wrk_seconds)))
                say(f"serving {kind} run {run + 1}: Flick {result['flick'][-1]['rps']:.0f} req/s, "
                    f"nginx {result['nginx'][-1]['rps']:.0f} req/s")
            if segments[0].suffix == ".m4s":
                # The same segments behind a password, each request with the viewer's cookie (issue 12).
                gate.set_password(flick, video, gate.PASSWORD)
                cookie, _ = gate.unlock(flick, video)
                locked = serving.wrk_script(paths, s.scratch / f"segments-{inp.name}-locked.lua", cookie)
                result["flick_protected"] = []
                for run in range(s.runs):
                    order = [("nginx", nginx.base, script), ("flick_protected", flick.base, locked)]
                    for name, base, scr in order if run % 2 == 0 else reversed(order):
                        result[name].append(asdict(serving.run_wrk(base, scr, s.connections, s.wrk_seconds)))
                    say(f"serving {kind} behind a password run {run + 1}: Flick "
                        f"{result['flick_protected'][-1]['rps']:.0f} req/s, nginx {result['nginx'][-1]['rps']:.0f}")
                gate.set_password(flick, video, None)
        shutil.rmtree(files, ignore_errors=True)
    return result


def section_gate(s: Settings, inp: Input) -> dict:
    """What a password costs each request after the first (a cookie's MAC), and the unlock itself (argon2id)."""
    with Flick(s.flick_bin, s.scratch, s.log("gate")) as flick:
        video, _, _ = flick.upload(s.path(inp))
        wait_ready(flick, video["id"], limit=300)
        result = gate.measure(flick, video, rounds=max(s.runs, 1), n=200 if s.smoke else 2000)
        result["input"] = inp.label
    say(f"gate: {result['added_ms'] * 1000:.0f} µs added per request, unlock "
        f"{min(result['unlock_s']) * 1000:.0f} ms")
    return result


def section_api(s: Settings, status_input: Input, encode_input: Input) -> dict:
    """p99 of GET /api/video/{id} idle, then while two re-encodes run (two uploads in flight at once)."""
    with Flick(s.flick_bin, s.scratch, s.log("api")) as flick:
        video, _, _ = flick.upload(s.path(status_input))
        wait_ready(flick, video["id"], limit=300)
        path = f"/api/video/{video['id']}"
        idle = serving.latency_samples(flick, path, s.api_seconds, every=s.poll)
        encodes = [flick.upload(s.path(encode_input))[0] for _ in range(2)]
        wait_encoding(flick, [e["id"] for e in encodes])
        loaded = serving.latency_samples(flick, path, s.api_seconds, every=s.poll)
        still = all(video_status(flick, e["id"]) == "processing" for e in encodes)
        result = {"input": encode_input.label, "idle": serving.summary(idle), "loaded": serving.summary(loaded),
                  "encodes_ran_throughout": still}
    say(f"api: idle p99 {result['idle']['p99_ms']:.1f} ms, under 2 encodes p99 {result['loaded']['p99_ms']:.1f} ms"
        f" (encodes still running at the end: {still})")
    return result


def section_live(s: Settings, inputs: list[Input]) -> list[dict]:
    """Per input: today's clock (full-speed upload, then last byte → playable), then uploads paced at each rate,
    timed from their start to playable, and from their last byte to ENDLIST and to ready."""
    entries = []
    with Flick(s.flick_bin, s.scratch, s.log("live")) as flick:
        for inp in inputs:
            path = s.path(inp)
            duration = probe_duration(path)
            entry = {"name": inp.name, "label": inp.label, "kind": inp.kind, "bytes": path.stat().st_size,
                     "duration": duration, "reference": [], "rates": []}
            for run in range(s.live_runs_for(inp)):
                r = live.after_upload(flick, path, s.poll, duration)
                entry["reference"].append(asdict(r))
                say(f"{inp.name} full speed run {run + 1}: upload {r.upload:.2f} s, then playable after "
                    f"{r.first_playable - r.upload:.3f} s, ENDLIST {r.endlist:.3f} s, ready {r.ready:.2f} s")
            for rate in s.live_rates_for(inp):
                runs = []
                for run in range(s.live_runs_for(inp)):
                    r = live.while_uploading(flick, path, rate, s.poll, duration)
                    runs.append(asdict(r))
                    say(f"{inp.name} at {rate:g} Mbit/s run {run + 1}: upload {r.upload:.1f} s, first playable "
                        f"{r.first_playable:.3f} s after its start{'' if r.before_end else ' (after its end)'}; "
                        f"after the last byte ENDLIST {r.endlist:.3f} s, ready {r.ready:.2f} s")
                entry["rates"].append({"rate_mbit": rate, "runs": runs})
            entries.append(entry)
    return entries


def section_viewer(s: Settings, inputs: list[Input]) -> list[dict]:
    """Chromium on the share page while the upload runs at `viewer_factor` x the video's bitrate (BENCH_RUNS runs
    each; a run lasts the video's length plus its start)."""
    entries = []
    with Flick(s.flick_bin, s.scratch, s.log("viewer")) as flick:
        for inp in inputs:
            path = s.path(inp)
            duration = probe_duration(path)
            bitrate_mbit = path.stat().st_size * 8 / duration / 1e6
            rate = round(bitrate_mbit * s.viewer_factor, 1)
            runs = []
            for run in range(s.runs):
                r = viewer.watch(flick, path, rate, duration)
                runs.append(asdict(r))
                say(f"viewer {inp.name} at {rate:g} Mbit/s ({s.viewer_factor:g}x {bitrate_mbit:.1f}) run {run + 1}: "
                    f"upload {r.upload:.1f} s, first frame {r.first_frame} s, ended {r.ended}, "
                    f"stalls [media time, s, buffered ahead] {r.stalls}")
            entries.append({"name": inp.name, "label": inp.label, "kind": inp.kind, "duration": duration,
                            "bitrate_mbit": bitrate_mbit, "factor": s.viewer_factor, "rate_mbit": rate, "runs": runs})
    return entries


def section_ladder(s: Settings, source: Input, new_upload: Input) -> dict:
    """Issue 13's ladder: CPU per minute of 1080p input for its 720p and 360p renditions, and the first playable of a
    new upload (a re-encode) while two ladder encodes run, beside the same figure idle."""
    path = s.path(source)
    result = {"input": source.label, "new_upload": new_upload.label}
    result["cost"] = ladder.cost(s.flick_bin, s.scratch, s.log("ladder-cost"), path, probe_duration(path), 3)
    c = result["cost"]
    say(f"ladder: {c['renditions']} renditions of {source.label} in {c['wall_seconds']:.1f} s, "
        f"{c['cpu_per_input_minute']:.0f} CPU-s per minute of input")
    result["priority"] = ladder.priority(s.flick_bin, s.scratch, s.log("ladder-priority"), path,
                                         s.path(new_upload), max(s.runs, 1), s.poll)
    p = result["priority"]
    say(f"ladder: first playable idle {p['idle']}, beside two ladder encodes {p['loaded']}")
    result["storyboard"] = ladder.storyboard(s.flick_bin, s.scratch, s.log("storyboard"), [path, s.path(new_upload)],
                                             max(s.runs, 1), s.poll)
    for entry in result["storyboard"]:
        say(f"storyboard: {entry['input']}: after the first segment "
            f"{[round(r['after_first_segment'], 2) for r in entry['runs']]} s, after ready "
            f"{[round(r['after_ready'], 2) for r in entry['runs']]} s")
    return result


def section_load(s: Settings, clip: Input, encodes: list[Input], slow: Input) -> dict:
    """Issue 14's load test, one Flick behind a trusted proxy: the honest uploader idle, then the same upload while
    viewers watch at playback pace, two re-encodes run and an attacker floods uploads from one IPv6 /64."""
    path = s.path(clip)
    return load.measure(s.flick_bin, s.scratch, s.log("load"), path, [s.path(e) for e in encodes], s.path(slow),
                        probe_duration(path), s.load_uplink, s.load_viewers, s.poll, say)


# --- main -------------------------------------------------------------------------------------------

def check_tools(s: Settings) -> None:
    needed = ["ffmpeg", "ffprobe", "dd"]
    if "serving" in s.sections:
        needed += ["wrk", serving.NGINX]
    if "load" in s.sections:
        needed += ["wrk"]
    missing = [t for t in needed if shutil.which(t) is None]
    if missing:
        sys.exit(f"missing tools: {', '.join(missing)} (bench/install-tools.sh installs them)")
    if "viewer" in s.sections and (why := viewer.missing()):
        sys.exit(f"the viewer section needs Chromium and playwright-core: {why}")
    if not s.flick_bin.exists():
        sys.exit(f"{s.flick_bin} not found: run `cargo build --release` first")


def freeze_binary(s: Settings) -> Settings:
    """Runs a copy of the binary: a `cargo build` started while the benchmark runs must not swap the
    program under test halfway through."""
    frozen = s.out / "flick-under-test"
    shutil.copy2(s.flick_bin, frozen)
    return dataclasses.replace(s, flick_bin=frozen)


def run_sections(s: Settings) -> dict:
    results: dict = {"skipped": []}
    inputs = [SMOKE_INPUT] if s.smoke else FULL_INPUTS
    big = SMOKE_INPUT if s.smoke else H264_1GB
    if "ttfp" in s.sections:
        say(f"TTFP and time to ready: {len(inputs)} input(s), {s.runs} run(s) each")
        results["ttfp"] = section_ttfp(s, inputs)
    if "scaling" in s.sections:
        say("scaling: TTFP of the remux path at 50 MB ... 1 GB")
        results["scaling"] = section_scaling(s, results.get("ttfp", []))
    if "ingest" in s.sections:
        say(f"ingest: {big.label} vs dd")
        results["ingest"] = section_ingest(s, big)
    if "serving" in s.sections:
        say("serving: wrk against Flick and nginx (fMP4 from the original, then stored MPEG-TS)")
        results["serving"] = [section_serving(s, H264_60S), section_serving(s, HEVC_60S)]
    if "gate" in s.sections:
        say("gate: the cost of a password per request")
        results["gate"] = section_gate(s, SMOKE_INPUT if s.smoke else H264_60S)
    if "api" in s.sections:
        say("api: status latency under two re-encodes")
        results["api"] = section_api(s, H264_60S, HEVC_60S)
    if "live" in s.sections:
        live_inputs = [SMOKE_INPUT] if s.smoke else LIVE_INPUTS
        say(f"live: watch while it uploads, {len(live_inputs)} input(s) at "
            f"{', '.join(f'{r:g}' for r in s.live_rates)} Mbit/s")
        results["live"] = section_live(s, live_inputs)
    if "viewer" in s.sections:
        say(f"viewer: Chromium on the share page, upload at {s.viewer_factor:g}x the bitrate")
        results["viewer"] = section_viewer(s, VIEWER_INPUTS)
    if "load" in s.sections:
        say(f"load: {s.load_viewers} viewers, 2 re-encodes and an attacker from one /64, honest uploads at "
            f"{s.load_uplink:g} Mbit/s idle and under load")
        results["load"] = section_load(s, H264_60S, [HEVC_60S, VP9_60S], VP9_60S)
    if "ladder" in s.sections and not s.smoke:
        say("ladder: the lower renditions' cost, and a first playable beside two ladder encodes")
        results["ladder"] = section_ladder(s, H264_60S, HEVC_60S)
    if s.smoke:
        for section, measure in (("4 Serving", "segment req/s vs nginx; API p99 under encodes"),
                                 ("5 Scaling", "TTFP at 50 MB, 250 MB, 1 GB"),
                                 ("7 Viewer", "Chromium on the share page during the upload"),
                                 ("8 Load", "200 viewers, 2 re-encodes and an attacker beside an honest upload"),
                                 ("9 Ladder", "lower renditions' CPU; a first playable beside two ladder encodes")):
            results["skipped"].append((section, measure, "smoke run"))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one short input, one run")
    s = Settings.from_env(parser.parse_args().smoke)
    check_tools(s)
    s.out.mkdir(parents=True, exist_ok=True)
    s = freeze_binary(s)
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    meta = {"mode": "smoke" if s.smoke else "full", "command": "make bench-smoke" if s.smoke else "make bench",
            "machine": machine(), "git": git_describe(ROOT), "runs": s.runs, "runs_large": s.runs_large,
            "live_rates": s.live_rates, "live_large_rates": s.live_large_rates, "live_runs_large": s.live_runs_large,
            "ref_max_seconds": s.ref_max_seconds, "load_start": load_average(),
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "reference_command": reference_command(Path("IN"), Path("OUT"))}
    say(f"machine: {meta['machine']}; load {meta['load_start']}")
    try:
        results = run_sections(s)
    finally:
        shutil.rmtree(s.scratch, ignore_errors=True)
    meta.update(load_end=load_average(), elapsed_minutes=(time.monotonic() - t0) / 60, has_load="load" in results)
    rows = report.build_rows(results)
    s.reports.mkdir(parents=True, exist_ok=True)
    (s.reports / "report.md").write_text(report.markdown(rows, meta))
    report.write_json(s.reports / "report.json", meta, results, rows)
    bars = report.chart_bars(results)
    if bars:
        (s.reports / "ttfp.svg").write_text(report.chart_svg(bars))
    print(report.markdown(rows, meta))
    say(f"wrote {s.reports}/report.md, report.json" + (", ttfp.svg" if bars else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
