"""The sorting day: which day a manifest is for, guarded imports, the next day, backups."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station import days
from station.cli.main import main
from station.config import Config
from station.core import Station
from station.errors import ManifestError, StationError, StoreError
from station.manifest import write_csv
from station.model import Parcel
from tests.conftest import round_robin_plan

D1, D2 = date(2026, 11, 30), date(2026, 12, 1)


@given(st.text(max_size=20))
def test_parse_day_gives_a_date_or_a_message_naming_the_value(text: str) -> None:
    try:
        assert isinstance(days.parse_day(text), date)
    except StationError as exc:
        assert repr(text) in str(exc)


def test_the_hub_date_is_the_hubs_not_utcs(config: Config) -> None:
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    paris = Config(**{**config.__dict__, "timezone": "Europe/Paris"})
    assert days.hub_today(paris, late) == D2
    utc = Config(**{**config.__dict__, "timezone": "UTC"})
    assert days.hub_today(utc, late) == D1


def test_a_json_manifest_says_its_day(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"day": "2026-12-01", "parcels": []}))
    assert days.manifest_day(path) == D2
    path.write_text(json.dumps({"day": "tomorrow", "parcels": []}))
    with pytest.raises(ManifestError, match="'tomorrow' is not a day"):
        days.manifest_day(path)
    path.write_text(json.dumps([]))
    assert days.manifest_day(path) is None


def test_an_import_that_cancels_too_much_is_refused_unless_forced(station: Station, day: list[Parcel]) -> None:
    days.start_day(station, D1)
    station.replace_manifest(day, version="v1", day=D1)
    wrong = day[:10]  # a truncated file: 30 of 40 would go
    preview = days.preview_import(station, wrong, D1)
    assert (len(preview.cancelled), preview.open_before, preview.added) == (30, 40, ())
    with pytest.raises(ManifestError, match=r"would cancel 30 of the day's 40 open parcels \(75%"):
        days.check_import(preview, 0.2, force=False)
    days.check_import(preview, 0.2, force=True)
    small = days.preview_import(station, day[:35], D1)  # 5 of 40: 12 %
    days.check_import(small, 0.2, force=False)


def test_a_day_already_past_is_refused(station: Station, day: list[Parcel]) -> None:
    days.start_day(station, D2)
    with pytest.raises(ManifestError, match="for 2026-11-30, but the station already works on 2026-12-01"):
        days.preview_import(station, day, D1)
    assert days.start_day(station, D1) is False and days.current_day(station) == D2


def test_a_new_day_starts_clean_and_keeps_the_old_one(station: Station, day: list[Parcel], config: Config) -> None:
    days.start_day(station, D1)
    station.replace_manifest(day, version="v1", day=D1)
    station.save_plan(round_robin_plan(config, day))
    station.replace_manifest(day[:39], version="v2", day=D1)  # one cancelled
    before = {t: station.store.scalar(f"SELECT count(*) FROM {t}") for t in ("events", "outbox")}

    assert days.start_day(station, D2) is True
    for table in days.DAY_TABLES:
        assert station.store.scalar(f"SELECT count(*) FROM {table}") == 0, table
    assert days.current_day(station) == D2 and station.store.get_meta("manifest_version") is None
    assert station.current_plan() is None
    kept = days.kept_report(station, D1)
    assert kept is not None and kept["day"] == "2026-11-30" and kept["manifest"] == 39 and kept["planned"] == 39
    archived = station.store.query("SELECT tracking_id, cancelled FROM day_parcels WHERE day = '2026-11-30'")
    assert len(archived) == 40 and sum(r["cancelled"] for r in archived) == 1
    assert {t: station.store.scalar(f"SELECT count(*) FROM {t}") for t in ("events", "outbox")} == before
    assert days.kept_days(station) == ["2026-11-30", "2026-12-01"]


def test_import_dry_run_changes_nothing(tmp_path: Path, day: list[Parcel], capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "data")
    # Every import names its day: without it, the day is today's, and the test failed after midnight 2026-11-30.
    full, truncated = tmp_path / "full.csv", tmp_path / "truncated.csv"
    write_csv(day, full)
    write_csv(day[:10], truncated)
    assert main(["import", str(full), "--day", "2026-11-30", "--data-dir", d]) == 0
    db = tmp_path / "data" / "station.db"
    snapshot = sqlite3.connect(db).execute("SELECT count(*), sum(cancelled) FROM parcels").fetchone()
    capsys.readouterr()
    assert main(["import", str(truncated), "--dry-run", "--day", "2026-11-30", "--data-dir", d]) == 0
    out = capsys.readouterr().out
    assert "would add 0, keep 10, cancel 30 of 40 open (75%)" in out and "nothing changed" in out
    assert main(["import", str(truncated), "--day", "2026-11-30", "--data-dir", d]) == 1
    assert "--force" in capsys.readouterr().err
    assert sqlite3.connect(db).execute("SELECT count(*), sum(cancelled) FROM parcels").fetchone() == snapshot
    assert main(["import", str(truncated), "--force", "--day", "2026-11-30", "--data-dir", d]) == 0
    assert sqlite3.connect(db).execute("SELECT sum(cancelled) FROM parcels").fetchone() == (30,)
    assert main(["import", str(full), "--day", "2026-11-30", "--data-dir", d]) == 0
    assert capsys.readouterr().out.count("back on the manifest:") == 30


def test_report_of_a_kept_day(tmp_path: Path, day: list[Parcel], capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "data")
    path = tmp_path / "m.csv"
    write_csv(day, path)
    assert main(["import", str(path), "--day", "2026-11-30", "--data-dir", d]) == 0
    assert main(["import", str(path), "--day", "2026-12-01", "--data-dir", d]) == 0
    capsys.readouterr()
    assert main(["report", "--day", "2026-11-30", "--json", "--data-dir", d]) == 0
    assert json.loads(capsys.readouterr().out)["day"] == "2026-11-30"
    assert main(["report", "--day", "2026-10-01", "--data-dir", d]) == 1
    assert "no report kept for 2026-10-01 (days kept: 2026-11-30, 2026-12-01)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["report", "--day", "30/11/2026", "--data-dir", d])
    assert stop.value.code == 2 and "'30/11/2026' is not a day" in capsys.readouterr().err


def test_backup_is_a_consistent_copy_while_the_station_runs(planned: Station, tmp_path: Path) -> None:
    planned.scan(planned.parcels()[0].tracking_id, device="t")
    dest = planned.store.backup_to(tmp_path / "copy.db")
    copy = sqlite3.connect(dest)
    assert copy.execute("PRAGMA quick_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM events").fetchone() == (1,)
    assert copy.execute("SELECT count(*) FROM parcels").fetchone() == (40,)
    assert not (tmp_path / "copy.db.partial").exists()


def test_a_backup_that_cannot_be_written_changes_nothing(planned: Station, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    old.write_bytes(b"an older backup")
    (tmp_path / "old.db.partial").write_bytes(b"left by a power cut")
    with pytest.raises(StoreError, match="cannot back up the database to"):
        planned.store.backup_to(tmp_path / "missing-dir" / "x.db")
    planned.store.backup_to(old)  # a leftover .partial is replaced, never renamed into place as is
    assert sqlite3.connect(old).execute("SELECT count(*) FROM parcels").fetchone() == (40,)


def test_backup_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "data")
    assert main(["scan", "1Z999AA10123456784", "--data-dir", d]) == 0
    (tmp_path / "backups").mkdir()
    assert main(["backup", str(tmp_path / "backups"), "--data-dir", d]) == 0
    assert "backed up" in capsys.readouterr().out and len(list((tmp_path / "backups").glob("station-*.db"))) == 1
    assert main(["backup", str(tmp_path / "nowhere" / "b.db"), "--data-dir", d]) == 1
    assert "is not a directory" in capsys.readouterr().err


def test_every_event_carries_its_day(planned: Station) -> None:
    days.start_day(planned, D1)
    planned.replace_manifest(planned.parcels(), version="v1", day=D1)
    planned.scan("1Z999AA10123456784", device="t")
    outbox = json.loads(planned.store.scalar("SELECT payload FROM outbox ORDER BY seq DESC LIMIT 1"))
    assert planned.store.scalar("SELECT day FROM events ORDER BY seq DESC LIMIT 1") == "2026-11-30" == outbox["day"]


def test_old_days_go_only_once_their_events_have_left(station: Station) -> None:
    config = Config(**{**station.config.__dict__, "store": type(station.config.store)(keep_days=2)})
    station = Station(config, station.store)
    days.start_day(station, date(2026, 11, 1))
    station.scan("1Z999AA10123456784", device="t")  # an event of Nov 1, still in the outbox
    days.start_day(station, date(2026, 11, 2))
    days.start_day(station, date(2026, 11, 10))
    assert station.store.scalar("SELECT count(*) FROM events WHERE day = '2026-11-01'") == 1  # not delivered
    assert days.kept_days(station)[0] == "2026-11-01"
    station.store.db.execute("DELETE FROM outbox")  # what the server's acknowledgement does
    station.store.db.conn.commit()
    days.start_day(station, date(2026, 11, 11))
    assert station.store.scalar("SELECT count(*) FROM events WHERE day = '2026-11-01'") == 0
    assert days.kept_days(station) == ["2026-11-10", "2026-11-11"]
