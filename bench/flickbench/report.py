"""Turns measurements into rows (figure, reference, ratio, target, pass/fail), then Markdown, JSON and an SVG chart."""

from __future__ import annotations

import html
import json
import statistics
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

MB = 1_000_000

# The targets, in one place.
TTFP_REMUX_MAX = 1.0
TTFP_REMUX_RATIO_MIN = 20.0
TTFP_REENCODE_MAX = 2.0
REENCODE_SPEED_MIN = 1.5
READY_1GB_MAX = 15.0
INGEST_SHARE_MIN = 0.70
UPLOAD_RSS_MAX = 100 * 1024 * 1024
SERVING_SHARE_MIN = 0.80
API_P99_MAX_MS = 100.0
# "TTFP should not grow with size": 1 GB may take at most this much longer than 50 MB (polling jitter).
SCALING_GROWTH_MAX = 1.5
# Watch while it uploads (issue 11): from the upload's start to playable, at every uplink speed.
LIVE_COPY_MAX = 2.0
LIVE_REENCODE_MAX = 3.0
# After the last byte, the copy path's playlist is closed within this.
ENDLIST_COPY_MAX = 1.0
# The Chromium viewer: no stall on the copy path; at most one, this short, on the re-encode path.
VIEWER_REENCODE_STALL_MAX = 0.5
# Privacy (issue 12): a password adds less than this to each request after the unlock.
GATE_ADDED_MAX_MS = 1.0
# Load (issue 14): the honest upload's first playable under load at most this multiple of its idle figure, and the
# server's resident memory at most this at its peak.
LOAD_TTFP_RATIO_MAX = 2.0
LOAD_RSS_MAX = 1 << 30
# Ladder (issue 13): a new upload's first playable beside two ladder encodes at most this multiple of its idle figure.
LADDER_TTFP_RATIO_MAX = 1.10


@dataclass
class Row:
    section: str
    measure: str
    input: str
    flick: str
    reference: str
    ratio: str
    target: str
    result: str  # PASS, FAIL, "—" (no target) or "n/a"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def verdict(*checks: bool) -> str:
    return "PASS" if all(checks) else "FAIL"


