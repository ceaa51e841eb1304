#!/usr/bin/env bash
# Installs what `make bench` needs beyond `make deps` (ffmpeg) when it is missing: wrk and nginx (Debian).
# nginx is only ever started by the benchmark itself, on 127.0.0.1 with its own temporary config.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
exec bash "$(dirname "${BASH_SOURCE[0]}")/../scripts/apt-install.sh" ${need[@]+"${need[@]}"}
