"""Crash test: the station killed with SIGKILL at random moments while it starts new days
(imports of the next day's manifest) and writes ``station backup`` copies, then checked.

A power cut during a day change or a backup must leave the old day or the new one, never a
mix: after every kill the database (and the last backup, if one was written) passes
``PRAGMA integrity_check``, its day's parcels are that day's manifest (or none yet: the day
started, its import not committed), every kept day's report and manifest are there whole,
and every event of a day names a parcel of that day's manifest.

The child is this file run as a script: it goes on from the day the database says, imports
the next day through :func:`station.days.import_day`, scans a few parcels and backs up,
over and over until it is killed.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from station.model import Hub

pytestmark = pytest.mark.slow  # SIGKILLs station processes in a loop

KILLS = 20
FIRST = date(2027, 1, 4)
PER_DAY = 25
KEEP_DAYS = 30  # [store] keep_days, the default


def child(data_dir: str) -> int:
    from station import days
    from station.config import load_config
    from station.core import Station
    from station.demo_day import generate_day

    config = load_config(None, Path(data_dir))
    station = Station.open(config)
    print("ready", flush=True)
    while True:
        current = days.current_day(station)
        # The day's import may not have committed before the last kill: take it again, then go on.
        if current is not None and not station.store.scalar("SELECT count(*) FROM parcels"):
            day = current
        else:
            day = FIRST if current is None else current + timedelta(days=1)
        parcels = generate_day(config.hub, parcels=PER_DAY, seed=day.toordinal())
        days.import_day(station, parcels, day=day, version=f"file:{day}")
        for p in parcels[:4]:
            station.scan(p.tracking_id, device="sorter")
        station.store.backup_to(Path(data_dir) / "backup.db")


def check(path: Path, hub: Hub) -> date:
    """The invariants of one database file; returns its day."""
    from station.demo_day import generate_day

    def ids(day: date) -> set[str]:
        return {p.tracking_id for p in generate_day(hub, parcels=PER_DAY, seed=day.toordinal())}

    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (day_text,) = db.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
        day = date.fromisoformat(day_text)
        parcels = {r[0] for r in db.execute("SELECT tracking_id FROM parcels")}
        assert parcels in (set(), ids(day)), f"{path}: {day}'s parcels are a mix"
        kept = [date.fromisoformat(r[0]) for r in db.execute("SELECT day FROM day_reports ORDER BY day")]
        before = [FIRST + timedelta(days=i) for i in range((day - FIRST).days)]
        assert set(kept) <= set(before), f"{path}: kept days {kept}"
        # Retention may remove a day older than keep_days once none of its events is left to
        # deliver: here, a day killed between its import and its first scan. No other day goes.
        with_events = {date.fromisoformat(r[0]) for r in db.execute("SELECT DISTINCT day FROM events")}
        for d in set(before) - set(kept):
            assert d < day - timedelta(days=KEEP_DAYS) and d not in with_events, f"{path}: {d} lost; kept {kept}"
        for d in kept:
            held = {r[0] for r in db.execute("SELECT tracking_id FROM day_parcels WHERE day = ?", [d.isoformat()])}
            assert held == ids(d), f"{path}: the kept manifest of {d} is not whole"
        for d_text, tid in db.execute("SELECT day, tracking_id FROM events WHERE tracking_id IS NOT NULL"):
            assert tid in ids(date.fromisoformat(d_text)), f"{path}: an event of {d_text} names {tid}"
        return day
    finally:
        db.close()


def test_sigkill_during_day_changes_and_backups(tmp_path: Path) -> None:
    from station.config import load_config

    hub = load_config(None, tmp_path).hub
    rng = random.Random(20261201)
    days_seen: list[date] = []
    backups = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, __file__, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=Path(__file__).parents[1],
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        days_seen.append(check(tmp_path / "station.db", hub))
        if (tmp_path / "backup.db").exists():
            check(tmp_path / "backup.db", hub)
            backups += 1
    print(f"\n{KILLS} kills: days {days_seen[0]} .. {days_seen[-1]}, {backups} backups checked")
    assert days_seen == sorted(days_seen)  # a kill never takes the station back a day
    assert days_seen[-1] > FIRST + timedelta(days=2)  # the kills landed while days were changing
    assert backups > 0


if __name__ == "__main__":
    sys.exit(child(sys.argv[1]))
