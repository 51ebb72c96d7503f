# PostgreSQL for CI, sourced by .ci/run (bash): the central server's tests run on a real server.
#   start_postgres   a throwaway cluster in a temporary directory, run by the `postgres` user
#                    (PostgreSQL refuses to run as root) with pg_ctl; exports
#                    STATION_TEST_POSTGRES_URL (a superuser, database postgres),
#                    STATION_TEST_POSTGRES_DATA (its data directory: tests stop and start it) and
#                    STATION_REQUIRE_POSTGRES=1 (a missing server fails the tests, never skips them)
#   stop_postgres    stops it and removes the directory (.ci/run calls it on EXIT, failure included)
# It listens on 127.0.0.1 on a free port and on a Unix socket in its own directory. TCP needs the
# superuser's password (scram-sha-256), not trust: anyone on the machine can reach 127.0.0.1, and
# the central server's test of a wrong password needs a server that checks one. The socket,
# reachable by its owner alone, trusts. fsync is off: the cluster lives for one CI run.
# By hand: `source .ci/postgres.sh && start_postgres && env | grep STATION_; stop_postgres`.

postgres_bin() {
    # The newest Debian version's binaries (Debian keeps initdb and pg_ctl off PATH).
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n1
}

start_postgres() {
    local bin port password
    bin="$(postgres_bin)"
    [ -x "$bin/initdb" ] || { echo "CI: no PostgreSQL in /usr/lib/postgresql/*/bin" >&2; return 1; }
    PG_CI_DIR="$(mktemp -d /tmp/station-ci-pg.XXXXXX)"
    mkdir "$PG_CI_DIR/sockets"
    password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
    printf '%s\n' "$password" >"$PG_CI_DIR/pwfile"
    chown -R postgres:postgres "$PG_CI_DIR"
    chmod 700 "$PG_CI_DIR"
    (cd / && runuser -u postgres -- "$bin/initdb" -D "$PG_CI_DIR/data" -U station_ci --pwfile "$PG_CI_DIR/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$PG_CI_DIR/initdb.log") \
        || { cat "$PG_CI_DIR/initdb.log" >&2; return 1; }
    rm -f "$PG_CI_DIR/pwfile"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    cat >>"$PG_CI_DIR/data/postgresql.conf" <<EOF
# station CI
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_CI_DIR/sockets'
max_connections = 200
fsync = off
full_page_writes = off
EOF
    (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$PG_CI_DIR/data" -l "$PG_CI_DIR/data/pg_ctl.log" -w -t 60 start >/dev/null) \
        || { cat "$PG_CI_DIR/data/pg_ctl.log" >&2; return 1; }
    export STATION_TEST_POSTGRES_URL="postgresql://station_ci:$password@127.0.0.1:$port/postgres"
    export STATION_TEST_POSTGRES_DATA="$PG_CI_DIR/data"
    export STATION_REQUIRE_POSTGRES=1
    echo "CI: $("$bin/postgres" --version) on 127.0.0.1:$port ($PG_CI_DIR)"
}

stop_postgres() {
    [ -n "${PG_CI_DIR:-}" ] && [ -d "$PG_CI_DIR" ] || return 0
    if [ -f "$PG_CI_DIR/data/postmaster.pid" ]; then
        (cd / && runuser -u postgres -- "$(postgres_bin)/pg_ctl" -D "$PG_CI_DIR/data" -m fast -w -t 30 stop) >/dev/null \
            || (cd / && runuser -u postgres -- "$(postgres_bin)/pg_ctl" -D "$PG_CI_DIR/data" -m immediate stop) \
            || true
    fi
    rm -rf "$PG_CI_DIR"
}