def secs(v: float | None) -> str:
    return "—" if v is None else (f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s" if v < 10 else f"{v:.1f} s")


def times(v: float) -> str:
    return f"{v:.1f}x" if v < 100 else f"{v:.0f}x"


# --- rows -------------------------------------------------------------------------------------------

def ttfp_rows(entry: dict) -> list[Row]:
    """TTFP, then time to ready with processing speed, for one input."""
    label, runs = entry["label"], len(entry["flick"])
    flick_ttfp = median(r["ttfp"] for r in entry["flick"])
    ref_first = median(r["first_segment"] for r in entry["reference"])
    ratio = ref_first / flick_ttfp
    if entry["kind"] == "remux":
        target = f"≤ {TTFP_REMUX_MAX:g} s and ≥ {TTFP_REMUX_RATIO_MIN:g}x"
        result = verdict(flick_ttfp <= TTFP_REMUX_MAX, ratio >= TTFP_REMUX_RATIO_MIN)
    else:
        target = f"≤ {TTFP_REENCODE_MAX:g} s"
        result = verdict(flick_ttfp <= TTFP_REENCODE_MAX)
    rows = [Row("1 TTFP", f"time to first playable (median of {runs})", label, secs(flick_ttfp),
                f"{secs(ref_first)} to first segment", f"{times(ratio)} faster", target, result)]

    duration = entry["duration"]
    ready = median(r["ready"] for r in entry["flick"])
    full = [r for r in entry["reference"] if r.get("total")]
    ref_total = full[0]["total"] if full else None
    est = " (est.)" if full and full[0]["estimated"] else ""
    speed = duration / ready
    flick_cell = f"{secs(ready)} ({times(speed)} real time)"
    ref_cell = "—" if ref_total is None else f"{secs(ref_total)}{est} ({times(duration / ref_total)} real time)"
    ratio_cell = "—" if ref_total is None else f"{times(ref_total / ready)} faster"
    if entry.get("large") and entry["kind"] == "remux":
        target, result = f"≤ {READY_1GB_MAX:g} s", verdict(ready <= READY_1GB_MAX)
    elif entry["kind"] == "reencode":
        target, result = f"≥ {REENCODE_SPEED_MIN:g}x real time", verdict(speed >= REENCODE_SPEED_MIN)
    else:
        target, result = "—", "—"
    rows.append(Row("2 Ready", f"time to ready, speed (median of {runs})", label, flick_cell, ref_cell,
                    ratio_cell, target, result))
    return rows


def ingest_rows(ing: dict) -> list[Row]:
    size = ing["bytes"]
    label = f"{size / MB:.0f} MB file"
    dd_rate = size / median(r["seconds"] for r in ing["dd"]) / MB
    idle = ing["idle_rss"]
    rows = []
    for name, key in (("POST /api/upload (raw body)", "raw"), ("tus (/api/uploads, 8 MiB PATCHes)", "tus")):
        results = ing.get(key)
        if not results:
            rows.append(Row("3 Ingest", f"ingest rate, {name}", label, "n/a (tus not available)",
                            f"dd {dd_rate:.0f} MB/s", "—", f"≥ {INGEST_SHARE_MIN:.0%} of dd", "n/a"))
            rows.append(Row("3 Ingest", f"server peak RSS, {name}", label, "n/a (tus not available)",
                            "—", "—", f"≤ {UPLOAD_RSS_MAX / 2**20:.0f} MB", "n/a"))
            continue
        n = len(results)
        rate = size / median(r["seconds"] for r in results) / MB
        rss = max(r["peak_rss"] for r in results)
        rows.append(Row("3 Ingest", f"ingest rate, {name} (median of {n})", label, f"{rate:.0f} MB/s",
                        f"dd conv=fsync {dd_rate:.0f} MB/s", f"{rate / dd_rate:.0%} of dd",
                        f"≥ {INGEST_SHARE_MIN:.0%} of dd", verdict(rate / dd_rate >= INGEST_SHARE_MIN)))
        rows.append(Row("3 Ingest", f"server peak RSS (VmHWM), {name}", label, f"{rss / 2**20:.1f} MiB",
                        f"idle server {idle / 2**20:.1f} MiB", f"{rss / idle:.1f}x idle",
                        f"≤ {UPLOAD_RSS_MAX / 2**20:.0f} MB", verdict(rss <= UPLOAD_RSS_MAX)))
    return rows


def serving_rows(srv: dict) -> list[Row]:
    n = len(srv["flick"])
    flick = median(r["rps"] for r in srv["flick"])
    nginx = median(r["rps"] for r in srv["nginx"])
    # Before fMP4 from the original there was one kind (stored MPEG-TS of the 60 s remux): older JSON lacks the names.
    kind = srv.get("kind", "stored MPEG-TS")
    label = f"{srv['segments']} segments ({kind}), avg {srv['segment_bytes'] / MB:.1f} MB" + (
        f"; {srv['input']}" if "input" in srv else "")
    f_p99 = median(r["p99_ms"] for r in srv["flick"])
    n_p99 = median(r["p99_ms"] for r in srv["nginx"])
    # Failed requests (socket errors, non-2xx) would inflate a server's figure: show them.
    errors = {k: sum(r["errors"] for r in srv[k]) for k in ("flick", "nginx")}
    err = {k: f", {v} errors" if v else "" for k, v in errors.items()}
    rows = [Row("4 Serving", f"segment req/s, wrk {srv['connections']} conns {srv['seconds']} s (median of {n})",
                label, f"{flick:.0f} req/s (p99 {f_p99:.0f} ms{err['flick']})",
                f"nginx {nginx:.0f} req/s on the same bytes as files (p99 {n_p99:.0f} ms{err['nginx']})",
                f"{flick / nginx:.0%} of nginx", f"≥ {SERVING_SHARE_MIN:.0%} of nginx",
                verdict(flick / nginx >= SERVING_SHARE_MIN))]
    if srv.get("flick_protected"):
        locked = median(r["rps"] for r in srv["flick_protected"])
        l_p99 = median(r["p99_ms"] for r in srv["flick_protected"])
        l_err = sum(r["errors"] for r in srv["flick_protected"])
        rows.append(Row("4 Serving", f"segment req/s behind a password (cookie on every request), wrk "
                        f"{srv['connections']} conns (median of {len(srv['flick_protected'])})", label,
                        f"{locked:.0f} req/s (p99 {l_p99:.0f} ms{f', {l_err} errors' if l_err else ''})",
                        f"nginx {nginx:.0f} req/s on the same bytes as files", f"{locked / nginx:.0%} of nginx",
                        f"≥ {SERVING_SHARE_MIN:.0%} of nginx", verdict(locked / nginx >= SERVING_SHARE_MIN)))
    return rows


def gate_rows(g: dict) -> list[Row]:
    open_ms, locked_ms = median(g["open_ms"]), median(g["protected_ms"])
    return [Row("4 Serving", f"password check per request after the unlock ({g['requests']} sequential requests x "
                f"{len(g['open_ms'])}, median)", g["input"],
                f"{locked_ms:.3f} ms per request behind the password (+{g['added_ms'] * 1000:.0f} µs); unlock "
                f"(argon2id) {secs(min(g['unlock_s']))} once", f"the same video without a password: {open_ms:.3f} ms",
                f"+{g['added_ms']:.3f} ms", f"< {GATE_ADDED_MAX_MS:g} ms added",
                verdict(g["added_ms"] < GATE_ADDED_MAX_MS))]


def api_rows(api: dict) -> list[Row]:
    loaded, idle = api["loaded"], api["idle"]
    note = "" if api["encodes_ran_throughout"] else " (an encode ended early!)"
    return [Row("4 Serving", f"GET /api/video/{{id}} p99 during 2 re-encodes ({loaded['count']} requests)",
                "2 x " + api["input"], f"{loaded['p99_ms']:.1f} ms (p50 {loaded['p50_ms']:.1f}){note}",
                f"idle p99 {idle['p99_ms']:.1f} ms", f"{loaded['p99_ms'] / idle['p99_ms']:.1f}x idle",
                f"< {API_P99_MAX_MS:g} ms", verdict(loaded["p99_ms"] < API_P99_MAX_MS))]


def scaling_rows(entries: list[dict]) -> list[Row]:
    rows = []
    for e in entries:
        ttfp = median(e["flick_ttfp"])
        ref = median(e["reference_first"])
        rows.append(Row("5 Scaling", f"TTFP, remux (median of {len(e['flick_ttfp'])})", e["label"], secs(ttfp),
                        f"{secs(ref)} to first segment", f"{times(ref / ttfp)} faster", f"≤ {TTFP_REMUX_MAX:g} s",
                        verdict(ttfp <= TTFP_REMUX_MAX)))
    if len(entries) >= 2:
        small, large = median(entries[0]["flick_ttfp"]), median(entries[-1]["flick_ttfp"])
        growth = large / small
        rows.append(Row("5 Scaling", "TTFP growth with size", f"{entries[0]['label']} → {entries[-1]['label']}",
                        f"{times(growth)}", "—", "—", f"≤ {SCALING_GROWTH_MAX:g}x (flat)",
                        verdict(growth <= SCALING_GROWTH_MAX)))
    return rows


def live_rows(entry: dict) -> list[Row]:
    """Per uplink speed: upload start → first playable beside today's wait (the upload, then upload end → playable
    at full speed), and last byte → ENDLIST."""
    copy = entry["kind"] == "remux"
    ref = entry["reference"]
    ref_after = median(r["first_playable"] - r["upload"] for r in ref)
    ref_endlist = median(r["endlist"] for r in ref)
    index_first = any(r["index_first"] for r in ref)
    label = entry["label"] + (", sent index first" if index_first else "")
    rows = []
    for at in entry["rates"]:
        rate, runs = at["rate_mbit"], at["runs"]
        n = len(runs)
        upload = median(r["upload"] for r in runs)
        first = median(r["first_playable"] for r in runs)
        endlist = median(r["endlist"] for r in runs)
        ready = median(r["ready"] for r in runs)
        today = upload + ref_after
        before = sum(r["first_playable"] < r["upload"] for r in runs)
        limit = LIVE_COPY_MAX if copy else LIVE_REENCODE_MAX
        rows.append(Row(
            "6 Live", f"upload start → first playable at {rate:g} Mbit/s (median of {n})", label,
            f"{secs(first)} (upload {secs(upload)}; playable before its end in {before}/{n})",
            f"{secs(today)}: the upload, then {secs(ref_after)} upload end → playable (full speed)",
            f"{times(today / first)} sooner", f"≤ {limit:g} s ({'copy' if copy else 're-encode'})",
            verdict(first <= limit)))
        rows.append(Row(
            "6 Live", f"last byte → ENDLIST at {rate:g} Mbit/s (median of {n})", label,
            f"{secs(endlist)} (ready {secs(ready)})", f"full speed: {secs(ref_endlist)}",
            "—", f"≤ {ENDLIST_COPY_MAX:g} s" if copy else "—",
            verdict(endlist <= ENDLIST_COPY_MAX) if copy else "—"))
    return rows


def viewer_rows(entry: dict) -> list[Row]:
    """The Chromium viewer: first frame from the upload's start (median), and every run's stalls until the end. The
    verdict takes the issue's definition (any time the playhead stood still) over all runs; the cell also says how
    many stalls had data buffered ahead (the browser's own, on a busy CPU) rather than none (the stream late)."""
    runs, copy = entry["runs"], entry["kind"] == "remux"
    n = len(runs)
    first = median(r["first_frame"] for r in runs)
    upload = median(r["upload"] for r in runs)
    stalls = [st for r in runs for st in r["stalls"]]
    longest = max((st[1] for st in stalls), default=0.0)
    starved = sum(1 for st in stalls if len(st) < 3 or st[2] < 0.5)
    per_run = ", ".join(str(len(r["stalls"])) for r in runs)
    stall_text = "no stall" if not stalls else (
        f"stalls per run {per_run}, longest {secs(longest)}, at " + ", ".join(f"{st[0]:.1f} s" for st in stalls[:6])
        + f"; {starved} with < 0.5 s buffered (the stream late), {len(stalls) - starved} with data buffered")
    notes = ""
    if not all(r["played_before_upload_end"] for r in runs):
        notes += "; a run did not play before the upload ended"
    if not all(r["ended"] for r in runs):
        notes += "; a run did NOT play to the end"
    if copy:
        target = "no stall"
        ok = not stalls
    else:
        target = f"≤ 1 stall of ≤ {VIEWER_REENCODE_STALL_MAX:g} s"
        ok = all(len(r["stalls"]) <= 1 for r in runs) and longest <= VIEWER_REENCODE_STALL_MAX
    return [Row(
        "7 Viewer", f"Chromium share page while uploading at {entry['rate_mbit']:g} Mbit/s "
        f"({entry['factor']:g}x the bitrate): upload start → first frame (median of {n}); stalls to the end",
        entry["label"], f"first frame {secs(first)}; {stall_text}{notes}",
        f"upload {secs(upload)} (today a viewer waits for all of it)",
        "—" if first is None else f"{times(upload / first)} sooner", target,
        verdict(ok, all(r["ended"] for r in runs), first is not None))]


def load_rows(ld: dict) -> list[Row]:
    """Issue 14's load test: each figure under load beside the same figure idle, in the same run."""
    v, at, st, lim = ld["viewers"], ld["attacker"], ld["stored"], ld["limits"]
    idle, loaded = ld["idle"], ld["load"]
    knobs = ", ".join(f"{k.split('.', 1)[1]} {_amount(n)}" for k, n in ld.get("knobs", {}).items())
    everything = (f"{v['viewers']} viewers, 2 re-encodes, attacker from one /64" + (f"; set: {knobs}" if knobs else
                  "; none of the optional budgets in this build"))
    rows = []
    errors = f"{v['errors']} errors" + (f" ({', '.join(f'{k}: {n}' for k, n in v['error_kinds'].items())})"
                                        if v["errors"] else "")
    stalls = f"{v['stalls']} stalls" + (f" in {v['stalled_viewers']} viewers, longest {secs(v['stall_max_s'])}"
                                        if v["stalls"] else "")
    rows.append(Row(
        "8 Load", f"{v['viewers']} viewers at playback pace: segment in hand before due ({START_NOTE})",
        f"{ld['input']} (fMP4 from the original), {v['segments_per_viewer']} segments each",
        f"{errors}, {stalls}; {v['segments']} segments, {v['bytes'] / MB:.0f} MB; {v['finished']}/{v['viewers']} "
        f"to the end; start p50 {secs(v['startup_p50_s'])}",
        f"client's own wake-up lag p99 {v['client_lag_p99_ms']:.0f} ms, max {v['client_lag_max_ms']:.0f} ms",
        "—", "0 errors, 0 stalls",
        verdict(v["errors"] == 0, v["stalls"] == 0, v["finished"] == v["viewers"])))
    ia, la = idle["api"], loaded["api"]
    api_errors = f", {la['errors']} errors" if la["errors"] else ""
    rows.append(Row(
        "8 Load", f"GET /api/video/{{id}} under load, {ld['api_rate']} ({la['requests']} requests)", everything,
        f"p99 {la['p99_ms']:.1f} ms (p50 {la['p50_ms']:.1f}){api_errors}",
        f"idle p99 {ia['p99_ms']:.1f} ms (p50 {ia['p50_ms']:.1f})",
        f"{la['p99_ms'] / max(ia['p99_ms'], 1e-6):.1f}x idle",
        f"< {API_P99_MAX_MS:g} ms", verdict(la["p99_ms"] < API_P99_MAX_MS, la["errors"] == 0)))
    ih, lh = idle["honest"], loaded["honest"]
    ratio = lh["first_playable"] / ih["first_playable"]
    rows.append(Row(
        "8 Load", f"honest upload start → first playable at {ld['uplink_mbit']:g} Mbit/s (tus, index first)",
        ld["input"], f"{secs(lh['first_playable'])} under load (upload {secs(lh['upload'])}; status ready "
        f"{secs(lh['ready'])} after its last byte)",
        f"idle {secs(ih['first_playable'])} (upload {secs(ih['upload'])}; ready {secs(ih['ready'])} after it)",
        f"{ratio:.2f}x idle", f"≤ {LOAD_TTFP_RATIO_MAX:g}x idle", verdict(ratio <= LOAD_TTFP_RATIO_MAX)))
    kinds = "; ".join(f"{k}: " + ", ".join(f"{n} {o}" for o, n in sorted(c.items())) for k, c in at["by_kind"].items())
    per_hour = lim.get("max_per_ip_per_hour", 0)
    at_once = lim.get("max_concurrent_per_ip", 0)
    within = (per_hour == 0 or at["accepted_uploads"] <= per_hour) and (at_once == 0 or at["held_max"] <= at_once)
    rows.append(Row(
        "8 Load", f"attacker through the proxy, a new IPv6 /128 of one /64 per request, {ATTACK_NOTE}",
        f"{at['attempts']} requests",
        f"{at['accepted_uploads']} uploads accepted ({at['accepted_small']} small re-encodes, {at['accepted_tus']} "
        f"tus), at most {at['held_max']} slow bodies admitted at once; {at['refused']} refused 429/507; "
        f"{at['server_errors']} 5xx, {at['errors']} resets/timeouts. {kinds}",
        f"limits per /64: {at_once} at once, {per_hour} new uploads an hour", "—",
        "excess refused (429/507), within the per-address limits, no 5xx",
        verdict(within, at["refused"] > 0, at["server_errors"] == 0, at["errors"] == 0)))
    problems = []
    if st["unknown_count"]:
        problems.append(f"{st['unknown_count']} records no client was told of ({', '.join(st['unknown_records'][:3])})")
    if st["missing_count"]:
        problems.append(f"{st['missing_count']} accepted uploads missing")
    if st["stuck_count"]:
        problems.append(f"{st['stuck_count']} plain uploads stuck 'uploading'")
    if st["records_after_delete"]:
        problems.append(f"{st['records_after_delete']} records left after deleting every accepted video")
    if st["orphan_count"]:
        problems.append(f"{st['orphan_count']} files left after deleting every accepted video "
                        f"({', '.join(st['orphans'][:3])})")
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(st["statuses"].items()))
    deletes = ", ".join(f"{n}x {s}" for s, n in sorted(st["delete_answers"].items()))
    rows.append(Row(
        "8 Load", "after the load: records against the 2xx answers clients got; then every accepted video deleted "
        "by its owner and the data dir checked empty", f"{st['listed']} records ({statuses}), "
        f"{st['files_before_delete']} files",
        "; ".join(problems) or f"nothing half-stored: every record accepted by a 2xx; no file left after the deletes "
        f"({deletes})", f"{st['expected']} uploads accepted and not deleted", "—", "nothing half-stored",
        verdict(st["ok"])))
    peak, idle_peak = loaded["rss_peak"], idle["rss_peak"]
    rows.append(Row(
        "8 Load", "server RSS peak (VmRSS every 200 ms)", everything,
        f"{peak / 2**20:.0f} MiB (VmHWM {loaded['rss_hwm'] / 2**20:.0f} MiB)", f"idle {idle_peak / 2**20:.0f} MiB",
        f"{peak / max(idle_peak, 1):.1f}x idle", f"< {LOAD_RSS_MAX / 2**20:.0f} MiB", verdict(peak < LOAD_RSS_MAX)))
    through, done = loaded["encodes_through_honest_upload"], loaded["encodes_done_after"]
    start, end = loaded["honest_start"], loaded["honest_start"] + lh["upload"]
    done_text = ", ".join("still running at the end" if d is None else f"ready at {d:.0f} s" for d in done)
    rows.append(Row(
        "8 Load", "the 2 honest re-encodes (from the load's start, status polled every 0.5 s)",
        " + ".join(ld["encodes"]), f"{done_text}; both encoding through the honest upload ({start:.0f}–{end:.0f} s): "
        f"{'yes' if through else 'NO'}", "—", "—", "running through the honest upload", verdict(through)))
    return rows


