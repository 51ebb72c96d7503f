"""The domain's data: parcels, vans, plans, scan decisions and scan events.

Plain frozen dataclasses, no behaviour beyond conversions. Names are the domain's words:
a *parcel* has a tracking id, a *van* is loaded at a *lane*, a *plan* gives
every parcel a van, lane and stop number, a *scan event* records what happened.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import time
from typing import Any, ClassVar


class Outcome(enum.StrEnum):
    """What a scan turned out to be. The values are the scripting contract's words."""

    SORTED = "sorted"
    REPEAT = "repeat"  # already sorted: same lane shown again, not counted twice
    UNKNOWN = "unknown"  # a parcel code the manifest does not know
    INVALID = "invalid"  # not a readable barcode (noise, truncated, wrong check digit)
    NO_PLAN = "no_plan"  # known parcel, but no plan exists yet (or the plan left it out)
    LOADED = "loaded"
    MISLOAD = "misload"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"
    COMMAND = "command"  # a station code (van, lane, command) was scanned


class EventKind(enum.StrEnum):
    """What a scan event tells the central server happened to a parcel."""

    ARRIVED = "arrived"
    SORTED = "sorted"
    REPEAT = "repeat"
    LOADED = "loaded"
    MISLOAD = "misload"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"
    DEPARTED = "departed"
    REPRINTED = "reprinted"
    COMMAND = "command"
    UNDONE = "undone"
    RESOLVED = "resolved"  # the hub lead dealt with an exception (re-labelled, reassigned)
    RETURNED = "returned"  # the hub lead sends the parcel back to its sender


@dataclass(frozen=True)
class Role:
    """How a scanner works: it sorts (``"sort"``) or loads one van (``"load:<van id>"``).

    The text form is what the config, the CLI and the scan event say; :meth:`parse` is the
    one place that reads it.
    """

    van_id: str | None = None  # None: the scanner sorts

    LOAD_PREFIX: ClassVar[str] = "load:"

    @classmethod
    def parse(cls, text: object) -> Role:
        """``"sort"`` or ``"load:VAN"``; anything else raises ValueError with a message fit to show."""
        if text == "sort":
            return SORT
        if isinstance(text, str) and text.startswith(cls.LOAD_PREFIX) and text[len(cls.LOAD_PREFIX) :].strip():
            return cls(text[len(cls.LOAD_PREFIX) :])
        shown = repr(text) if isinstance(text, str) else "nothing" if text is None else repr(text)
        raise ValueError(f'expected "sort" or "load:VAN", got {shown}')

    @classmethod
    def load(cls, van_id: str) -> Role:
        return cls(van_id)

    @property
    def sorts(self) -> bool:
        return self.van_id is None

    def __str__(self) -> str:
        return "sort" if self.van_id is None else f"{self.LOAD_PREFIX}{self.van_id}"


SORT = Role()


@dataclass(frozen=True)
class Hub:
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Van:
    id: str
    lane: int
    capacity: int  # parcels
    capacity_kg: float | None = None
    shift_start: time = time(8, 0)
    shift_end: time = time(18, 0)
    fixed_cost: int = 0


@dataclass(frozen=True)
class Parcel:
    """One manifest parcel. ``codes`` are the other barcodes on it (SSCC, order codes)."""

    tracking_id: str
    recipient: str
    address: str
    postal_code: str
    lat: float | None
    lon: float | None
    weight_kg: float
    window_start: time | None = None
    window_end: time | None = None
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedParcel:
    tracking_id: str
    van_id: str
    lane: int
    stop: int  # 1-based stop number along the van's route


@dataclass(frozen=True)
class Route:
    """One van's day: its stops in delivery order, each stop a list of tracking ids."""

    van_id: str
    lane: int
    stops: tuple[tuple[str, ...], ...]
    km: float
    minutes: float
    load: int
    load_kg: float = 0.0


@dataclass(frozen=True)
class Plan:
    """The result of one planner run.

    ``unplanned`` maps tracking id to the reason the planner could not place it
    (no coordinates, over capacity, window cannot be met): never silently dropped.
    ``notes`` name each van whose locked parcels alone break a limit (which van, over what):
    those parcels stay in it, as they are already sorted or loaded.
    """

    routes: tuple[Route, ...]
    unplanned: dict[str, str] = field(default_factory=dict)
    cost: float = 0.0
    solver: str = "ortools"
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    def assignments(self) -> list[PlannedParcel]:
        out = []
        for route in self.routes:
            for stop_no, stop in enumerate(route.stops, start=1):
                for tid in stop:
                    out.append(PlannedParcel(tid, route.van_id, route.lane, stop_no))
        return out


@dataclass(frozen=True)
class Decision:
    """What the station decided for one scan; the event is committed when this exists."""

    outcome: Outcome
    code: str
    event_id: str
    tracking_id: str | None = None
    lane: int | None = None
    van: str | None = None
    stop: int | None = None
    reason: str | None = None
    # Load scans: the van's parcels still to load after this one.
    remaining: int | None = None
    # A misload names where the parcel should go instead.
    right_van: str | None = None
    right_lane: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcome"] = self.outcome.value
        if not out["detail"]:
            del out["detail"]
        return out
