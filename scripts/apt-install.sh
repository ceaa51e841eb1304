#!/usr/bin/env bash
# Installs the Debian packages named as arguments with apt-get, as root or through sudo.
# Callers decide what is missing; this is the one place that knows how to install it.
set -euo pipefail
[ $# -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Needed: $*. Install them (apt-get install -y $*) and run again." >&2
    exit 1
  fi
fi
echo "Installing $* with apt-get..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
