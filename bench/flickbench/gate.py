"""The password gate's cost (issue 12): a protected video's every request carries a signed cookie, checked with a
MAC; the slow password hash (argon2id) runs once, when the viewer unlocks. Measured as the time of sequential
requests on one kept-alive connection, the same video with and without a password, alternating rounds."""

from __future__ import annotations

import json
import statistics
import time

from .server import Flick

PASSWORD = "bench password"


def _owner(video: dict) -> dict:
    return {"Authorization": f"Bearer {video['manageToken']}", "Content-Type": "application/json"}


def set_password(flick: Flick, video: dict, password: str | None) -> None:
    status, _, body = flick.request("PATCH", f"/api/video/{video['id']}",
                                    body=json.dumps({"password": password}), headers=_owner(video))
    if status != 200:
        raise RuntimeError(f"PATCH password: {status} {body[:200]!r}")


def unlock(flick: Flick, video: dict) -> tuple[str, float]:
    """POSTs the password; returns (the cookie as a `Cookie` header value, seconds the unlock took)."""
    started = time.monotonic()
    status, headers, body = flick.request("POST", f"/api/video/{video['id']}/unlock",
                                          body=json.dumps({"password": PASSWORD}),
                                          headers={"Content-Type": "application/json"})
    took = time.monotonic() - started
    if status != 204 or "set-cookie" not in headers:
        raise RuntimeError(f"unlock: {status} {body[:200]!r}")
    return headers["set-cookie"].split(";", 1)[0], took


def mean_request_ms(flick: Flick, path: str, headers: dict, n: int) -> float:
    """Mean time of `n` GETs of `path`, one after another on one connection."""
    conn = flick.conn()
    try:
        started = time.perf_counter()
        for _ in range(n):
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {path}: {r.status}")
        return (time.perf_counter() - started) / n * 1000
    finally:
        conn.close()


def measure(flick: Flick, video: dict, rounds: int, n: int) -> dict:
    """Per-request time of the init segment (a small, in-memory body: the check's cost is not drowned in bytes),
    open and behind the password, `rounds` alternating rounds of `n` requests each; and the unlock's time."""
    path = f"/streams/{video['id']}/init.mp4"
    out: dict = {"requests": n, "open_ms": [], "protected_ms": [], "unlock_s": []}
    for _ in range(rounds):
        set_password(flick, video, None)
        mean_request_ms(flick, path, {}, n // 10)  # warm-up
        out["open_ms"].append(mean_request_ms(flick, path, {}, n))
        set_password(flick, video, PASSWORD)
        cookie, took = unlock(flick, video)
        out["unlock_s"].append(took)
        out["protected_ms"].append(mean_request_ms(flick, path, {"Cookie": cookie}, n))
    set_password(flick, video, None)
    out["added_ms"] = statistics.median(out["protected_ms"]) - statistics.median(out["open_ms"])
    return out
