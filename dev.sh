#!/usr/bin/env bash
# Set-up and everyday commands for a development machine (not the Pi: see README "Install on a Raspberry Pi").
#   ./dev.sh demo [station demo options]   the station demo on simulated hardware
#   ./dev.sh test [pytest options]         ruff (lint + format), mypy, the test suite with coverage
#   ./dev.sh test -m "not slow"            the inner loop: the same without the slow tests (under a minute)
#   ./dev.sh bench                         the benchmarks (bench/*.py), figures printed
#   ./dev.sh lock [--upgrade[-package P]]  resolve requirements*.lock again after changing pyproject.toml
#   ./dev.sh station ARGS                  any station command
# The first run creates .venv and installs exactly requirements-dev.lock (versions and hashes) and the
# project; it installs again whenever the lock or pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")"

VENV="${STATION_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
LOCK=requirements-dev.lock
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)

ensure_venv() {
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "dev.sh: needs Python 3.11 or newer as $PYTHON" >&2
        exit 2
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    # Install again when the lock or pyproject.toml differ from the last install.
    local stamp
    stamp="$(cat "$LOCK" pyproject.toml | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$stamp" ]; then
        "$VENV/bin/python" tools/lock.py --check || echo "dev.sh: installing the old lock meanwhile" >&2
        # evdev (keyboard-wedge scanners) compiles from source: it is installed on its own so that
        # without a C compiler the demo and most tests still run (the keyboard-wedge tests say why
        # they were skipped). Every other package comes from the lock, checked against its hashes.
        awk -v ev="$VENV/lock-evdev.txt" -v rest="$VENV/lock-rest.txt" \
            '/^[A-Za-z0-9]/ { e = ($0 ~ /^evdev==/) } { print > (e ? ev : rest) }' "$LOCK"
        "${PIP[@]}" install --require-hashes -r "$VENV/lock-rest.txt"
        "${PIP[@]}" install --no-deps -e .
        if ! "${PIP[@]}" install --require-hashes --no-deps -r "$VENV/lock-evdev.txt" >/dev/null 2>&1; then
            echo "dev.sh: evdev could not be built (install gcc and linux-libc-dev to test keyboard-wedge scanners)" >&2
        fi
        echo "$stamp" >"$VENV/.installed"
    fi
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
    demo)
        ensure_venv
        exec "$VENV/bin/station" demo "$@"
        ;;
    test)
        ensure_venv
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/ruff" check .
        "$VENV/bin/mypy"  # station, drivers, tests and tools (pyproject.toml [tool.mypy])
        # Coverage of station/ and drivers/ is reported, not enforced. pytest exits 5 when it collects
        # no test: that fails here, as it should.
        exec "$VENV/bin/pytest" --cov --cov-report=term:skip-covered "$@"
        ;;
    bench)
        ensure_venv
        for script in bench/scan_path.py bench/barcodes.py bench/sync.py; do
            echo "== $script"
            "$VENV/bin/python" "$script"
        done
        echo "== bench/routing.py (30 s per instance and solver: about 25 minutes)"
        if [ $# -eq 0 ]; then  # the published instances, vendored in bench/data/routing (SOURCE.md there)
            set -- --time-limit 30 bench/data/routing/cvrp/*.vrp bench/data/routing/vrptw/*
        fi
        "$VENV/bin/python" bench/routing.py "$@"
        ;;
    lock)
        ensure_venv  # uv comes with the test extra
        "$VENV/bin/python" tools/lock.py "$@"
        ensure_venv  # install what was just resolved
        ;;
    station)
        ensure_venv
        exec "$VENV/bin/station" "$@"
        ;;
    *)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
