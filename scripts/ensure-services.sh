#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer before the tests run (`make services`, `make test`).
#
# Checks the hosts/ports of DATABASE_URL and REDIS_URL (default 127.0.0.1:5432 and
# 127.0.0.1:6379). A local server that is installed but stopped is started; one that is not
# installed is installed with apt-get when CI=true, otherwise we say how to install it.
# Waits up to SERVICE_WAIT_SECONDS (default 30) and exits non-zero if a service is still down.
set -euo pipefail

WAIT_SECONDS="${SERVICE_WAIT_SECONDS:-30}"
IN_CI=false
case "${CI:-}" in true | 1 | yes) IN_CI=true ;; esac

say() { printf 'ensure-services: %s\n' "$*"; }
fail() {
    printf 'ensure-services: ERROR: %s\n' "$*" >&2
    exit 1
}

# host and port out of a URL like scheme://user:pw@host:port/path (no port -> default).
url_host() { # url default_host
    local rest="${1#*://}"
    rest="${rest%%/*}"
    rest="${rest##*@}"
    rest="${rest%%:*}"
    printf '%s' "${rest:-$2}"
}
url_port() { # url default_port
    local rest="${1#*://}"
    rest="${rest%%/*}"
    rest="${rest##*@}"
    case "$rest" in *:*) printf '%s' "${rest##*:}" ;; *) printf '%s' "$2" ;; esac
}
is_local() { case "$1" in 127.0.0.1 | localhost | ::1) return 0 ;; *) return 1 ;; esac }

PG_HOST=127.0.0.1 PG_PORT=5432
case "${DATABASE_URL:-}" in
postgres://* | postgresql://*)
    PG_HOST=$(url_host "$DATABASE_URL" 127.0.0.1)
    PG_PORT=$(url_port "$DATABASE_URL" 5432)
    ;;
esac
REDIS_HOST=127.0.0.1 REDIS_PORT=6379
case "${REDIS_URL:-}" in
redis://* | rediss://*)
    REDIS_HOST=$(url_host "$REDIS_URL" 127.0.0.1)
    REDIS_PORT=$(url_port "$REDIS_URL" 6379)
    ;;
esac

apt_updated=false
apt_install() {
    [ "$(id -u)" -eq 0 ] || fail "installing $* needs root (run: sudo apt-get install -y $*)"
    command -v apt-get >/dev/null || fail "apt-get not found: install $* with your package manager"
    if ! $apt_updated; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=true
    fi
    say "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null
}

wait_for() { # check-command...
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    "$@" >/dev/null 2>&1
}

# --- PostgreSQL --------------------------------------------------------------------------

pg_up() { pg_isready -h "$PG_HOST" -p "$PG_PORT" -q; }

pg_server_installed() { command -v pg_ctlcluster >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }
NOT_INSTALLED="Install it with: apt-get install -y postgresql redis-server"

if ! command -v pg_isready >/dev/null; then
    if $IN_CI; then
        if is_local "$PG_HOST"; then apt_install postgresql postgresql-client; else apt_install postgresql-client; fi
    else
        fail "PostgreSQL is not installed (no pg_isready). $NOT_INSTALLED"
    fi
fi

pg_start() {
    local version
    command -v pg_ctlcluster >/dev/null || return 1
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$version" ]; then
        # Server installed without a cluster (e.g. created with create_main_cluster=false).
        version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
        [ -n "$version" ] || return 1
        say "creating PostgreSQL cluster $version/main"
        pg_createcluster "$version" main -p "$PG_PORT" >/dev/null
    fi
    say "starting PostgreSQL $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

if pg_up; then
    say "PostgreSQL answers on $PG_HOST:$PG_PORT"
else
    if is_local "$PG_HOST"; then
        if ! pg_server_installed; then
            if $IN_CI; then
                apt_install postgresql
            else
                fail "PostgreSQL is not running on $PG_HOST:$PG_PORT and no server is installed. $NOT_INSTALLED"
            fi
        fi
        pg_start || true
    fi
    wait_for pg_up || fail "PostgreSQL does not answer on $PG_HOST:$PG_PORT after ${WAIT_SECONDS}s (local: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start; logs in /var/log/postgresql/)"
    say "PostgreSQL answers on $PG_HOST:$PG_PORT"
fi

# A fresh Debian cluster asks for a password on TCP; the default test URL has none. On a
# throw-away CI machine only, let local TCP connections in without one (as the dev box does).
if $IN_CI && is_local "$PG_HOST" && [ "$(id -u)" -eq 0 ] \
    && ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1 </dev/null; then
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$hba" ]; then
        say "CI: allowing password-less local TCP connections in $hba"
        sed -i -E 's/^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1\/32|::1\/128)[[:space:]]+).*/\1trust/' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$(basename "$(dirname "$(dirname "$hba")")")" main reload || true
        sleep 1
    fi
fi

# --- Redis --------------------------------------------------------------------------------

redis_up() { [ "$(timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

if ! command -v redis-cli >/dev/null; then
    if $IN_CI; then
        if is_local "$REDIS_HOST"; then apt_install redis-server redis-tools; else apt_install redis-tools; fi
    else
        fail "Redis is not installed (no redis-cli). $NOT_INSTALLED"
    fi
fi

if redis_up; then
    say "Redis answers on $REDIS_HOST:$REDIS_PORT"
else
    if is_local "$REDIS_HOST"; then
        if ! command -v redis-server >/dev/null; then
            if $IN_CI; then
                apt_install redis-server
            else
                fail "Redis is not running on $REDIS_HOST:$REDIS_PORT and no server is installed. $NOT_INSTALLED"
            fi
        fi
        say "starting Redis on $REDIS_HOST:$REDIS_PORT"
        redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no >/dev/null || true
    fi
    wait_for redis_up || fail "Redis does not answer on $REDIS_HOST:$REDIS_PORT after ${WAIT_SECONDS}s"
    say "Redis answers on $REDIS_HOST:$REDIS_PORT"
fi