START_NOTE = "due 2 s after the viewer's start + the durations before it"
ATTACK_NOTE = "slow tus PATCHes, slow POST bodies and small uploads needing a 5-minute re-encode"


def _amount(n: int) -> str:
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n:g}"


def skipped_row(section: str, measure: str, why: str) -> Row:
    return Row(section, measure, "—", f"skipped ({why})", "—", "—", "—", "n/a")


def ladder_rows(ld: dict) -> list[Row]:
    """Issue 13's ladder: its CPU cost, and a first playable beside two ladder encodes against the idle figure."""
    c, p = ld["cost"], ld["priority"]
    idle, loaded = median(p["idle"]), median(p["loaded"])
    ratio = loaded / idle if idle else float("inf")
    note = "" if p["ladders_ran_throughout"] else " (a ladder ended before the upload was playable)"
    return [
        Row("9 Ladder", f"CPU of the lower renditions ({c['renditions']}: 720p, 360p) per minute of input, "
            f"{c['cores']} cores", ld["input"],
            f"{c['cpu_per_input_minute']:.0f} CPU-s per minute ({c['cpu_seconds']:.0f} CPU-s in "
            f"{c['wall_seconds']:.0f} s wall)", "—", "—", "—", "—"),
        Row("9 Ladder", f"new upload → first playable beside two ladder encodes (median of {len(p['loaded'])})",
            ld["new_upload"], f"{secs(loaded)}{note}", f"idle {secs(idle)}", f"{ratio:.2f}x idle",
            f"≤ {LADDER_TTFP_RATIO_MAX:g}x idle", verdict(ratio <= LADDER_TTFP_RATIO_MAX)),
    ] + [
        Row("9 Ladder", f"storyboard listed after the first segment (median of {len(e['runs'])})", e["input"],
            secs(median([r["after_first_segment"] for r in e["runs"]])),
            f"ready after the first segment {secs(median([r['ready'] - r['playable'] for r in e['runs']]))}",
            f"{secs(median([r['after_ready'] for r in e['runs']]))} after ready", "—", "—")
        for e in ld.get("storyboard", [])
    ]


