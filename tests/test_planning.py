"""plan_day and insert_parcels: capacity, nothing lost, locks, reasons for what cannot be planned."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import pytest

from station.errors import PlanningError
from station.model import Hub, Parcel, Plan, Van
from station.planning import PlanningProblem, PlanningSettings, insert_parcels, plan_day
from station.planning.synthetic import synthetic_day

pytestmark = pytest.mark.slow  # plans a generated day with the solver

HUB = Hub("Test hub", 52.37, 4.90)


def parcel(tid: str, dlat: float = 0.01, dlon: float = 0.01, **kw: object) -> Parcel:
    fields: dict[str, object] = dict(
        tracking_id=tid,
        recipient="R",
        address=f"{tid} Street",
        postal_code="1000AA",
        lat=HUB.lat + dlat,
        lon=HUB.lon + dlon,
        weight_kg=1.0,
    )
    fields.update(kw)
    return Parcel(**fields)  # type: ignore[arg-type]


def accounted(plan: Plan, parcels: tuple[Parcel, ...]) -> None:
    planned = [a.tracking_id for a in plan.assignments()]
    assert len(planned) == len(set(planned)), "a parcel is in two routes or twice in one"
    assert not set(planned) & set(plan.unplanned), "a parcel is both planned and unplanned"
    assert set(planned) | set(plan.unplanned) == {p.tracking_id for p in parcels}


@pytest.fixture(scope="module")
def day() -> PlanningProblem:
    hub, vans, parcels = synthetic_day(240, 4, seed=7)
    return PlanningProblem(hub, vans, parcels)


@pytest.fixture(scope="module")
def day_plan(day: PlanningProblem) -> Plan:
    return plan_day(day, time_limit_s=1.5)


def test_every_parcel_planned_or_explained(day: PlanningProblem, day_plan: Plan) -> None:
    accounted(day_plan, day.parcels)
    assert not day_plan.unplanned  # the synthetic fleet has 15 % spare room


def test_capacity_in_parcels_and_kg_respected(day: PlanningProblem, day_plan: Plan) -> None:
    vans = {v.id: v for v in day.vans}
    weight = {p.tracking_id: p.weight_kg for p in day.parcels}
    for route in day_plan.routes:
        count = sum(len(stop) for stop in route.stops)
        assert count == route.load <= vans[route.van_id].capacity
        kg = sum(weight[t] for stop in route.stops for t in stop)
        assert kg == pytest.approx(route.load_kg)
        capacity_kg = vans[route.van_id].capacity_kg
        assert capacity_kg is not None and kg <= capacity_kg
        assert route.lane == vans[route.van_id].lane


def test_routes_fit_the_shift_and_cost_adds_up(day: PlanningProblem, day_plan: Plan) -> None:
    for route in day_plan.routes:
        assert route.minutes <= 10 * 60  # synthetic shifts are 08:00-18:00
    assert day_plan.cost == pytest.approx(sum(r.km for r in day_plan.routes), abs=0.01)
    assert day_plan.cost > 0


def test_stop_numbers_follow_delivery_order(day_plan: Plan) -> None:
    route = next(r for r in day_plan.routes if r.stops)
    stops = {a.tracking_id: a.stop for a in day_plan.assignments() if a.van_id == route.van_id}
    for number, stop in enumerate(route.stops, start=1):
        assert {stops[t] for t in stop} == {number}


def test_same_address_is_one_stop() -> None:
    parcels = (parcel("A1", address="1 Main St"), parcel("A2", address="1 main st."), parcel("B", 0.02, 0.0))
    plan = plan_day(PlanningProblem(HUB, (Van("V1", 1, 10),), parcels), time_limit_s=0.5)
    (route,) = plan.routes
    assert sorted(map(sorted, route.stops)) == [["A1", "A2"], ["B"]]


def within_limits(plan: Plan, problem: PlanningProblem) -> None:
    """Every route keeps its van's parcels, kilograms and shift, whatever the search had time for."""
    vans = {v.id: v for v in problem.vans}
    weight = {p.tracking_id: p.weight_kg for p in problem.parcels}
    for route in plan.routes:
        van = vans[route.van_id]
        assert route.load == sum(len(s) for s in route.stops) <= van.capacity
        assert van.capacity_kg is None or sum(weight[t] for s in route.stops for t in s) <= van.capacity_kg + 1e-9
        shift_min = (van.shift_end.hour * 60 + van.shift_end.minute) - (
            van.shift_start.hour * 60 + van.shift_start.minute
        )
        assert route.minutes <= shift_min


