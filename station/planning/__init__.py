"""Planning the day: which van (and so which lane) takes each parcel, and in what stop order.

The public interface the station calls. The layout of the package, one job per module:

- ``problem``        settings, the day's problem and progress points (the inputs)
- ``screening``      parcels and vans that cannot be planned, with the reason
- ``stops``          parcels to stops (same address or within a few metres)
- ``matrix``/``geo`` travel distances and times (haversine estimate or an OSRM export)
- ``day``            the hub's day to the solver core and back to a Plan; insertion of late parcels
- ``instance``       the solver core's matrix-based instance, shared with bench/routing.py
- ``search``         which engine and which decomposition solves an instance
- ``ortools_solver`` the OR-Tools model; ``decompose`` sectors on two cores; ``race`` one whole
                     model against the sectors (up to 550 stops); ``pyvrp_solver`` the optional
                     PyVRP backend
- ``synthetic``      a seeded synthetic hub day for the demo, the tests and the benchmark
- ``job``            running a plan in a separate process so the screen never freezes
"""

from __future__ import annotations

from station.planning.day import insert_parcels, plan_day
from station.planning.job import PlanningJob
from station.planning.problem import PlanningProblem, PlanningSettings, PlanProgress

__all__ = [
    "PlanProgress",
    "PlanningJob",
    "PlanningProblem",
    "PlanningSettings",
    "insert_parcels",
    "plan_day",
]