def build_rows(results: dict) -> list[Row]:
    rows: list[Row] = []
    for entry in results.get("ttfp", []):
        rows += ttfp_rows(entry)
    if "ingest" in results:
        rows += ingest_rows(results["ingest"])
    if "serving" in results:
        # One dict in runs made before fMP4 segments, a list (one per kind of segment) since.
        served = results["serving"]
        for srv in served if isinstance(served, list) else [served]:
            rows += serving_rows(srv)
    if "gate" in results:
        rows += gate_rows(results["gate"])
    if "api" in results:
        rows += api_rows(results["api"])
    if results.get("scaling"):
        rows += scaling_rows(results["scaling"])
    for entry in results.get("live", []):
        rows += live_rows(entry)
    for entry in results.get("viewer", []):
        rows += viewer_rows(entry)
    if "load" in results:
        rows += load_rows(results["load"])
    if "ladder" in results:
        rows += ladder_rows(results["ladder"])
    for section, measure, why in results.get("skipped", []):
        rows.append(skipped_row(section, measure, why))
    return rows


# --- outputs ----------------------------------------------------------------------------------------

def markdown_table(rows: list[Row]) -> str:
    head = "| # | measure | input | Flick | reference (same run) | ratio | target | result |\n" \
           "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
    body = "".join(f"| {r.section} | {r.measure} | {r.input} | {r.flick} | {r.reference} | {r.ratio} | "
                   f"{r.target} | **{r.result}** |\n" for r in rows)
    return head + body


