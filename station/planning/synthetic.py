"""A synthetic hub day (seeded): the demo's, the tests' and the city benchmark's stand-in manifest.

Parcels cluster around a few neighbourhoods of a city of about 12 km radius, some share a doorstep,
some carry a delivery window; vans carry about 120 parcels each on an 08:00-18:00 shift.
"""

from __future__ import annotations

import math
import random
from datetime import time

from station.model import Hub, Parcel, Van

HUB = Hub("Demo hub", 52.37, 4.90)


def synthetic_day(
    parcels: int, vans: int, *, seed: int = 1, windows: float = 0.1, hub: Hub = HUB
) -> tuple[Hub, tuple[Van, ...], tuple[Parcel, ...]]:
    rng = random.Random(seed)
    cap = max(1, math.ceil(parcels / vans * 1.15))
    fleet = tuple(Van(f"V{k + 1:02d}", lane=k + 1, capacity=cap, capacity_kg=cap * 6.0) for k in range(vans))
    centres = [(rng.gauss(0, 5), rng.gauss(0, 5)) for _ in range(12)]
    out: list[Parcel] = []
    while len(out) < parcels:
        cx, cy = rng.choice(centres)
        x, y = rng.gauss(cx, 1.5), rng.gauss(cy, 1.5)
        lat = hub.lat + y / 111.32
        lon = hub.lon + x / (111.32 * math.cos(math.radians(hub.lat)))
        house = len(out)
        for _ in range(1 if rng.random() < 0.85 else rng.randint(2, 4)):
            if len(out) >= parcels:
                break
            start = end = None
            if rng.random() < windows:
                h = rng.randint(9, 15)
                start, end = time(h, 0), time(h + 2, 0)
            out.append(
                Parcel(
                    tracking_id=f"TRK{len(out):06d}",
                    recipient=f"R{house}",
                    address=f"{house} Demo Street",
                    postal_code="1000AA",
                    lat=lat,
                    lon=lon,
                    weight_kg=round(rng.uniform(0.2, 8.0), 2),
                    window_start=start,
                    window_end=end,
                )
            )
    return hub, fleet, tuple(out)
