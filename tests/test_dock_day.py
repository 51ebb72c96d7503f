"""A scripted day at the dock: the report's numbers must match what the script did, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station.barcodes import station_code
from station.cli import main
from station.config import Config, example_config_text, load_config
from station.core import Station
from station.dayclose import day_close
from station.demo_day import generate_day, make_ups
from station.dock import open_exceptions, resolve_exception
from station.manifest import write_csv
from station.model import Outcome, Parcel


def cmd(name: str) -> str:
    return station_code("command", name)


@pytest.fixture
def config(data_dir: Path) -> Config:
    """The example config with small vans, so 48 parcels need several of them."""
    data_dir.mkdir(parents=True)
    (data_dir / "station.toml").write_text(example_config_text().replace("capacity = 70", "capacity = 12"))
    return load_config(None, data_dir)


@pytest.fixture
def dock_day(tmp_path: Path, config: Config) -> tuple[Station, list[Parcel], Path]:
    parcels = generate_day(config.hub, parcels=48, seed=21)
    manifest = tmp_path / "v1.csv"
    write_csv(parcels, manifest)
    station = Station.open(config)
    station.import_manifest(manifest)
    from station.planning_bridge import plan_and_save

    plan_and_save(station, time_limit_s=1)
    return station, parcels, tmp_path


def planned_van(station: Station, tracking_id: str) -> str:
    return str(station.store.scalar("SELECT van_id FROM plan_parcels WHERE tracking_id = ?", (tracking_id,)))


@pytest.mark.slow  # a whole day of scans
def test_a_scripted_day(dock_day: tuple[Station, list[Parcel], Path], config: Config) -> None:
    station, parcels, tmp = dock_day
    plan = {p.tracking_id: planned_van(station, p.tracking_id) for p in parcels}
    assert all(plan.values()), "the planner placed every parcel"
    missing = parcels[0]  # never scanned all day

    # Sort everything but the missing parcel; one parcel is scanned twice.
    for p in parcels[1:]:
        assert station.scan(p.tracking_id, device="terminal").outcome is Outcome.SORTED
    assert station.scan(parcels[1].tracking_id, device="terminal").outcome is Outcome.REPEAT
    unknown = make_ups(__import__("random").Random(1))
    assert station.scan(unknown, device="terminal").outcome is Outcome.UNKNOWN

    # Two deliberate mis-loads: a parcel offered at another van's bay.
    vans_used = sorted(set(plan.values()))
    wrong_bay_counts: dict[str, int] = {}
    for p in parcels[1:3]:
        wrong = next(v for v in vans_used if v != plan[p.tracking_id])
        decision = station.scan(p.tracking_id, device=f"bay-{wrong}", role=f"load:{wrong}")
        assert decision.outcome is Outcome.MISLOAD
        assert decision.right_van == plan[p.tracking_id]
        assert decision.right_lane == config.van(plan[p.tracking_id]).lane  # type: ignore[union-attr]
        assert decision.reason and plan[p.tracking_id] in decision.reason
        wrong_bay_counts[wrong] = wrong_bay_counts.get(wrong, 0) + 1

    # A late manifest version: two parcels added, one cancelled (not yet loaded).
    cancelled = parcels[5]
    added = generate_day(config.hub, parcels=2, seed=99)
    v2 = [p for p in parcels if p is not cancelled] + added
    write_csv(v2, tmp / "v2.csv")
    assert main(["import", str(tmp / "v2.csv"), "--data-dir", str(config.data_dir)]) == 0
    for p in added:
        plan[p.tracking_id] = planned_van(station, p.tracking_id)
        assert plan[p.tracking_id] != "None", "late parcels are inserted into the plan"
    for p in parcels[1:]:
        if p is not cancelled:
            assert planned_van(station, p.tracking_id) == plan[p.tracking_id], "sorted parcels keep their van"
    del plan[cancelled.tracking_id]
    assert station.scan(cancelled.tracking_id, device="terminal").outcome is Outcome.CANCELLED
    for p in added:
        assert station.scan(p.tracking_id, device="terminal").outcome is Outcome.SORTED

    # Load every planned parcel but the missing one into its van, counting down.
    vans_used = sorted(set(plan.values()))  # late parcels may have opened another van
    to_load = [tid for tid in plan if tid != missing.tracking_id]
    for van in vans_used:
        mine = [tid for tid in to_load if plan[tid] == van]
        for i, tid in enumerate(mine):
            d = station.scan(tid, device=f"bay-{van}", role=f"load:{van}")
            assert d.outcome is Outcome.LOADED
            expected_left = len([t for t in plan if plan[t] == van]) - (i + 1)
            assert d.remaining == expected_left
    assert station.scan(to_load[0], device="bay", role=f"load:{plan[to_load[0]]}").outcome is Outcome.REPEAT

    # Close every van from its bay scanner: the first CLOSE says what is not loaded, the second closes.
    for van in vans_used:
        assert station.scan(station_code("van", van), device=f"bay-{van}").outcome is Outcome.COMMAND
        d = station.scan(cmd("CLOSE"), device=f"bay-{van}", role=f"load:{van}")
        assert d.detail["close_pending"] == van and "scan CLOSE again" in (d.reason or "")
        d = station.scan(cmd("CLOSE"), device=f"bay-{van}", role=f"load:{van}")
        assert d.outcome is Outcome.COMMAND and d.detail["ok"] is True and "closed" in (d.reason or "")

    report = day_close(station)
    by_van = {v.van: v for v in report.vans}
    for van in vans_used:
        planned_here = [t for t in plan if plan[t] == van]
        figures = by_van[van]
        assert figures.planned == len(planned_here)
        assert figures.sorted == len([t for t in planned_here if t != missing.tracking_id])
        assert figures.loaded == len([t for t in planned_here if t != missing.tracking_id])
        assert figures.missing == (1 if missing.tracking_id in planned_here else 0)
        assert figures.not_loaded == figures.missing
        assert figures.misloads == wrong_bay_counts.get(van, 0)
        assert figures.departed == figures.loaded and figures.closed
    assert report.not_in_manifest == [unknown]
    assert report.not_scanned == [missing.tracking_id]
    assert sum(v.planned for v in report.vans) == len(parcels) - 1 + 2
    assert report.changes and report.changes[0]["cancelled"] == [cancelled.tracking_id]
    departed = station.store.scalar("SELECT count(*) FROM events WHERE kind = 'departed'")
    assert departed == len(to_load)
    # Every step is an event in the outbox, for the central server.
    assert station.store.scalar("SELECT count(*) FROM outbox") == station.store.scalar("SELECT count(*) FROM events")
    csv_text = report.to_csv()
    assert csv_text.count("\n") == 1 + len(plan)


def test_command_codes_apply_to_the_parcel_just_scanned(
    dock_day: tuple[Station, list[Parcel], Path], config: Config
) -> None:
    station, parcels, _ = dock_day
    p = parcels[3]
    assert station.scan(cmd("DAMAGED"), device="t").detail["ok"] is False  # nothing scanned yet
    station.scan(p.tracking_id, device="t")
    d = station.scan(cmd("DAMAGED"), device="t")
    assert d.outcome is Outcome.EXCEPTION and d.reason == "damaged" and d.tracking_id == p.tracking_id
    assert d.lane == config.exception_lane
    assert [x.tracking_id for x in open_exceptions(station)] == [p.tracking_id]

    resolve_exception(station, p.tracking_id, "reassign", van_id="V07")
    assert planned_van(station, p.tracking_id) == "V07"
    assert open_exceptions(station) == []
    assert station.scan(p.tracking_id, device="bay", role="load:V07").outcome is Outcome.LOADED


def test_undo_takes_back_the_last_scan_without_deleting_it(dock_day: tuple[Station, list[Parcel], Path]) -> None:
    station, parcels, _ = dock_day
    p = parcels[4]
    station.scan(p.tracking_id, device="t")
    assert station.report().sorted == 1
    d = station.scan(cmd("UNDO"), device="t")
    assert d.outcome is Outcome.COMMAND and d.detail["ok"] is True
    assert station.report().sorted == 0
    assert station.store.scalar("SELECT count(*) FROM events WHERE undone_by IS NOT NULL") == 1
    assert station.scan(cmd("UNDO"), device="t").detail["ok"] is False  # one step, not a chain
    assert station.scan(p.tracking_id, device="t").outcome is Outcome.SORTED  # not a repeat any more


def test_reprint_queues_the_label_again(dock_day: tuple[Station, list[Parcel], Path]) -> None:
    station, parcels, _ = dock_day
    station.scan(parcels[6].tracking_id, device="t")
    d = station.scan(cmd("REPRINT"), device="t")
    assert d.outcome is Outcome.COMMAND and d.reason == "sort label printed again"
    assert station.store.scalar("SELECT count(*) FROM print_jobs WHERE tracking_id = ?", (parcels[6].tracking_id,)) == 2


def test_scan_json_covers_every_mode(
    dock_day: tuple[Station, list[Parcel], Path], config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    station, parcels, _ = dock_day
    station.close()
    d = str(config.data_dir)
    p = parcels[7]
    right = planned_van(Station.open(config), p.tracking_id)
    wrong = next(v.id for v in config.vans if v.id != right)

    def scan(*args: str) -> dict:  # type: ignore[type-arg]
        assert main(["scan", "--json", *args, "--data-dir", d]) == 0
        return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]

    assert scan("--role", f"load:{wrong}", p.tracking_id)["outcome"] == "misload"
    out = scan("--role", f"load:{right}", p.tracking_id)
    assert out["outcome"] == "loaded" and out["van"] == right and out["remaining"] >= 0
    out = scan(station_code("van", wrong))
    assert out["outcome"] == "command" and wrong in out["reason"]
    # The CLI's device is now bound to that van, as a handheld would be: its next scan loads there.
    assert scan(parcels[8].tracking_id)["outcome"] == "misload"
    assert scan("--role", "sort", parcels[8].tracking_id)["outcome"] == "sorted"
    out = scan(cmd("REFUSED"))
    assert out["outcome"] == "exception" and out["reason"] == "refused"
    assert out["tracking_id"] == parcels[8].tracking_id


def test_print_commands_lists_every_command(config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["print-commands", "--json", "--data-dir", str(config.data_dir)]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["command"] for r in rows}
    assert {"damaged", "unreadable", "refused", "nolabel", "undo", "reprint", "close", "van"} <= names
    assert all(r["code"].startswith("$ST:") and r["meaning"] for r in rows)
    assert len([r for r in rows if r["command"] == "van"]) == len(config.vans)


def test_a_van_that_left_refuses_more_parcels(dock_day: tuple[Station, list[Parcel], Path]) -> None:
    station, parcels, _ = dock_day
    p = parcels[9]
    van = planned_van(station, p.tracking_id)
    from station.dock import close_van

    close_van(station, van)
    d = station.scan(p.tracking_id, device="bay", role=f"load:{van}")
    assert d.outcome is Outcome.MISLOAD and "closed" in (d.reason or "")


def test_an_unknown_role_is_refused(station: Station) -> None:
    from station.errors import StationError

    with pytest.raises(StationError, match="load:VAN"):
        station.scan("X", role="load:NOPE")