# A time limit far too short for any search on any CPU: what must hold, holds anyway.
@pytest.mark.parametrize("time_limit_s", [0.0, 1.5])
def test_locked_parcels_keep_their_van(day: PlanningProblem, day_plan: Plan, time_limit_s: float) -> None:
    # Lock a handful of parcels to a van other than the one the free plan chose.
    others = [v.id for v in day.vans]
    chosen = {a.tracking_id: a.van_id for a in day_plan.assignments()}
    locked = {}
    for tid in list(chosen)[:12]:
        locked[tid] = next(v for v in others if v != chosen[tid])
    problem = replace(day, locked=locked)
    plan = plan_day(problem, time_limit_s=time_limit_s)
    accounted(plan, day.parcels)
    within_limits(plan, problem)
    got = {a.tracking_id: a.van_id for a in plan.assignments()}
    assert {tid: got.get(tid) for tid in locked} == locked
    assert not plan.notes


@pytest.mark.parametrize("time_limit_s", [0.0, 1.0])
def test_insert_parcels_keeps_locked_and_places_the_new(
    day: PlanningProblem, day_plan: Plan, time_limit_s: float
) -> None:
    chosen = {a.tracking_id: a.van_id for a in day_plan.assignments()}
    locked = dict(list(chosen.items())[:40])
    problem = replace(day, locked=locked)
    late = tuple(parcel(f"LATE{i}", 0.01 * i - 0.03, 0.005 * i) for i in range(6))
    placed: list[Plan] = []
    plan = insert_parcels(problem, day_plan, late, time_limit_s=time_limit_s, on_placed=placed.append)
    for p in (placed[0], plan):
        accounted(p, day.parcels + late)
        within_limits(p, replace(problem, parcels=day.parcels + late))
        got = {a.tracking_id: a.van_id for a in p.assignments()}
        assert all(got[tid] == van for tid, van in locked.items())
        assert all(x.tracking_id in got for x in late)  # the day has room (15 % spare) and time
    # The placement moves nothing that was planned: every earlier stop keeps its van and order.
    before = {a.tracking_id: (a.van_id, a.stop) for a in day_plan.assignments()}
    after = {a.tracking_id: a.van_id for a in placed[0].assignments()}
    assert all(after[tid] == van for tid, (van, _stop) in before.items())


def test_late_parcel_without_room_is_unplanned_with_that_reason() -> None:
    vans = (Van("V1", 1, 2),)
    plan = plan_day(PlanningProblem(HUB, vans, (parcel("A"), parcel("B", 0.02))), time_limit_s=0.5)
    late = (parcel("C", 0.01, 0.02), parcel("NOWHERE", lat=None, lon=None))
    problem = PlanningProblem(HUB, vans, (parcel("A"), parcel("B", 0.02)))
    got = insert_parcels(problem, plan, late, time_limit_s=0)
    accounted(got, problem.parcels + late)
    assert "no van has room" in got.unplanned["C"]
    assert "coordinates" in got.unplanned["NOWHERE"]


def test_late_parcel_joins_its_door_or_the_cheapest_place() -> None:
    vans = (Van("V1", 1, 10), Van("V2", 2, 10))
    parcels = (parcel("A", address="1 Main St"), parcel("B", -0.03, -0.03))
    problem = PlanningProblem(HUB, vans, parcels)
    plan = plan_day(problem, time_limit_s=0.5)
    late = (parcel("A2", address="1 main st."),)
    got = insert_parcels(problem, plan, late, time_limit_s=0)
    stop_of = {a.tracking_id: (a.van_id, a.stop) for a in got.assignments()}
    assert stop_of["A2"] == stop_of["A"]


