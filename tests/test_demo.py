"""The demo: starts and processes scans headless, through the simulated scanner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from station.barcodes import gs1_check_digit, ups_check_digit
from station.demo_day import generate_day, scan_feed


@pytest.mark.slow  # runs the demo
def test_headless_demo_processes_scans_and_writes_labels(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "station", "demo", "--headless", "--scans", "25", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "scans processed: 25" in proc.stdout
    labels = sorted((tmp_path / "labels").glob("*.zpl"))
    sorted_count = int(proc.stdout.split("sorted ")[1].split(")")[0].split(",")[0])
    assert len(labels) == sorted_count > 0
    assert all(p.read_bytes().startswith(b"^XA") for p in labels)


@pytest.mark.slow  # runs the demo
def test_the_demo_refuses_to_wipe_a_real_station(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "station", "scan", "X1", "--data-dir", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "station", "demo", "--headless", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "real station" in proc.stderr


def test_the_generated_day_is_realistic() -> None:
    day = generate_day(parcels=600)
    assert len(day) == 600 and len({p.tracking_id for p in day}) == 600
    assert sum(1 for p in day if p.codes) > 100  # SSCC labels
    assert len({p.address for p in day}) < 600  # some doors get two parcels
    ups = [p.tracking_id for p in day if p.tracking_id.startswith("1Z")]
    assert all(str(ups_check_digit(t[2:17])) == t[17] for t in ups)
    assert all(str(gs1_check_digit(p.codes[0][:17])) == p.codes[0][17] for p in day if p.codes)
    assert ups_check_digit("999AA1012345678") == 4  # UPS's published example 1Z999AA10123456784
    feed = list(scan_feed(day))
    assert len(feed) >= 600
