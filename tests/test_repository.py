"""The repository stands alone: its locks match pyproject.toml, and nothing reads outside the clone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_locks_match_pyproject() -> None:
    # A dependency added to pyproject.toml without ./dev.sh lock would install nowhere reproducibly.
    result = subprocess.run(
        [sys.executable, "tools/lock.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_every_locked_package_is_pinned_with_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / name).read_text().split("\n", 3)[3])
        assert len(entries) > 20, name
        for entry in entries:
            first = entry.splitlines()[0]
            assert re.match(r"^[A-Za-z0-9_.-]+==\S+( ;.*)? \\$", first), f"{name}: not pinned: {first}"
            assert "--hash=sha256:" in entry, f"{name}: no hash for {first}"


def test_the_pi_lock_has_what_the_station_runs_with_and_the_dev_lock_agrees() -> None:
    def pins(name: str) -> dict[str, str]:
        text = (ROOT / name).read_text()
        return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}

    pi, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {"textual", "ortools", "evdev", "pyserial"} <= set(pi)
    assert "pytest" not in pi  # the Pi does not carry the test tools
    assert {name: dev.get(name) for name in pi} == pi


def test_nothing_reads_a_folder_beside_the_clone() -> None:
    # The test data and benchmark instances are vendored (tests/data, bench/data).
    outside = re.compile(r"\.\./shared|/work/shared|STATION_SHARED_DIR")
    files = [ROOT / "dev.sh", ROOT / ".ci" / "run", *ROOT.glob("tests/*.py"), *ROOT.glob("bench/*.py")]
    files += [*ROOT.glob("station/**/*.py"), *ROOT.glob("drivers/**/*.py")]
    offenders = [str(f.relative_to(ROOT)) for f in files if f != Path(__file__) and outside.search(f.read_text())]
    assert offenders == [], offenders
