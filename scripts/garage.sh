#!/usr/bin/env bash
# A throwaway Garage (S3-compatible object store) for the tests: one node, one bucket, data in /tmp.
#
#   scripts/garage.sh install  # cargo install Garage 2.5 when it is missing (~5 min on 2 cores; once per machine)
#   scripts/garage.sh start    # install if missing, start the server, print the env lines the tests read
#   scripts/garage.sh env      # print them for the running server
#   scripts/garage.sh stop     # stop the server and delete its files
#
# The printed lines are FLICK_TEST_S3_ENDPOINT, FLICK_TEST_S3_BUCKET, FLICK_TEST_S3_KEY_ID and FLICK_TEST_S3_SECRET
# (as `export NAME=value`). Settings: FLICK_GARAGE_PORT (3900; the RPC port is the next one), FLICK_GARAGE_DIR.
set -euo pipefail

PORT="${FLICK_GARAGE_PORT:-3900}"
RPC_PORT=$((PORT + 1))
DIR="${FLICK_GARAGE_DIR:-/tmp/flick-garage-$PORT}"
VERSION=2.5.0
BUCKET=flick-test
# Test-only credentials for a server bound to 127.0.0.1 (Garage wants GK + 24 hex digits and 64 hex digits).
KEY_ID=GK0123456789abcdef01234567
SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

die() {
    echo "garage.sh: $*" >&2
    exit 1
}

garage_bin() {
    if command -v garage >/dev/null 2>&1; then
        command -v garage
    elif [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/garage" ]]; then
        echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage"
    else
        return 1
    fi
}

install() {
    if bin="$(garage_bin)" && "$bin" --version 2>/dev/null | grep -q "$VERSION"; then
        return 0
    fi
    echo "garage.sh: installing Garage $VERSION with cargo (a few minutes, once per machine)" >&2
    local started=$SECONDS
    # Debug build and only the SQLite metadata engine: the tests need a correct server, not a fast one.
    cargo install garage --version "$VERSION" --locked --debug --no-default-features \
        --features sqlite,bundled-libs >&2
    echo "garage.sh: Garage installed in $((SECONDS - started)) s" >&2
    garage_bin >/dev/null || die "cargo installed Garage but it is not on PATH or in ~/.cargo/bin"
}

print_env() {
    echo "export FLICK_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT"
    echo "export FLICK_TEST_S3_BUCKET=$BUCKET"
    echo "export FLICK_TEST_S3_KEY_ID=$KEY_ID"
    echo "export FLICK_TEST_S3_SECRET=$SECRET"
}

running() {
    [[ -f "$DIR/pid" ]] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null
}

# True once the S3 API answers HTTP at all (an anonymous request gets an S3 error, which is an answer).
answering() {
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/" 2>/dev/null
}

start() {
    install
    command -v curl >/dev/null 2>&1 || bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" curl >&2
    if running; then
        print_env
        return 0
    fi
    local bin
    bin="$(garage_bin)"
    rm -rf "$DIR"
    mkdir -p "$DIR/meta" "$DIR/data"
    cat >"$DIR/garage.toml" <<CONF
metadata_dir = "$DIR/meta"
data_dir = "$DIR/data"
db_engine = "sqlite"
metadata_fsync = false
data_fsync = false
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$RPC_PORT"
rpc_public_addr = "127.0.0.1:$RPC_PORT"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$PORT"
root_domain = ".s3.garage.localhost"
CONF
    GARAGE_DEFAULT_ACCESS_KEY="$KEY_ID" GARAGE_DEFAULT_SECRET_KEY="$SECRET" GARAGE_DEFAULT_BUCKET="$BUCKET" \
        RUST_LOG=warn setsid "$bin" -c "$DIR/garage.toml" server --single-node --default-bucket \
        >"$DIR/server.log" 2>&1 </dev/null &
    echo $! >"$DIR/pid"
    for _ in $(seq 1 100); do
        if answering && grep -q . "$DIR/pid"; then
            # The bucket is made right after the API starts listening: wait until it is really there.
            if curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/$BUCKET" | grep -qv '^000$'; then
                print_env
                return 0
            fi
        fi
        running || { cat "$DIR/server.log" >&2; die "Garage exited at start-up"; }
        sleep 0.1
    done
    cat "$DIR/server.log" >&2
    die "Garage did not answer on 127.0.0.1:$PORT within 10 s"
}

stop() {
    if running; then
        kill "$(cat "$DIR/pid")" 2>/dev/null || true
        for _ in $(seq 1 50); do running || break; sleep 0.1; done
        running && kill -9 "$(cat "$DIR/pid")" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    env)
        running || die "no Garage is running in $DIR (scripts/garage.sh start)"
        print_env
        ;;
    *) die "usage: $0 install|start|stop|env" ;;
esac