def test_locks_over_a_van_keep_the_parcels_and_name_the_van() -> None:
    vans = (Van("V1", 1, 2), Van("V2", 2, 10))
    parcels = tuple(parcel(f"P{i}", 0.002 * i, 0.01) for i in range(5))
    locked = {"P0": "V1", "P1": "V1", "P2": "V1"}  # three parcels already loaded into a 2-place van
    for limit in (0.0, 0.5):
        plan = plan_day(PlanningProblem(HUB, vans, parcels, locked=locked), time_limit_s=limit)
        accounted(plan, parcels)
        got = {a.tracking_id: a.van_id for a in plan.assignments()}
        assert {t: got[t] for t in locked} == locked
        assert got["P3"] == got["P4"] == "V2"  # the others make room
        assert any("V1" in note and "over capacity" in note and "3 parcels" in note for note in plan.notes)


def test_bad_input_each_gets_a_reason_and_the_rest_is_planned() -> None:
    vans = (Van("V1", 1, 3, capacity_kg=20.0), Van("V0", 2, 0))
    good = tuple(parcel(f"OK{i}", 0.005 * i, 0.0) for i in range(1, 4))
    bad = (
        parcel("NOCOORD", lat=None, lon=None),
        parcel("FAR", dlat=2.0, dlon=0.0),
        parcel("HEAVY", weight_kg=50.0),
        parcel("LATEWIN", window_start=time(7, 0), window_end=time(7, 30)),
        parcel("BACKWARDS", window_start=time(12, 0), window_end=time(11, 0)),
        parcel("OVERFLOW", 0.03, 0.03),  # a fourth parcel for a 3-parcel van
    )
    plan = plan_day(PlanningProblem(HUB, vans, good + bad), time_limit_s=0.5)
    accounted(plan, good + bad)
    why = plan.unplanned
    assert set(why) == {p.tracking_id for p in bad}
    assert "coordinates" in why["NOCOORD"]
    assert "km from hub" in why["FAR"]
    assert "over every van's capacity" in why["HEAVY"]
    assert "time window cannot be met" in why["LATEWIN"]
    assert "ends before it starts" in why["BACKWARDS"]
    assert "vans full" in why["OVERFLOW"] and "van V0" in why["OVERFLOW"]


def test_lock_to_unknown_van_is_explained() -> None:
    parcels = (parcel("P1"), parcel("P2", 0.02))
    plan = plan_day(PlanningProblem(HUB, (Van("V1", 1, 5),), parcels, locked={"P2": "GHOST"}), time_limit_s=0.5)
    assert "GHOST" in plan.unplanned["P2"]
    assert [a.tracking_id for a in plan.assignments()] == ["P1"]


def test_no_usable_van_is_a_planning_error() -> None:
    with pytest.raises(PlanningError, match="no vans"):
        plan_day(PlanningProblem(HUB, (), (parcel("P1"),)), time_limit_s=0.5)
    with pytest.raises(PlanningError, match="V0"):
        plan_day(PlanningProblem(HUB, (Van("V0", 1, 0),), (parcel("P1"),)), time_limit_s=0.5)


def test_windows_are_kept() -> None:
    windows = {"W1": (time(14, 0), time(15, 0)), "W2": (time(9, 0), time(10, 0))}
    parcels = tuple(
        parcel(t, 0.01 * i, 0.01, window_start=a, window_end=b)
        for i, (t, (a, b)) in enumerate(windows.items(), start=1)
    )
    parcels += (parcel("FREE", -0.01, 0.0),)
    settings = PlanningSettings(speed_kmh=30)
    plan = plan_day(PlanningProblem(HUB, (Van("V1", 1, 10),), parcels, settings=settings), time_limit_s=0.5)
    order = [t for stop in plan.routes[0].stops for t in stop]
    assert order.index("W2") < order.index("W1")
    assert not plan.unplanned


def test_a_small_day_stops_when_it_stops_improving() -> None:
    # The limit is far beyond what six parcels need on any CPU: the search ends by itself.
    parcels = tuple(parcel(f"S{i}", 0.004 * i, 0.003 * (i % 3)) for i in range(6))
    points: list[float] = []
    plan = plan_day(
        PlanningProblem(HUB, (Van("V1", 1, 10), Van("V2", 2, 10)), parcels),
        time_limit_s=600,
        on_progress=lambda p: points.append(p.best_cost),
    )
    accounted(plan, parcels)
    assert plan.seconds < 600
    assert points and points[-1] == pytest.approx(plan.cost, abs=0.01)
