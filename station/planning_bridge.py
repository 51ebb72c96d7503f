"""From the station's day to the planner and back: build the problem, keep the plan.

Owns the bridge between the store (manifest, sorted parcels, the config's vans) and
``station.planning``. Imports the planner only when a plan is actually made, so the CLI's
other commands start fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from station.core import Station
from station.errors import PlanningError
from station.model import Plan

if TYPE_CHECKING:
    from station.planning import PlanningProblem, PlanProgress


def problem_for(station: Station) -> PlanningProblem:
    from station.planning import PlanningProblem, PlanningSettings

    cfg = station.config.planning
    settings = PlanningSettings(
        speed_kmh=cfg.speed_kmh,
        detour_factor=cfg.detour_factor,
        service_per_stop_s=cfg.service_per_stop_s,
        service_per_parcel_s=cfg.service_per_parcel_s,
        matrix_file=str(cfg.matrix_file) if cfg.matrix_file else None,
        backend=cfg.backend,
    )
    return PlanningProblem(
        hub=station.config.hub,
        vans=station.config.vans,
        parcels=tuple(station.parcels()),
        settings=settings,
        locked=station.locked_vans(),
        previous=station.current_plan(),
    )


def plan_and_save(
    station: Station, *, time_limit_s: float | None = None, on_progress: Callable[[PlanProgress], None] | None = None
) -> Plan:
    """Plan the day's manifest and make it the active plan (in this process)."""
    from station.planning import plan_day

    problem = problem_for(station)
    if not problem.parcels:
        raise PlanningError("no manifest yet: import the day's manifest first")
    plan = plan_day(problem, time_limit_s=time_limit_s or station.config.planning.time_limit_s, on_progress=on_progress)
    station.save_plan(plan)
    return plan


def plan_in_worker(
    station: Station, *, time_limit_s: float | None = None, on_progress: Callable[[PlanProgress], None] | None = None
) -> Plan:
    """Like :func:`plan_and_save`, with the search in a separate process.

    The station process stays small and responsive (OR-Tools holds the GIL while it
    searches, and its memory goes away with the worker).
    """
    import time

    from station.planning import PlanningJob

    problem = problem_for(station)
    if not problem.parcels:
        raise PlanningError("no manifest yet: import the day's manifest first")
    job = PlanningJob.start(problem, time_limit_s=time_limit_s or station.config.planning.time_limit_s)
    seen = 0
    while not job.done():
        time.sleep(0.1)
        points = job.progress()
        if on_progress is not None:
            for point in points[seen:]:
                on_progress(point)
        seen = len(points)
    plan = job.result()
    station.save_plan(plan)
    return plan


def merge_late_parcels(station: Station, added_ids: tuple[str, ...], *, time_limit_s: float = 5.0) -> Plan | None:
    """Insert parcels a new manifest version added into the active plan.

    Parcels already sorted or loaded keep their van (``locked``); returns the new plan, or
    None when there is no plan yet (the next ``plan`` takes the new parcels anyway).
    """
    from station.planning import insert_parcels

    previous = station.current_plan()
    if previous is None or not added_ids:
        return None
    problem = problem_for(station)
    wanted = set(added_ids)
    new = [p for p in problem.parcels if p.tracking_id in wanted]
    # The placement (milliseconds) is the active plan at once, so a late parcel scanned meanwhile
    # already has its van; the search's better plan replaces it when done.
    plan = insert_parcels(problem, previous, new, time_limit_s=time_limit_s, on_placed=station.save_plan)
    station.save_plan(plan)
    return plan
