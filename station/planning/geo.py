"""Great-circle distances and a local planar projection (for cutting a hub's area into sectors)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_matrix_km(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    """All pairwise great-circle distances; float32 inside to keep a 2,000-point day small."""
    la, lo = np.radians(lat).astype(np.float32), np.radians(lon).astype(np.float32)
    dp = la[:, None] - la[None, :]
    dl = lo[:, None] - lo[None, :]
    a = np.sin(dp / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dl / 2) ** 2
    np.clip(a, 0.0, 1.0, out=a)
    out: NDArray[np.float64] = (2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))).astype(np.float64)
    return out


def project_km(lat: NDArray[np.float64], lon: NDArray[np.float64], lat0: float, lon0: float) -> NDArray[np.float64]:
    """Equirectangular x/y in km around (lat0, lon0): exact enough over a hub's 80 km."""
    x = np.radians(lon - lon0) * math.cos(math.radians(lat0)) * EARTH_RADIUS_KM
    y = np.radians(lat - lat0) * EARTH_RADIUS_KM
    return np.stack([x, y], axis=1)
