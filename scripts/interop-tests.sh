#!/usr/bin/env bash
# tus interoperability: clients Flick did not write upload a clip to a running Flick, are interrupted
# part-way and resume from the server's offset. Installs what it needs (npm ci, a Python venv).
#
# Usage: scripts/interop-tests.sh BASE_URL CLIP
#   Prints one JSON line per client: {"client":…,"id":…,"resumedFrom":…} (tus-js-client's parallelUploads, which
#   uses the concatenation extension its own way: {"client":…,"id":…,"parts":3}). The caller (the Rust test
#   crates/flick/tests/e2e/tus_interop.rs) checks that each video ends ready and its HLS decodes.
# Needs node + npm and python3 (with venv); the registries must be reachable on the first run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${1:?usage: interop-tests.sh BASE_URL CLIP}"
CLIP="${2:?usage: interop-tests.sh BASE_URL CLIP}"
VENV="$ROOT/target/interop-venv"
NODE_DIR="$ROOT/tests/interop/node"
PY_DIR="$ROOT/tests/interop/python"

die() { echo "interop-tests.sh: $*" >&2; exit 1; }
for tool in node npm python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH"
done

# Installs are skipped when already done for the same lock/requirements (stamp files), and serialized.
mkdir -p "$ROOT/target"
exec 9>"$ROOT/target/.interop.lock"
command -v flock >/dev/null 2>&1 && flock 9

if ! cmp -s "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.flick-stamp" 2>/dev/null; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.flick-stamp"
fi
if ! cmp -s "$PY_DIR/requirements.txt" "$VENV/.flick-stamp" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$PY_DIR/requirements.txt" >&2
    cp "$PY_DIR/requirements.txt" "$VENV/.flick-stamp"
fi
exec 9>&-

node "$NODE_DIR/upload.mjs" "$BASE/api/uploads" "$CLIP"
node "$NODE_DIR/parallel.mjs" "$BASE/api/uploads" "$CLIP"
"$VENV/bin/python" "$PY_DIR/upload.py" "$BASE/api/uploads" "$CLIP"
