#!/usr/bin/env bash
# Set-up and everyday commands for a development machine (not the Pi: see README "Install on a Raspberry Pi").
#   ./dev.sh demo [station demo options]   the station demo on simulated hardware
#   ./dev.sh test [pytest options]         ruff, mypy and the test suite
#   ./dev.sh bench                         the benchmarks (bench/*.py), figures printed
#   ./dev.sh station ARGS                  any station command
# The first run creates .venv and installs the project with its test and bench extras.
set -euo pipefail
cd "$(dirname "$0")"

VENV="${STATION_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

ensure_venv() {
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "dev.sh: needs Python 3.11 or newer as $PYTHON" >&2
        exit 2
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall when pyproject.toml changed since the last install.
    if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test,bench]"
        # evdev (keyboard-wedge scanners) compiles from source: without a C compiler the demo and
        # most tests still run, and the keyboard-wedge tests say they were skipped and why.
        if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[hid]" >/dev/null 2>&1; then
            echo "dev.sh: evdev could not be built (install gcc and linux-libc-dev to test keyboard-wedge scanners)" >&2
        fi
        touch "$VENV/.installed"
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
        "$VENV/bin/ruff" check .
        "$VENV/bin/mypy"
        # pytest exits 5 when it collects no test: that fails here, as it should.
        exec "$VENV/bin/pytest" "$@"
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
    station)
        ensure_venv
        exec "$VENV/bin/station" "$@"
        ;;
    *)
        sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
