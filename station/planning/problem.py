"""What the rest of the station hands the planner: settings, the day's problem, progress points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from station.model import Hub, Parcel, Plan, Van


@dataclass(frozen=True)
class PlanningSettings:
    """How the hub's travel and stops are modelled; defaults suit a city hub.

    ``matrix_file`` is an optional OSRM ``/table`` JSON export (see docs/planning.md) whose
    road distances and durations replace the haversine estimate where its points match.
    ``backend`` picks the search engine: ``"auto"`` (the best the station has: PyVRP on both
    cores, locks and limits checked and repaired), ``"pyvrp"`` (one PyVRP search) or ``"ortools"``.
    """

    speed_kmh: float = 25.0
    detour_factor: float = 1.3
    service_per_stop_s: int = 120
    service_per_parcel_s: int = 20
    matrix_file: str | None = None
    stop_merge_m: float = 15.0
    max_area_km: float = 80.0
    backend: str = "auto"
    workers: int = 2


@dataclass(frozen=True)
class PlanningProblem:
    """One day at one hub. ``locked`` maps tracking id to van id for parcels already sorted or loaded."""

    hub: Hub
    vans: tuple[Van, ...]
    parcels: tuple[Parcel, ...]
    settings: PlanningSettings = field(default_factory=PlanningSettings)
    locked: Mapping[str, str] = field(default_factory=dict)
    previous: Plan | None = None


@dataclass(frozen=True)
class PlanProgress:
    """One point of the best-cost-over-time curve the dock screen draws.

    ``best_cost`` is km plus the fixed cost of the vans used, without the penalty for stops left
    out; so it can rise when the search places a stop that an earlier plan had left out.
    """

    elapsed_s: float
    best_cost: float
