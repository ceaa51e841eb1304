#!/usr/bin/env bash
# Installs what `make bench` needs beyond `make deps` (ffmpeg) when it is missing: wrk and nginx (Debian), and for
# the viewer rows Chromium (Debian) and playwright-core (`npm ci` in web/, from its lock file).
# nginx is only ever started by the benchmark itself, on 127.0.0.1 with its own temporary config.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/bin/chromium ] || need+=(chromium)
bash "$ROOT/scripts/apt-install.sh" ${need[@]+"${need[@]}"}
if [ ! -d "$ROOT/web/node_modules/playwright-core" ]; then
    command -v npm >/dev/null 2>&1 || { echo "bench/install-tools.sh: npm not found (Node 20.19+ is needed)" >&2; exit 1; }
    (cd "$ROOT/web" && npm ci --no-audit --no-fund)
fi
