#!/usr/bin/env bash
# Installs what `make bench` needs beyond `make deps` (ffmpeg) when it is missing: wrk and nginx (Debian).
# nginx is only ever started by the benchmark itself, on 127.0.0.1 with its own temporary config.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "the benchmark needs: ${need[*]}. Install them (apt-get install -y ${need[*]}) and run again." >&2
        exit 1
    fi
fi
echo "Installing ${need[*]} with apt-get..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
