#!/usr/bin/env bash
# End-to-end tests of the web app in real Chromium against the real server (web/e2e/*.test.mjs).
#
# Usage: scripts/web-e2e.sh [node --test options…]
#   FLICK_BIN         server binary. Default: <repo>/target/release/flick, the release build with the web
#                     app compiled into it: this script builds web/dist first (when its sources are newer),
#                     then runs `cargo build --release -p flick` (a no-op when nothing changed; cargo rebuilds
#                     when web/dist changed). Set it (e.g. to target/debug/flick) to test another binary as is.
#   FLICK_FIXTURES    folder holding the test clips (default: <repo>/target/fixtures; made when missing)
#   FLICK_WEB_REBUILD=1  rebuild web/dist even when it looks up to date
#
# Installs Chromium with apt-get when /usr/bin/chromium is missing, and runs `npm ci` when
# web/node_modules is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"
DEFAULT_BIN="$ROOT/target/release/flick"
export FLICK_BIN="${FLICK_BIN:-$DEFAULT_BIN}"
export FLICK_FIXTURES="${FLICK_FIXTURES:-$ROOT/target/fixtures}"

say() { echo "web-e2e: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

command -v node >/dev/null 2>&1 || { say "node is not installed (Node 20.19+ is needed)"; exit 1; }

if [ ! -d "$WEB/node_modules" ]; then
    say "npm ci"
    (cd "$WEB" && npm ci --no-audit --no-fund)
fi

# The UI first: release builds embed web/dist as it is when they are compiled.
ui_stale() {
    [ ! -f "$WEB/dist/index.html" ] && return 0
    [ -n "$(cd "$WEB" && find src public index.html package.json package-lock.json vite.config.* svelte.config.* tsconfig*.json \
        -newer dist/index.html -print -quit 2>/dev/null)" ]
}
if [ "${FLICK_WEB_REBUILD:-0}" = "1" ] || ui_stale; then
    say "building the web app (npm run build)"
    (cd "$WEB" && npm run build)
fi

if [ "$FLICK_BIN" = "$DEFAULT_BIN" ]; then
    say "building the release server with the web app in it (cargo build --release -p flick)"
    (cd "$ROOT" && cargo build --release -p flick)
elif [ ! -x "$FLICK_BIN" ]; then
    say "FLICK_BIN=$FLICK_BIN does not exist (build it, or unset FLICK_BIN to use the release build)"
    exit 1
fi

# The clips the browser tests use (fixtures.sh makes only what is missing).
missing_fixture=0
for clip in h264_aac_faststart.mp4 h264_aac_1080p_60s.mp4 hevc_aac_1080p_60s.mov vp9_opus_1080p_60s.webm \
    h264_aac_30s.mp4 h264_aac_portrait.mp4; do
    [ -s "$FLICK_FIXTURES/$clip" ] || missing_fixture=1
done
if [ "$missing_fixture" = 1 ]; then
    say "making the test clips"
    bash "$ROOT/scripts/install-deps.sh"
    bash "$ROOT/scripts/fixtures.sh" "$FLICK_FIXTURES"
fi

cd "$WEB"
# One file at a time: live.test.mjs measures playback stalls, which other files' uploads and encodes would disturb.
exec node --test --test-concurrency=1 "$@" e2e/
