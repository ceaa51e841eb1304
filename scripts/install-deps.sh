#!/usr/bin/env bash
# Installs the programs Flick needs at run and test time when they are missing (Debian/Ubuntu).
set -euo pipefail

need=()
{ command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; } || need+=(ffmpeg)
exec bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" ${need[@]+"${need[@]}"}
