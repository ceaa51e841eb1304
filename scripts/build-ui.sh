#!/usr/bin/env bash
# Builds the web app into web/dist (embedded into release builds of flick). Needs Node.js 20+ and npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/web"
if ! command -v npm >/dev/null 2>&1; then
    echo "build-ui: npm is not installed; install Node.js 20+ (e.g. apt-get install -y nodejs npm) and run again." >&2
    exit 1
fi
# npm ci only when the lock file changed since the last install: it is the slow part.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi
npm run build
