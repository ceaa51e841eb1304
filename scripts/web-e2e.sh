#!/usr/bin/env bash
# End-to-end tests of the web app in real Chromium against the real server (web/e2e/*.test.mjs).
#
# Usage: scripts/web-e2e.sh [node --test options…]
#   FLICK_BIN         server binary (default: <repo>/target/debug/flick; built with cargo when missing)
#   FLICK_FIXTURES    folder holding h264_aac_faststart.mp4 (default: <repo>/target/fixtures; made when missing)
#   FLICK_WEB_REBUILD=1  rebuild web/dist even when it exists
#
# Installs Chromium with apt-get when /usr/bin/chromium is missing, runs `npm ci` when
# web/node_modules is missing, and `npm run build` when web/dist is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"
export FLICK_BIN="${FLICK_BIN:-$ROOT/target/debug/flick}"
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

if [ ! -f "$WEB/dist/index.html" ] || [ "${FLICK_WEB_REBUILD:-0}" = "1" ]; then
    say "building the web app"
    (cd "$WEB" && npm run build)
fi

if [ ! -x "$FLICK_BIN" ]; then
    say "building the server ($FLICK_BIN is missing)"
    (cd "$ROOT" && cargo build -p flick)
fi

if [ ! -s "$FLICK_FIXTURES/h264_aac_faststart.mp4" ]; then
    say "making the test clips"
    bash "$ROOT/scripts/install-deps.sh"
    bash "$ROOT/scripts/fixtures.sh" "$FLICK_FIXTURES"
fi

cd "$WEB"
exec node --test "$@" e2e/
