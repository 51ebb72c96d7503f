"""The scan path through the core's public API: decisions, events, outbox, labels."""

from __future__ import annotations

import json
import sqlite3

from drivers.printers.fake_zpl import code128_data
from station.config import Config
from station.core import Station
from station.model import Outcome, Parcel
from tests.conftest import round_robin_plan


def plan_of(station: Station, tracking_id: str) -> tuple[str, int, int]:
    row = station.store.query("SELECT van_id, lane, stop FROM plan_parcels WHERE tracking_id = ?", (tracking_id,))[0]
    return row["van_id"], row["lane"], row["stop"]


def test_a_manifest_parcel_gets_its_lane_van_and_stop(planned: Station, day: list[Parcel]) -> None:
    parcel = day[5]
    decision = planned.scan(parcel.tracking_id)
    assert decision.outcome is Outcome.SORTED
    assert (decision.van, decision.lane, decision.stop) == plan_of(planned, parcel.tracking_id)
    assert decision.tracking_id == parcel.tracking_id
    assert decision.reason is None


def test_the_event_and_its_outbox_row_are_committed_before_the_decision_returns(
    planned: Station, day: list[Parcel], config: Config
) -> None:
    decision = planned.scan(day[0].tracking_id, device="terminal")
    # A second, independent connection sees both rows: they are committed, not just written.
    other = sqlite3.connect(config.database_path)
    event = other.execute(
        "SELECT kind, tracking_id, device, seq FROM events WHERE event_id = ?", [decision.event_id]
    ).fetchone()
    payload = json.loads(
        other.execute("SELECT payload FROM outbox WHERE event_id = ?", [decision.event_id]).fetchone()[0]
    )
    other.close()
    assert event == ("sorted", day[0].tracking_id, "terminal", 1)
    assert payload["event_id"] == decision.event_id
    assert payload["kind"] == "sorted" and payload["lane"] == decision.lane and payload["seq"] == 1
    assert payload["station_id"] == config.station_id
    assert isinstance(payload["clock_synced"], bool)


def test_a_second_scan_is_a_repeat_with_the_same_lane_and_is_not_counted_twice(
    planned: Station, day: list[Parcel]
) -> None:
    first = planned.scan(day[1].tracking_id)
    again = planned.scan(day[1].tracking_id)
    assert again.outcome is Outcome.REPEAT
    assert (again.lane, again.van, again.stop) == (first.lane, first.van, first.stop)
    assert again.reason and "already sorted" in again.reason
    assert planned.report().sorted == 1
    lane = next(lane for lane in planned.report().lanes if lane.lane == first.lane)
    assert lane.sorted == 1


def test_an_unknown_parcel_goes_to_the_exception_lane(planned: Station, config: Config) -> None:
    decision = planned.scan("1Z999AA10123456784")
    assert decision.outcome is Outcome.UNKNOWN
    assert decision.lane == config.exception_lane
    assert decision.tracking_id is None
    assert decision.reason and "unknown parcel" in decision.reason


def test_garbage_is_recorded_as_invalid_with_a_reason(planned: Station) -> None:
    for junk in (b"\xff\xfe\x00garbage", b"", "x" * 10_000):
        decision = planned.scan(junk)
        assert decision.outcome is Outcome.INVALID
        assert decision.reason
    assert planned.store.scalar("SELECT count(*) FROM events WHERE outcome = 'invalid'") == 3


def test_a_scan_before_any_plan_says_so(station: Station, day: list[Parcel]) -> None:
    station.replace_manifest(day, version="test")
    decision = station.scan(day[0].tracking_id)
    assert decision.outcome is Outcome.NO_PLAN
    assert decision.reason and "no plan" in decision.reason
    assert station.store.scalar("SELECT kind FROM events") == "arrived"


def test_a_parcel_the_plan_left_out_says_why(station: Station, day: list[Parcel], config: Config) -> None:
    station.replace_manifest(day, version="test")
    station.save_plan(round_robin_plan(config, day, leave_out={day[2].tracking_id: "no coordinates"}))
    decision = station.scan(day[2].tracking_id)
    assert decision.outcome is Outcome.NO_PLAN
    assert decision.lane == config.exception_lane
    assert decision.reason and "no coordinates" in decision.reason


def test_any_code_on_the_parcel_finds_it(planned: Station, day: list[Parcel]) -> None:
    parcel = next(p for p in day if p.codes)
    decision = planned.scan(parcel.codes[0])
    assert decision.outcome is Outcome.SORTED
    assert decision.tracking_id == parcel.tracking_id


def test_sequence_numbers_increase_by_one_per_event(planned: Station, day: list[Parcel]) -> None:
    for p in day[:5]:
        planned.scan(p.tracking_id)
    planned.scan("nonsense!")
    seqs = [r["seq"] for r in planned.store.query("SELECT seq FROM events ORDER BY seq")]
    assert seqs == [1, 2, 3, 4, 5, 6]


def test_a_sorted_parcel_queues_one_sort_label_and_a_repeat_none(planned: Station, day: list[Parcel]) -> None:
    planned.scan(day[3].tracking_id)
    planned.scan(day[3].tracking_id)
    planned.scan("unknown-code-1")
    jobs = planned.store.query("SELECT job, tracking_id, payload FROM print_jobs")
    assert [(j["job"], j["tracking_id"]) for j in jobs] == [("sort_label", day[3].tracking_id)]
    zpl = bytes(jobs[0]["payload"]).decode()
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert code128_data(zpl.encode()) == [day[3].tracking_id]  # the barcode, as printed


def test_the_report_counts_lanes_and_lists_parcels_not_yet_scanned(planned: Station, day: list[Parcel]) -> None:
    for p in day[:10]:
        planned.scan(p.tracking_id)
    report = planned.report()
    assert report.manifest == len(day) and report.planned == len(day) and report.sorted == 10
    assert sum(lane.sorted for lane in report.lanes) == 10
    assert sum(lane.planned for lane in report.lanes) == len(day)
    assert sorted(report.not_scanned) == sorted(p.tracking_id for p in day[10:])


def test_a_new_manifest_cancels_parcels_it_no_longer_has(planned: Station, day: list[Parcel]) -> None:
    summary = planned.replace_manifest(day[1:], version="v2")
    assert summary.removed == 1 and summary.added == 0
    decision = planned.scan(day[0].tracking_id)
    assert decision.outcome is Outcome.CANCELLED


def test_sorted_parcels_are_locked_to_their_van_for_replanning(planned: Station, day: list[Parcel]) -> None:
    d = planned.scan(day[4].tracking_id)
    assert planned.locked_vans() == {day[4].tracking_id: d.van}


def test_the_current_plan_round_trips_through_the_store(planned: Station, day: list[Parcel], config: Config) -> None:
    plan = planned.current_plan()
    assert plan is not None
    expected = round_robin_plan(config, day)
    assert {r.van_id: r.stops for r in plan.routes} == {r.van_id: r.stops for r in expected.routes}


def test_cancelled_parcels_no_longer_count_as_planned(planned: Station, day: list[Parcel]) -> None:
    planned.replace_manifest(day[1:], version="v2")
    report = planned.report()
    assert report.planned == len(day) - 1
    assert sum(lane.planned for lane in report.lanes) == len(day) - 1
