"""Turning parcels into stops: one stop per address (or per few metres), split when a van can't take it.

A van stops once per doorstep, so parcels with the same address, or coordinates within
``stop_merge_m`` of each other, become one stop with one service time. Parcels only share a stop
when they share a delivery window and a locked van, so a stop never has to honour two windows or
ride in two vans.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import time

from station.model import Parcel, Van


@dataclass(frozen=True)
class Stop:
    parcels: tuple[Parcel, ...]
    lat: float
    lon: float
    window: tuple[time | None, time | None]
    locked_van: str | None

    @property
    def count(self) -> int:
        return len(self.parcels)

    @property
    def weight_kg(self) -> float:
        return sum(p.weight_kg for p in self.parcels)

    @property
    def tracking_ids(self) -> tuple[str, ...]:
        return tuple(p.tracking_id for p in self.parcels)


def _address_key(p: Parcel) -> str:
    return re.sub(r"[\W_]+", " ", f"{p.address} {p.postal_code}".lower()).strip()


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _merge_group(parcels: list[Parcel], merge_m: float) -> list[list[Parcel]]:
    """Cluster one window/lock group by address and by a grid of ``merge_m`` cells (single linkage)."""
    uf = _UnionFind(len(parcels))
    by_address: dict[str, int] = {}
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    cell_deg = max(merge_m, 0.1) / 111_320.0
    for i, p in enumerate(parcels):
        key = _address_key(p)
        if key and key in by_address:
            uf.union(i, by_address[key])
        by_address.setdefault(key, i)
        assert p.lat is not None and p.lon is not None
        cell = (int(p.lat // cell_deg), int(p.lon // cell_deg))
        grid[cell].append(i)
    if merge_m > 0:
        for (cy, cx), members in grid.items():
            for dy in (-1, 0, 1):
                for dx in (-2, -1, 0, 1, 2):  # a degree of longitude is shorter than one of latitude
                    for j in grid.get((cy + dy, cx + dx), ()):
                        for i in members:
                            if i < j and _metres(parcels[i], parcels[j]) <= merge_m:
                                uf.union(i, j)
    clusters: dict[int, list[Parcel]] = defaultdict(list)
    for i, p in enumerate(parcels):
        clusters[uf.find(i)].append(p)
    return list(clusters.values())


def _metres(a: Parcel, b: Parcel) -> float:
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    dy = (a.lat - b.lat) * 111_320.0
    dx = (a.lon - b.lon) * 111_320.0 * math.cos(math.radians(a.lat))
    return math.hypot(dx, dy)


def _split_to_fit(parcels: list[Parcel], max_count: int, max_kg: float | None) -> list[list[Parcel]]:
    """A stop bigger than the biggest van becomes several stops at the same place."""
    chunks: list[list[Parcel]] = [[]]
    kg = 0.0
    for p in parcels:
        full = len(chunks[-1]) >= max_count or (max_kg is not None and kg + p.weight_kg > max_kg)
        if chunks[-1] and full:
            chunks.append([])
            kg = 0.0
        chunks[-1].append(p)
        kg += p.weight_kg
    return chunks


def make_stops(
    parcels: tuple[Parcel, ...], vans: tuple[Van, ...], locked: dict[str, str], merge_m: float
) -> list[Stop]:
    """Group screened parcels (all with coordinates) into stops, in a stable order."""
    groups: dict[tuple[time | None, time | None, str | None], list[Parcel]] = defaultdict(list)
    for p in parcels:
        groups[(p.window_start, p.window_end, locked.get(p.tracking_id))].append(p)
    max_count = max(v.capacity for v in vans)
    kgs = [v.capacity_kg for v in vans]
    max_kg = None if any(k is None for k in kgs) else max(k for k in kgs if k is not None)
    stops: list[Stop] = []
    for (start, end, van), members in groups.items():
        for cluster in _merge_group(members, merge_m):
            for chunk in _split_to_fit(cluster, max_count, max_kg):
                lat = sum(p.lat for p in chunk if p.lat is not None) / len(chunk)
                lon = sum(p.lon for p in chunk if p.lon is not None) / len(chunk)
                stops.append(Stop(tuple(chunk), lat, lon, (start, end), van))
    stops.sort(key=lambda s: s.parcels[0].tracking_id)
    return stops
