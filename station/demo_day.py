"""The demo day: a generated but realistic hub day, and the headless demo run.

Owns the synthetic data (a hub in a city, ~600 parcels at addresses around it, with real
carrier number formats and check digits, some SSCC labels, some delivery windows) and
the scan feed a simulated scanner plays: mostly parcels in random order, now and then
an SSCC label, a repeat, an unknown parcel or a truncated read, as on a real dock.
"""

from __future__ import annotations

import asyncio
import functools
import math
import random
import resource
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time

from station.barcodes import gs1_check_digit, ups_check_digit
from station.core import Station
from station.devices import ScannerSlot
from station.model import Hub, Parcel
from station.printing import PrintQueue

STREETS = [
    "Rue de Gerland",
    "Avenue Jean Jaurès",
    "Rue Marcel Mérieux",
    "Boulevard Yves Farge",
    "Rue de la Thibaudière",
    "Avenue Berthelot",
    "Rue Garibaldi",
    "Cours Gambetta",
    "Rue Paul Bert",
    "Rue Moncey",
    "Avenue Félix Faure",
    "Rue Servient",
    "Cours Lafayette",
    "Rue Vendôme",
    "Boulevard des Belges",
    "Rue Duguesclin",
    "Rue Tronchet",
    "Quai Claude Bernard",
    "Rue de Marseille",
    "Rue Sébastien Gryphe",
    "Grande Rue de la Guillotière",
    "Rue Pasteur",
    "Rue Béchevelin",
    "Avenue Tony Garnier",
    "Rue Challemel-Lacour",
    "Route de Vienne",
    "Rue Professeur Beauvisage",
    "Avenue des Frères Lumière",
    "Rue Saint-Maurice",
    "Cours Albert Thomas",
    "Rue Feuillat",
    "Avenue Lacassagne",
    "Rue Villon",
    "Boulevard Pinel",
    "Rue du Dauphiné",
    "Rue de l'Épargne",
    "Avenue Rockefeller",
    "Rue Paul Cazeneuve",
    "Rue Laënnec",
    "Rue Montesquieu",
]
FIRST = [
    "Camille",
    "Louis",
    "Chloé",
    "Hugo",
    "Léa",
    "Nathan",
    "Manon",
    "Jules",
    "Inès",
    "Adam",
    "Sarah",
    "Lucas",
    "Emma",
    "Yanis",
    "Jade",
    "Gabriel",
    "Zoé",
    "Rayan",
    "Alice",
    "Noah",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
]

DEMO_HUB = Hub("Lyon Gerland", 45.7304, 4.8325)


def make_ups(rng: random.Random) -> str:
    shipper = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6))
    body = shipper + rng.choice(["01", "02", "03", "12", "13"]) + f"{rng.randrange(10**7):07d}"
    return "1Z" + body + str(ups_check_digit(body))


def make_dhl_express(rng: random.Random) -> str:
    body = rng.randrange(10**8, 10**9)
    return f"{body}{body % 7}"


def make_sscc(rng: random.Random, company: str = "3012345") -> str:
    body = "0" + company + f"{rng.randrange(10**9):09d}"
    return body + str(gs1_check_digit(body))


def generate_day(hub: Hub = DEMO_HUB, parcels: int = 600, seed: int = 7) -> list[Parcel]:
    """Parcels at addresses around ``hub``: neighbourhood clusters, shared addresses, windows."""
    rng = random.Random(seed)
    centres = [(rng.gauss(0, 3.5), rng.gauss(0, 3.5)) for _ in range(14)]  # km east/north of the hub
    km_lat = 1 / 110.574
    km_lon = 1 / (111.320 * math.cos(math.radians(hub.lat)))
    out: list[Parcel] = []
    addresses: list[tuple[str, str, float, float]] = []
    while len(out) < parcels:
        if addresses and rng.random() < 0.12:
            address, postal, lat, lon = rng.choice(addresses)  # a second parcel for the same door
        else:
            cx, cy = rng.choice(centres)
            x, y = cx + rng.gauss(0, 0.9), cy + rng.gauss(0, 0.9)
            lat, lon = hub.lat + y * km_lat, hub.lon + x * km_lon
            address = f"{rng.randint(1, 180)} {rng.choice(STREETS)}"
            postal = f"6900{rng.randint(1, 9)}"
            addresses.append((address, postal, lat, lon))
        tracking = make_ups(rng) if rng.random() < 0.75 else make_dhl_express(rng)
        codes = (make_sscc(rng),) if rng.random() < 0.3 else ()
        window: tuple[time | None, time | None] = (None, None)
        if rng.random() < 0.08:
            start = rng.choice([9, 10, 13, 14])
            window = (time(start, 0), time(start + 2, 0))
        out.append(
            Parcel(
                tracking_id=tracking,
                recipient=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                address=address,
                postal_code=postal,
                lat=round(lat, 6),
                lon=round(lon, 6),
                weight_kg=round(rng.uniform(0.2, 12), 1),
                window_start=window[0],
                window_end=window[1],
                codes=codes,
            )
        )
    return out


def scan_feed(parcels: list[Parcel], seed: int = 11) -> Iterator[str]:
    """What a dock worker's scanner reads through the day, in order."""
    rng = random.Random(seed)
    order = list(parcels)
    rng.shuffle(order)
    done: list[Parcel] = []
    for parcel in order:
        roll = rng.random()
        if done and roll < 0.04:
            yield rng.choice(done).tracking_id  # scanned twice: a repeat
        elif roll < 0.07:
            yield make_ups(rng)  # a parcel that is not on today's manifest
        elif roll < 0.09:
            yield parcel.tracking_id[: rng.randint(4, 9)]  # a truncated read
        if parcel.codes and rng.random() < 0.5:
            yield "]C100" + parcel.codes[0]  # the SSCC label, AIM identifier on
        else:
            yield parcel.tracking_id
        done.append(parcel)


@dataclass
class HeadlessSummary:
    scans: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    labels_printed: int = 0
    labels_waiting: int = 0
    outbox: int = 0

    peak_rss_mb: float = 0.0

    def lines(self) -> list[str]:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return [
            f"scans processed: {self.scans} ({parts})",
            f"labels printed: {self.labels_printed}, waiting: {self.labels_waiting}",
            f"events waiting for the central server: {self.outbox}",
            f"peak RSS of the station process: {self.peak_rss_mb:.0f} MB",
        ]


async def run_scans(station: Station, slot: ScannerSlot, queue: PrintQueue, scans: int) -> HeadlessSummary:
    """Process ``scans`` scans from ``slot``'s scanner through the station (the headless demo)."""
    summary = HeadlessSummary()
    loop = asyncio.get_running_loop()
    try:
        async for raw in slot.scanner.scans():
            # The durable commit blocks for milliseconds: keep it off the event loop.
            decision = await loop.run_in_executor(
                None, functools.partial(station.scan, raw.data, device=raw.source, role=slot.role)
            )
            summary.scans += 1
            summary.outcomes[decision.outcome.value] += 1
            if summary.scans >= scans:
                break
    finally:
        slot.scanner.close()
    summary.labels_printed = await loop.run_in_executor(None, queue.deliver, 100_000)
    summary.labels_waiting = queue.pending()
    summary.outbox = station.outbox_backlog()
    summary.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return summary
