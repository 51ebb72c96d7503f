"""Travel between the hub and the stops: metres and seconds, as integer matrices.

By default a great-circle distance times ``detour_factor`` at ``speed_kmh``. When the hub has a
road matrix (``PlanningSettings.matrix_file``, an OSRM ``/table`` JSON export), its figures replace
the estimate for every pair of points it covers; points it does not cover (a new address) keep the
estimate, and that is logged, so a stale export degrades the plan rather than stopping it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from station.errors import PlanningError
from station.planning.geo import haversine_matrix_km, project_km
from station.planning.instance import IntMatrix
from station.planning.problem import PlanningSettings

log = logging.getLogger(__name__)

# A matrix point counts as the same place as a stop within this distance.
SNAP_M = 50.0


@dataclass(frozen=True)
class RoadMatrix:
    """A loaded matrix file: point coordinates (lat, lon), metres and seconds between them."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    metres: NDArray[np.float64]
    seconds: NDArray[np.float64]


def load_matrix_file(path: str) -> RoadMatrix:
    """Read an OSRM ``/table`` response saved as JSON (``annotations=distance,duration``).

    Needs ``sources`` (each with ``location`` = [lon, lat], OSRM's order), ``distances`` in metres
    and ``durations`` in seconds, square, in the order of ``sources``.
    """
    try:
        data = json.loads(Path(path).read_text())
        points = data["sources"]
        lon = np.array([float(p["location"][0]) for p in points])
        lat = np.array([float(p["location"][1]) for p in points])
        metres = np.array(data["distances"], dtype=np.float64)
        seconds = np.array(data["durations"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise PlanningError(f"travel matrix file {path} could not be read: {exc}") from exc
    n = len(points)
    if metres.shape != (n, n) or seconds.shape != (n, n):
        raise PlanningError(f"travel matrix file {path}: distances/durations are not {n} x {n}")
    return RoadMatrix(lat, lon, metres, seconds)


def travel_matrices(
    lat: NDArray[np.float64], lon: NDArray[np.float64], settings: PlanningSettings
) -> tuple[IntMatrix, IntMatrix]:
    """Metres and seconds between all points (index 0 is the hub)."""
    km = haversine_matrix_km(lat, lon) * settings.detour_factor
    metres = np.rint(km * 1000)
    seconds = np.rint(km * 3600 / settings.speed_kmh)
    del km
    if settings.matrix_file:
        road = load_matrix_file(settings.matrix_file)
        _overlay(metres, seconds, lat, lon, road)
    return metres.astype(np.int64), seconds.astype(np.int64)


def _overlay(
    metres: NDArray[np.float64],
    seconds: NDArray[np.float64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    road: RoadMatrix,
) -> None:
    lat0, lon0 = float(lat[0]), float(lon[0])
    ours = project_km(lat, lon, lat0, lon0)
    theirs = project_km(road.lat, road.lon, lat0, lon0)
    match = np.full(len(lat), -1)
    for i, (x, y) in enumerate(ours):
        d = np.hypot(theirs[:, 0] - x, theirs[:, 1] - y)
        j = int(np.argmin(d))
        if d[j] * 1000 <= SNAP_M:
            match[i] = j
    covered = np.flatnonzero(match >= 0)
    missing = len(lat) - len(covered)
    if missing:
        log.warning(
            "travel matrix covers %d of %d points; the rest use the straight-line estimate", len(covered), len(lat)
        )
    idx = match[covered]
    metres[np.ix_(covered, covered)] = road.metres[np.ix_(idx, idx)]
    seconds[np.ix_(covered, covered)] = road.seconds[np.ix_(idx, idx)]
    np.fill_diagonal(metres, 0)
    np.fill_diagonal(seconds, 0)


def speed_check(settings: PlanningSettings) -> None:
    if not (settings.speed_kmh > 0 and math.isfinite(settings.speed_kmh)):
        raise PlanningError(f"planning speed must be positive, got {settings.speed_kmh} km/h")