def markdown(rows: list[Row], meta: dict) -> str:
    m = meta["machine"]
    passed = sum(r.result == "PASS" for r in rows)
    failed = sum(r.result == "FAIL" for r in rows)
    lines = [
        f"# Flick benchmark ({meta['mode']})", "",
        f"- command: `{meta['command']}`",
        f"- machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gib']:.0f} GiB RAM; {m['kernel']}; {m['ffmpeg']}",
        f"- Flick {meta['git']}; runs: {meta['runs']} (≥ 1 GB inputs: {meta['runs_large']}); "
        f"started {meta['started']}, took {meta['elapsed_minutes']:.0f} min",
        f"- load average at start {meta['load_start']}, at end {meta['load_end']} "
        "(a shared machine: the reference runs in the same run, so ratios hold better than absolute figures)",
        f"- reference: `{' '.join(meta['reference_command'])}`; its total time is measured once per input and "
        f"extrapolated from its progress (est.) past {meta['ref_max_seconds']:.0f} s",
        *([f"- live uploads at {', '.join(f'{r:g}' for r in meta['live_rates'])} Mbit/s; the ≈1 GB file at "
           f"{', '.join(f'{r:g}' for r in meta['live_large_rates']) or 'none'} Mbit/s, {meta['live_runs_large']} "
           "run(s)"] if meta.get("live_rates") else []),
        f"- targets: {passed} pass, {failed} fail", "",
        markdown_table(rows),
        "TTFP: from the upload's HTTP response until the master playlist, a media playlist listing a segment, its "
        "init segment (fMP4) and that segment are all fetched over HTTP (polled every 20 ms). Reference TTFP: from "
        "ffmpeg's start until its playlist lists a segment (polled every 20 ms).",
        "",
        "Live (6): tus uploads paced by a token bucket on the bytes written (8 MiB PATCHes without checksums, index "
        "first when the index follows the media, as the web app sends them), timed from the creation POST to the "
        "same \"playable\" as TTFP, polled every 20 ms while the upload runs; ENDLIST and ready from the last "
        "PATCH's 204. The reference is today's wait at that speed: the upload itself, then the time from its last "
        "byte to playable when the same file is uploaded at full speed.",
        "",
        "Viewer (7): Chromium (headless, software decoding) opens the share page as soon as the upload is created, "
        "presses play once the player is on the page, and samples the video every 100 ms until it has ended; a "
        "stall is the playhead not moving while neither paused nor ended, after the first frame. Each stall also "
        "records how much was buffered past the playhead: with data buffered it is the browser's own (software "
        "decoding on a busy CPU), with nothing buffered the stream was late.",
        "",
        *(["Load (8): one Flick with `server.trusted_proxies: 127.0.0.1`; every client sends X-Forwarded-For (honest "
           "ones distinct IPv4s, the attacker a new /128 of 2001:db8:dead:beef::/64 per request). Idle, then under "
           "load in the same process: viewers (an asyncio client in its own process: master and media playlists, "
           "init, then segment i asked for 4 s before it is due, due 2 s after the viewer's start + the durations "
           "before it; a segment in hand after that is a stall and shifts what follows), two re-encodes, the "
           "attacker, and the honest tus upload at the same uplink as idle. The status API is polled by wrk at a "
           "steady rate (a `delay()` between requests) idle and under load. Half-stored: after the load, the admin "
           "listing against the 2xx answers clients got; then every accepted video is deleted with its owner's "
           "token, and raw/, hls/, thumbs/, tmp/ and work/ must be left without a file.", ""]
          if meta.get("has_load") else []),
    ]
    return "\n".join(lines)


