"""Two processes scanning on one data dir, one printer: no label is sent twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from drivers.printers.fake_zpl import Behaviour, FakeZplTcp, code128_data
from station.config import example_config_text, load_config
from station.core import Station
from station.demo_day import generate_day
from station.devices import deliver_now
from tests.conftest import round_robin_plan

pytestmark = pytest.mark.slow  # two station processes printing at once

# Each process scans its parcels and delivers after every scan, as `station scan` does.
SCANNER = """
import sys
from pathlib import Path
from station.config import load_config
from station.core import Station
from station.devices import deliver_now

data_dir = Path(sys.argv[1])
config = load_config(data_dir / "station.toml", data_dir)
station = Station.open(config)
for tracking_id in sys.argv[2:]:
    station.scan(tracking_id, device="proc")
    deliver_now(config, station.store)
station.close()
"""


def test_two_processes_never_send_the_same_label(tmp_path: Path) -> None:
    fake = FakeZplTcp(Behaviour.NORMAL)
    try:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        text = example_config_text()
        start = text.index("[[printers]]")
        end = text.index("\n\n", start)
        printer = f'[[printers]]\nname = "2"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {fake.port}\ntimeout_s = 5.0\n'
        (data_dir / "station.toml").write_text(text[:start] + printer + text[end:], encoding="utf-8")
        config = load_config(data_dir / "station.toml", data_dir)
        parcels = generate_day(config.hub, parcels=24, seed=11)
        station = Station.open(config)
        station.replace_manifest(parcels, version="t")
        station.save_plan(round_robin_plan(config, parcels))
        station.close()

        ids = [p.tracking_id for p in parcels]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
        procs = [
            subprocess.Popen([sys.executable, "-c", SCANNER, str(data_dir), *ids[i::2]], env=env) for i in range(2)
        ]
        assert [p.wait(timeout=300) for p in procs] == [0, 0]

        station = Station.open(config)
        deliver_now(config, station.store)  # whatever the last claim left behind
        waiting = station.store.scalar("SELECT count(*) FROM print_jobs WHERE printed_at IS NULL")
        station.close()
        printed = Counter(tid for label in fake.printed for tid in code128_data(label))
        assert waiting == 0
        assert sorted(printed) == sorted(ids)
        assert max(printed.values()) == 1  # no label sent twice
    finally:
        fake.close()
