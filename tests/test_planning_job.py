"""PlanningJob: the plan comes back from a worker process, progress flows, and stop keeps the best plan."""

from __future__ import annotations

import time

import pytest

from station.errors import PlanningError
from station.model import Hub
from station.planning import PlanningJob, PlanningProblem
from station.planning.synthetic import synthetic_day

pytestmark = pytest.mark.slow  # runs the planning solver in a worker process


def test_job_returns_a_plan_with_progress() -> None:
    hub, vans, parcels = synthetic_day(120, 3, seed=3)
    job = PlanningJob.start(PlanningProblem(hub, vans, parcels), time_limit_s=1.0)
    plan = job.result(timeout=60)
    assert job.done()
    assert len(plan.assignments()) + len(plan.unplanned) == len(parcels)
    points = job.progress()
    # Costs may rise when a stop left out early gets placed (km shown without penalties); time may not.
    assert points and all(b.elapsed_s >= a.elapsed_s for a, b in zip(points, points[1:], strict=False))
    assert points[-1].best_cost == pytest.approx(plan.cost, rel=1e-6)


def test_job_can_be_stopped_early_and_keeps_its_best_plan() -> None:
    hub, vans, parcels = synthetic_day(300, 5, seed=4)
    job = PlanningJob.start(PlanningProblem(hub, vans, parcels), time_limit_s=60.0)
    deadline = time.monotonic() + 30
    while not job.progress() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not job.done()
    started = time.monotonic()
    job.stop()
    plan = job.result(timeout=20)
    assert time.monotonic() - started < 10
    assert plan.seconds < 40
    assert len(plan.assignments()) + len(plan.unplanned) == len(parcels)


def test_job_failure_is_a_planning_error() -> None:
    job = PlanningJob.start(PlanningProblem(Hub("H", 52.0, 4.0), (), ()), time_limit_s=1.0)
    with pytest.raises(PlanningError, match="no vans"):
        job.result(timeout=60)
