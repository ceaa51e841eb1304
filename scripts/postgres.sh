#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (never for data you want to keep: fsync is off, auth is trust).
#
#   scripts/postgres.sh start   # install PostgreSQL if missing, create and start the cluster, print its URL
#   scripts/postgres.sh url     # print the URL of the running cluster
#   scripts/postgres.sh stop    # stop the cluster and delete its files
#
# The URL names the database `flick`: postgres://postgres@127.0.0.1:PORT/flick. Tests create one database per test
# beside it (CREATE DATABASE on this server). Settings: FLICK_PG_PORT (55432), FLICK_PG_DIR (/tmp/flick-postgres-PORT).
set -euo pipefail

PORT="${FLICK_PG_PORT:-55432}"
DIR="${FLICK_PG_DIR:-/tmp/flick-postgres-$PORT}"
URL="postgres://postgres@127.0.0.1:$PORT/flick"

die() {
    echo "postgres.sh: $*" >&2
    exit 1
}

# The newest installed server's bin folder (Debian puts each major version in its own).
bin_dir() {
    local initdb
    initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$initdb" ]] && dirname "$initdb"
}

install_postgres() {
    [[ -n "$(bin_dir)" ]] && return 0
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
    echo "postgres.sh: installing PostgreSQL with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # Only the server binaries: no cluster of the distribution's own is created or started.
    apt-get install -y -qq --no-install-recommends postgresql-common >&2
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/flick-no-main.conf
    apt-get install -y -qq --no-install-recommends postgresql >&2
    [[ -n "$(bin_dir)" ]] || die "apt-get installed PostgreSQL but no initdb was found under /usr/lib/postgresql"
}

# Runs a server program as the cluster's owner (root may not run them).
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    local bin
    bin="$(bin_dir)" || return 1
    [[ -f "$DIR/data/PG_VERSION" ]] && as_owner "$bin/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

start() {
    install_postgres
    local bin
    bin="$(bin_dir)"
    if running; then
        echo "$URL"
        return 0
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$DIR"
    chmod 700 "$DIR"
    as_owner "$bin/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 ||
        { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    # TLS with a throwaway self-signed certificate, as managed PostgreSQL services offer it: clients that prefer TLS
    # (sqlx's default) use it, and `sslmode=require` can be tested.
    local ssl=()
    if command -v openssl >/dev/null 2>&1; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
            -keyout "$DIR/data/server.key" -out "$DIR/data/server.crt" >/dev/null 2>&1
        chmod 600 "$DIR/data/server.key"
        [[ "$(id -u)" == 0 ]] && chown postgres: "$DIR/data/server.key" "$DIR/data/server.crt"
        ssl=(-c ssl=on)
    fi
    # Many test databases with their own pools run at once: room for plenty of connections.
    as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=400 -k $DIR ${ssl[*]}" >/dev/null ||
        { cat "$DIR/server.log" >&2; die "the server did not start"; }
    as_owner "$bin/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE flick" >/dev/null
    echo "$URL"
}

stop() {
    local bin
    if bin="$(bin_dir)" && [[ -f "$DIR/data/PG_VERSION" ]]; then
        as_owner "$bin/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url)
        running || die "no cluster is running in $DIR (scripts/postgres.sh start)"
        echo "$URL"
        ;;
    *) die "usage: $0 start|stop|url" ;;
esac
