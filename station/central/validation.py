"""What the central server accepts: every field of an event, a manifest and a plan, typed and bounded.

Owns the bounds and the roles' part of the checks. An event's fields and types are defined
once, in :mod:`station.events` (``WIRE_FIELDS``, ``wire_problem``; kinds from
:class:`station.model.EventKind`): :func:`check_event` runs that check, then bounds every
field (:data:`BOUNDS`: lengths, ranges, a canonical uuid, an outcome the station knows),
refuses unknown fields and events of another hub. A manifest is checked by the rules of
``station import`` (:func:`station.manifest.parse_records`), a plan by the shape the
station reads back.

Every check answers a reason fit for a 422, never an exception: whatever JSON a client
sends, the server answers 4xx with the event and the reason, never 500.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from station.errors import ManifestError
from station.events import CANONICAL_UUID, EVENT_KINDS, WIRE_FIELDS, wire_problem
from station.manifest import parse_records
from station.model import Outcome

__all__ = ["BOUNDS", "EVENT_KINDS", "check_event", "check_manifest", "check_plan"]

OUTCOMES = frozenset(o.value for o in Outcome)
# seq is a SQLite INTEGER (signed 64 bits) on both sides.
MAX_SEQ = 2**63 - 1
MAX_TRACKING_ID = 64  # as in a manifest (station.manifest)
MAX_CODE = 1024  # a raw barcode: GS1 DataMatrix payloads run to a few hundred characters
MAX_TEXT = 128  # operator, device, role, van, station names
MAX_REASON = 500
MAX_HUB = 64

Bound = Callable[[Any], str | None]
# Any whitespace, as str.isspace() counts it (re's \s on str patterns is the same set).
_SPACE = re.compile(r"\s")


def _text(limit: int, *, no_space: bool = False, raw: bool = False) -> Bound:
    def check(value: Any) -> str | None:
        if len(value) > limit:
            return f"is longer than {limit} characters"
        if not raw and not value.isprintable():
            return "holds control characters"
        if no_space and (not value or _SPACE.search(value)):
            return "is empty or holds spaces"
        return None

    return check


def _int_range(low: int, high: int) -> Bound:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"is outside {low}..{high}"

    return check


def _uuid(value: Any) -> str | None:
    # wire_problem has seen a uuid; one spelling per event: an upper-case or braced copy
    # would be stored as a second event.
    if CANONICAL_UUID.fullmatch(value):
        return None
    canonical = str(uuid.UUID(str(value)))
    return None if canonical == value else f"is not a canonical lower-case uuid (expected {canonical})"


def _day(value: Any) -> str | None:
    try:
        if len(value) == 10:
            date.fromisoformat(value)
            return None
    except ValueError:
        pass
    return "is not a YYYY-MM-DD day"


def _instant(value: Any) -> str | None:
    return "is longer than 40 characters" if len(value) > 40 else None


def _one_of(words: frozenset[str]) -> Bound:
    def check(value: Any) -> str | None:
        return None if value in words else f"{value[:40]!r} is not one of {', '.join(sorted(words))}"

    return check


def _fine(value: Any) -> str | None:
    return None


# The bound of each wire field (its type is station.events'), checked when present and not null.
BOUNDS: dict[str, Bound] = {
    "event_id": _uuid,
    "seq": _int_range(0, MAX_SEQ),
    "station_id": _text(MAX_TEXT, no_space=True),
    "hub": _text(MAX_HUB),
    "day": _day,
    "kind": _fine,  # wire_problem: one of EventKind
    "outcome": _one_of(OUTCOMES),
    "occurred_at": _instant,
    "clock_synced": _fine,  # wire_problem: a boolean
    "operator": _text(MAX_TEXT),
    "device": _text(MAX_TEXT),
    "role": _text(MAX_TEXT),
    # A raw barcode may hold GS1's group separator (0x1D): bounded, not filtered.
    "code": _text(MAX_CODE, raw=True),
    "tracking_id": _text(MAX_TRACKING_ID, no_space=True),
    "van": _text(MAX_TEXT),
    "lane": _int_range(0, 9999),
    "stop": _int_range(0, 1_000_000),
    "reason": _text(MAX_REASON),
}
assert tuple(BOUNDS) == WIRE_FIELDS, "station.events.WIRE_FIELDS changed: bound the new field here"


_ORDER = {name: i for i, name in enumerate(BOUNDS)}


def _field_order(item: tuple[str, Any]) -> int:
    return _ORDER[item[0]]


def check_event(ev: Any, station_id: str, hub: str) -> str | None:
    """Why the event cannot be accepted from station ``station_id`` of ``hub``, or None."""
    why = wire_problem(ev, station_id=station_id)
    if why is not None:
        return why
    unknown = [k for k in ev if k not in BOUNDS]
    if unknown:
        return f"unknown field(s): {', '.join(repr(k)[:40] for k in unknown[:5])}"
    # In BOUNDS' order (the first problem is the one told), only the fields the event has.
    for name, value in sorted(ev.items(), key=_field_order):
        if value is not None:
            problem = BOUNDS[name](value)
            if problem is not None:
                return f"{name} {problem}"
    if ev.get("hub", hub) != hub:
        return f"hub {ev['hub']!r} is not this station's hub {hub!r}"
    return None


# -- manifests and plans --------------------------------------------------------------------


def check_manifest(doc: Any, hub: str, day: str) -> list[dict[str, Any]]:
    """The problems of a manifest PUT for ``hub`` and ``day`` (empty: acceptable).

    Parcels are checked by :func:`station.manifest.parse_records`, the rules of ``station
    import``; a problem names its parcel by number (1 = the first of the list, 0 = the whole).
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("parcels"), list):
        return [{"parcel": 0, "reason": 'expected an object {"hub", "day", "parcels": [...]}'}]
    problems: list[dict[str, Any]] = []
    for key, expected in (("hub", hub), ("day", day)):
        if key in doc and doc[key] != expected:
            problems.append({"parcel": 0, "reason": f"{key} {str(doc[key])[:80]!r} is not the URL's {expected!r}"})
    records = [p if isinstance(p, dict) else {"__not_object__": p} for p in doc["parcels"]]
    try:
        parse_records(records, name=f"manifest {hub} {day}")
    except ManifestError as exc:
        problems.extend({"parcel": n, "reason": why} for n, why in exc.problems)
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _short(value: Any, limit: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


def check_plan(doc: Any) -> list[str]:
    """The problems of a plan PUT (empty: acceptable): the shape ``plan_from_json`` reads."""
    if not isinstance(doc, dict):
        return ["a plan is an object with 'routes'"]
    problems: list[str] = []
    routes = doc.get("routes", [])
    if not isinstance(routes, list):
        return ["routes must be a list"]
    for n, route in enumerate(routes, start=1):
        where = f"route {n}"
        if not isinstance(route, dict):
            problems.append(f"{where} is not an object")
            continue
        if not _short(route.get("van_id")):
            problems.append(f"{where}: van_id must be a van id")
        lane = route.get("lane")
        if not isinstance(lane, int) or isinstance(lane, bool) or not 0 <= lane <= 9999:
            problems.append(f"{where}: lane must be an integer 0..9999")
        stops = route.get("stops")
        if not isinstance(stops, list) or not all(
            isinstance(s, list) and all(_short(t, MAX_TRACKING_ID) for t in s) for s in stops
        ):
            problems.append(f"{where}: stops must be a list of lists of tracking ids")
        for key in ("km", "minutes", "load", "load_kg"):
            if key in route and not _number(route[key]):
                problems.append(f"{where}: {key} must be a number")
    unplanned = doc.get("unplanned", {})
    if not isinstance(unplanned, dict) or not all(
        _short(k, MAX_TRACKING_ID) and isinstance(v, str) and len(v) <= MAX_REASON for k, v in unplanned.items()
    ):
        problems.append("unplanned must map tracking ids to reasons")
    for key in ("cost", "seconds"):
        if key in doc and not _number(doc[key]):
            problems.append(f"{key} must be a number")
    if "solver" in doc and not _short(doc["solver"]):
        problems.append("solver must be a name")
    return problems[:50]
