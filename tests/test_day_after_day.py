"""Three sorting days in a row on one station, with an injected clock (issue 12's scripted test).

Day 1: import, plan, sort everything, load most, close the vans twice-CLOSE style.
Day 2: a manifest for day 1 and a truncated one are refused; the day starts clean with the
parcels left over from day 1; a carried-over parcel is SORTED again; a handheld's van
binding survives a restart. Day 3: the binding is gone with the day; days 1 and 2 are kept.
Every figure of each day's report is checked.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from station import days
from station.barcodes import station_code
from station.clock import FixedClock
from station.config import Config
from station.core import Station
from station.dayclose import DayClose, day_close
from station.demo_day import generate_day
from station.dock import close_van
from station.errors import ManifestError
from station.model import Outcome, Parcel, Role
from tests.conftest import round_robin_plan

D1, D2, D3 = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)


def cmd(name: str) -> str:
    return station_code("command", name)


def check_figures(
    report: DayClose, plan: dict[str, str], sorted_: set[str], loaded: set[str], closed: set[str]
) -> None:
    assert report.manifest == len(plan) and report.planned == len(plan) and report.unplanned == 0
    assert report.sorted == len(sorted_) and report.loaded == len(loaded)
    assert report.cancelled_in_lanes == [] and report.not_in_manifest == []
    assert sorted(report.not_scanned) == sorted(t for t in plan if t not in sorted_ | loaded)
    for v in report.vans:
        mine = {t for t, van in plan.items() if van == v.van}
        assert v.planned == len(mine), v
        assert v.sorted == len(mine & sorted_), v
        assert v.loaded == len(mine & loaded), v
        assert v.missing == len(mine - sorted_ - loaded), v
        assert v.not_loaded == len(mine - loaded), v
        assert v.misloads == 0, v
        assert v.closed == (v.van in closed), v
        assert v.departed == (len(mine & loaded) if v.van in closed else 0), v


def test_three_days_in_a_row(config: Config) -> None:
    config = Config(**{**config.__dict__, "timezone": "Europe/Paris"})
    clock = FixedClock(datetime(2026, 11, 30, 5, 0, tzinfo=UTC))
    station = Station.open(config, clock=clock)

    def import_today(parcels: list[Parcel], *, force: bool = False) -> days.DayImport:
        today = days.hub_today(config, clock.now())
        return days.import_day(station, parcels, day=today, version=f"v-{today}", force=force)

    def plan_of(parcels: list[Parcel]) -> dict[str, str]:
        station.save_plan(round_robin_plan(config, parcels))
        plan = station.current_plan()
        assert plan is not None
        return {a.tracking_id: a.van_id for a in plan.assignments()}

    # ---- day 1 -------------------------------------------------------------------------
    day1 = generate_day(config.hub, parcels=36, seed=11)
    done = import_today(day1)
    assert done.preview.new_day and done.previous_day is None and days.current_day(station) == D1
    plan1 = plan_of(day1)
    for p in day1:
        assert station.scan(p.tracking_id, device="sorter").outcome is Outcome.SORTED
    left_over = day1[30:]  # six parcels never loaded: they come back tomorrow
    loaded1 = {p.tracking_id for p in day1[:30]}
    for tid in loaded1:
        d = station.scan(tid, device="bay", role=f"load:{plan1[tid]}")
        assert d.outcome is Outcome.LOADED and d.van == plan1[tid]
    used = sorted(set(plan1.values()))
    for van in used:
        assert station.scan(station_code("van", van), device=f"bay-{van}").outcome is Outcome.COMMAND
        first = station.scan(cmd("CLOSE"), device=f"bay-{van}")
        assert first.detail["close_pending"] == van
        clock.at += timedelta(seconds=3)
        assert "closed" in (station.scan(cmd("CLOSE"), device=f"bay-{van}").reason or "")
    report1 = day_close(station)
    assert report1.day == "2026-11-30"
    check_figures(report1, plan1, set(plan1), loaded1, set(used))
    payload_days = {json.loads(r["payload"])["day"] for r in station.store.query("SELECT payload FROM outbox")}
    assert payload_days == {"2026-11-30"}

    # ---- day 2 (05:30 UTC is 06:30 at the hub) -----------------------------------------
    clock.at = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    day2 = left_over + generate_day(config.hub, parcels=30, seed=12)
    done = import_today(day2)
    assert done.previous_day == D1 and done.summary.removed == 0 and done.summary.pull_from_lanes == ()
    with pytest.raises(ManifestError, match="for 2026-11-30, but the station already works on 2026-12-01"):
        days.import_day(station, day1, day=D1, version="late")  # yesterday's file, by mistake
    with pytest.raises(ManifestError, match=r"would cancel 26 of the day's 36 open parcels"):
        import_today(day2[:10])  # a truncated file
    assert station.store.scalar("SELECT count(*) FROM parcels WHERE cancelled = 1") == 0
    assert station.store.scalar("SELECT count(*) FROM van_state") == 0  # every van open
    plan2 = plan_of(day2)
    carried = left_over[0].tracking_id
    d = station.scan(carried, device="sorter")
    assert d.outcome is Outcome.SORTED and d.van == plan2[carried]  # sorted again, into today's plan
    # A handheld bound to a van keeps its binding through a restart.
    van = plan2[day2[1].tracking_id]
    assert station.scan(station_code("van", van), device="bay-3").outcome is Outcome.COMMAND
    station.close()
    station = Station.open(config, clock=clock)
    assert station.device_roles() == {"bay-3": Role.load(van)}
    for p in day2:
        station.scan(p.tracking_id, device="sorter")
    d = station.scan(day2[1].tracking_id, device="bay-3")  # no role given: the binding's
    assert d.outcome is Outcome.LOADED and d.van == van
    loaded2 = {day2[1].tracking_id}
    for p in day2[2:20]:
        assert station.scan(p.tracking_id, device="bay", role=f"load:{plan2[p.tracking_id]}").outcome is Outcome.LOADED
        loaded2.add(p.tracking_id)
    close_van(station, van)  # the lead's command: one step
    report2 = day_close(station)
    assert report2.day == "2026-12-01"
    check_figures(report2, plan2, set(plan2), loaded2, {van})

    # ---- day 3 -------------------------------------------------------------------------
    clock.at = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    day3 = generate_day(config.hub, parcels=20, seed=13)
    assert import_today(day3).previous_day == D2
    assert station.device_roles() == {}  # the binding ended with its day
    plan3 = plan_of(day3)
    sorted3 = {p.tracking_id for p in day3[:5]}
    for tid in sorted3:
        assert station.scan(tid, device="sorter").outcome is Outcome.SORTED
    check_figures(day_close(station), plan3, sorted3, set(), set())

    # Yesterday and the day before are kept, as they were when the next day started.
    assert days.kept_days(station) == ["2026-11-30", "2026-12-01", "2026-12-02"]
    for day, report in ((D1, report1), (D2, report2)):
        kept = days.kept_report(station, day)
        assert kept is not None
        assert {k: kept[k] for k in ("day", "manifest", "planned", "sorted", "loaded")} == {
            k: report.to_json()[k] for k in ("day", "manifest", "planned", "sorted", "loaded")
        }
        assert kept["vans"] == report.to_json()["vans"]
    by_day = dict(station.store.db.execute("SELECT day, count(*) FROM events GROUP BY day").fetchall())
    assert set(by_day) == {"2026-11-30", "2026-12-01", "2026-12-02"}
    payload_days = {json.loads(r["payload"])["day"] for r in station.store.query("SELECT payload FROM outbox")}
    assert payload_days == {"2026-11-30", "2026-12-01", "2026-12-02"}
    station.close()
