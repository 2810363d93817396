# Finds a PostgreSQL server for the project, or starts a private one; sourced.
# Exports PGHOST, PGPORT and PGUSER for Odoo and the PostgreSQL tools.
# shellcheck shell=bash

PRIVATE_PG_PORT="${IG_PRIVATE_PG_PORT:-54329}"
PRIVATE_PG_OS_USER="${IG_PRIVATE_PG_OS_USER:-nobody}"
if [ "$(id -u)" -eq 0 ]; then
    # The server runs as another OS user, which cannot enter root's home.
    PRIVATE_PG_DIR="${IG_PRIVATE_PG_DIR:-/var/lib/integration_gateway/postgres}"
else
    PRIVATE_PG_DIR="${IG_PRIVATE_PG_DIR:-$CACHE_ROOT/postgres}"
fi

pg_answers() {
    # True when the server in PGHOST/PGPORT accepts PGUSER.
    "$PY" - <<'PYEOF' 2>/dev/null
import os, psycopg2
psycopg2.connect(dbname="postgres", connect_timeout=3).close()
PYEOF
}

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ ! -x "$dir/initdb" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        say "installing PostgreSQL for a private cluster"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    fi
    [ -x "$dir/initdb" ] || die "no PostgreSQL server found: install one (e.g. apt-get install postgresql) or set PGHOST/PGPORT/PGUSER"
    echo "$dir"
}

as_pg_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u "$PRIVATE_PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

start_private_postgres() {
    local bin
    bin="$(pg_bin)"
    mkdir -p "$PRIVATE_PG_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        # PostgreSQL refuses to run as root.
        chown "$PRIVATE_PG_OS_USER" "$PRIVATE_PG_DIR"
        chmod 700 "$PRIVATE_PG_DIR"
    fi
    if [ ! -f "$PRIVATE_PG_DIR/data/PG_VERSION" ]; then
        say "creating a private PostgreSQL cluster in $PRIVATE_PG_DIR/data"
        as_pg_owner "$bin/initdb" -D "$PRIVATE_PG_DIR/data" -U odoo --auth=trust >/dev/null
    fi
    export PGHOST=127.0.0.1 PGPORT="$PRIVATE_PG_PORT" PGUSER=odoo
    if ! pg_answers; then
        say "starting the private PostgreSQL on 127.0.0.1:$PRIVATE_PG_PORT (data in $PRIVATE_PG_DIR/data)"
        as_pg_owner "$bin/pg_ctl" -D "$PRIVATE_PG_DIR/data" -l "$PRIVATE_PG_DIR/server.log" -w \
            -o "-p $PRIVATE_PG_PORT -k $PRIVATE_PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    pg_answers || die "the private PostgreSQL did not start; see $PRIVATE_PG_DIR/server.log"
}

ensure_postgres() {
    if [ "${IG_PRIVATE_PG:-}" = 1 ]; then
        start_private_postgres
    elif [ -n "${PGHOST:-}${PGPORT:-}${PGUSER:-}" ]; then
        export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-$(id -un)}"
        [ "$PGUSER" != postgres ] || die "Odoo refuses the database role 'postgres': set PGUSER to another role"
        pg_answers || die "PostgreSQL at $PGHOST:$PGPORT does not accept role $PGUSER"
    else
        export PGHOST=127.0.0.1 PGPORT=5432 PGUSER="${PGUSER:-$(id -un)}"
        if [ "$PGUSER" = postgres ] || ! pg_answers; then
            start_private_postgres
        fi
    fi
    say "PostgreSQL: $PGUSER@$PGHOST:$PGPORT"
}

stop_private_postgres() {
    [ -f "$PRIVATE_PG_DIR/data/postmaster.pid" ] || return 0
    as_pg_owner "$(pg_bin)/pg_ctl" -D "$PRIVATE_PG_DIR/data" -m fast -w stop >/dev/null
}

write_odoo_config() {
    # Addon settings live in system parameters; this file holds Odoo's own.
    local conf="$1" http_port="$2"
    mkdir -p "$(dirname "$conf")" "$CACHE_ROOT/data"
    cat > "$conf" <<CONF
[options]
addons_path = $(odoo_addons_path)
data_dir = $CACHE_ROOT/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
http_interface = 127.0.0.1
http_port = $http_port
screenshots = $BUILD_DIR/screenshots
CONF
}