def _plain(value):
    if is_dataclass(value):
        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def write_json(path: Path, meta: dict, results: dict, rows: list[Row]) -> None:
    path.write_text(json.dumps({"meta": meta, "results": results, "rows": [asdict(r) for r in rows]},
                               indent=2, default=_plain))


def chart_svg(bars: list[tuple[str, float, float]]) -> str:
    """Grouped horizontal bars: per input, Flick's TTFP and the reference's, seconds on one linear axis."""
    left, right, top, row_h, bar_h = 300, 90, 60, 54, 18
    width = 960
    height = top + row_h * len(bars) + 40
    scale_max = max(max(f, r) for _, f, r in bars) * 1.05
    plot_w = width - left - right
    x = lambda v: left + plot_w * v / scale_max  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="16" font-weight="bold">Time to first playable (median, seconds; '
           'lower is better)</text>',
           f'<rect x="{left}" y="34" width="12" height="12" fill="#2563eb"/>'
           f'<text x="{left + 18}" y="45">Flick (upload response → playable over HTTP)</text>',
           f'<rect x="{left + 330}" y="34" width="12" height="12" fill="#9ca3af"/>'
           f'<text x="{left + 348}" y="45">ffmpeg -preset fast -f hls (start → first segment)</text>']
    step = _nice_step(scale_max)
    tick = 0.0
    while tick <= scale_max:
        out.append(f'<line x1="{x(tick):.1f}" y1="{top - 4}" x2="{x(tick):.1f}" y2="{height - 34}" '
                   'stroke="#e5e7eb"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{height - 18}" text-anchor="middle" fill="#555">{tick:g} s</text>')
        tick += step
    for i, (label, flick, ref) in enumerate(bars):
        y = top + i * row_h
        out.append(f'<text x="{left - 10}" y="{y + bar_h + 4}" text-anchor="end">{html.escape(label)}</text>')
        for j, (value, color) in enumerate(((flick, "#2563eb"), (ref, "#9ca3af"))):
            by = y + j * (bar_h + 2)
            out.append(f'<rect x="{left}" y="{by}" width="{max(1.0, x(value) - left):.1f}" height="{bar_h}" '
                       f'fill="{color}"/>')
            out.append(f'<text x="{x(value) + 6:.1f}" y="{by + bar_h - 4}">{secs(value)}</text>')
    out.append("</svg>\n")
    return "\n".join(out)


def _nice_step(span: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500):
        if span / step <= 10:
            return step
    return 1000.0


def chart_bars(results: dict) -> list[tuple[str, float, float]]:
    ttfp = results.get("ttfp", [])
    bars = [(e["label"], median(r["ttfp"] for r in e["flick"]), median(r["first_segment"] for r in e["reference"]))
            for e in ttfp]
    # The scaling cuts that are not inputs of their own (1 GB and 60 s already have a bar).
    seen = {e["name"] for e in ttfp}
    bars += [(e["label"], median(e["flick_ttfp"]), median(e["reference_first"]))
             for e in results.get("scaling", []) if e["name"] not in seen]
    return bars
