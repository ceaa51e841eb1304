#!/usr/bin/env bash
# Installs the programs Flick needs at run and test time when they are missing (Debian/Ubuntu).
set -euo pipefail

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Flick needs: ${need[*]}. Install them (e.g. apt-get install -y ffmpeg) and run again." >&2
    exit 1
  fi
fi
echo "Installing ${need[*]} with apt-get..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
