"""The station's scan events as GS1 EPCIS 2.0 JSON-LD.

Owns the mapping documented in docs/epcis.md: each parcel scan event becomes an
``ObjectEvent`` (action OBSERVE) with ``eventID`` ``urn:uuid:<event id>``, the UTC
``eventTime`` with its offset, ``readPoint`` = the station, ``bizLocation`` = the hub, the
parcel as the one EPC (GS1 Digital Link for an SSCC, else a company URI), a CBV bizStep
where one exists (arriving, loading, departing) and a documented company URI where none
does (sorting, exception, misload, ...): CBV 2.0 has no "sorting" step. Station-specific
facts (sequence number, clock synchronised, lane, van, stop) are ``hs:`` extensions.

Used by ``station export --epcis`` (one EPCISDocument) and by the EPCIS capture sync
target (one event per request).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

from station.barcodes import gs1_check_digit
from station.events import ScanEvent
from station.model import Hub
from station.store import Store

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# The company namespace for what CBV does not define. A company running an EPCIS
# repository sets its own (docs/epcis.md); the URIs must only be stable and documented.
COMPANY_BASE = "https://id.hub-station.example"
GS1_SSCC = "https://id.gs1.org/00/"

# CBV 2.0 bizSteps where one fits; None = a company URI (company_bizstep).
CBV_BIZSTEP: dict[str, str | None] = {
    "arrived": "arriving",
    "loaded": "loading",
    "departed": "departing",
    "sorted": None,
    "repeat": None,  # a repeat sort scan: same company step as sorted, hs:kind says "repeat"
    "exception": None,
    "misload": None,
    "cancelled": None,
    "reprinted": None,
    "resolved": None,
    "returned": None,
}
COMPANY_BIZSTEP = {
    "sorted": "sorting",
    "repeat": "sorting",
    "exception": "exception",
    "misload": "misload",
    "cancelled": "cancelled",
    "reprinted": "label_reprinting",
    "resolved": "resolved",
    "returned": "returned",
}
CBV_DISPOSITION = {"arrived": "in_progress", "sorted": "in_progress", "loaded": "in_progress", "departed": "in_transit"}
# Station commands (van codes) and undos are not observations of a parcel: not exported.
NOT_EXPORTED = frozenset({"command", "undone"})


class ExportConfig(Protocol):
    @property
    def station_id(self) -> str: ...
    @property
    def hub(self) -> Hub: ...


def _sscc(code: str | None) -> str | None:
    """An 18-digit SSCC with a valid GS1 check digit (AI 00 prefix stripped), or None."""
    if not code:
        return None
    digits = code.removeprefix("]C1").removeprefix("00") if len(code) in (20, 23) else code
    if len(digits) != 18 or not digits.isdigit():
        return None
    return digits if gs1_check_digit(digits[:-1]) == int(digits[-1]) else None


def parcel_uri(tracking_id: str | None, code: str | None, *, base: str = COMPANY_BASE) -> str | None:
    sscc = _sscc(tracking_id) or _sscc(code)
    if sscc:
        return GS1_SSCC + sscc
    if tracking_id:
        return f"{base}/parcel/{quote(tracking_id, safe='')}"
    if code:
        return f"{base}/code/{quote(code, safe='')}"
    return None


def bizstep(kind: str, *, base: str = COMPANY_BASE) -> str:
    cbv = CBV_BIZSTEP.get(kind)
    if cbv:
        return cbv
    return f"{base}/bizstep/{COMPANY_BIZSTEP.get(kind, kind)}"


def _event_time(occurred_at: str) -> str:
    when = datetime.fromisoformat(occurred_at)
    if when.tzinfo is None:  # the station always writes UTC; be strict about the offset anyway
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def object_event(
    payload: dict[str, Any], *, base: str = COMPANY_BASE, with_context: bool = False
) -> dict[str, Any] | None:
    """One outbox payload (see docs/sync-protocol.md) as an EPCIS ObjectEvent, or None
    for events that are not observations of a parcel."""
    kind = str(payload.get("kind"))
    if kind in NOT_EXPORTED:
        return None
    epc = parcel_uri(payload.get("tracking_id"), payload.get("code"), base=base)
    if epc is None:
        return None
    event: dict[str, Any] = {}
    if with_context:
        event["@context"] = context(base)
    event.update(
        {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:{payload['event_id']}",
            "eventTime": _event_time(str(payload["occurred_at"])),
            "eventTimeZoneOffset": "+00:00",
            "epcList": [epc],
            "action": "OBSERVE",
            "bizStep": bizstep(kind, base=base),
            "readPoint": {"id": f"{base}/station/{quote(str(payload['station_id']), safe='')}"},
        }
    )
    if payload.get("hub"):
        event["bizLocation"] = {"id": f"{base}/hub/{quote(str(payload['hub']), safe='')}"}
    if kind in CBV_DISPOSITION:
        event["disposition"] = CBV_DISPOSITION[kind]
    extensions = {
        "hs:seq": payload.get("seq"),
        "hs:clockSynchronised": payload.get("clock_synced"),
        "hs:kind": kind,
        "hs:outcome": payload.get("outcome"),
        "hs:trackingId": payload.get("tracking_id"),
        "hs:code": payload.get("code"),
        "hs:van": payload.get("van"),
        "hs:lane": payload.get("lane"),
        "hs:stop": payload.get("stop"),
        "hs:reason": payload.get("reason"),
        "hs:operator": payload.get("operator"),
        "hs:device": payload.get("device"),
        "hs:role": payload.get("role"),
    }
    event.update({k: v for k, v in extensions.items() if v is not None})
    return event


def context(base: str = COMPANY_BASE) -> list[Any]:
    return [EPCIS_CONTEXT, {"hs": f"{base}/ns/"}]


def document(
    events: Iterable[dict[str, Any]], *, base: str = COMPANY_BASE, created: datetime | None = None
) -> dict[str, Any]:
    """An EPCISDocument holding the exportable events of ``events`` (outbox payloads)."""
    event_list = [e for e in (object_event(p, base=base) for p in events) if e is not None]
    return {
        "@context": context(base),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": (created or datetime.now(UTC)).isoformat(timespec="milliseconds"),
        "epcisBody": {"eventList": event_list},
    }


def _payloads(store: Store, config: ExportConfig, since_seq: int) -> Iterable[dict[str, Any]]:
    """The events table's rows in the outbox payload's shape (one mapping for both)."""
    day = store.get_meta("day") or ""
    for row in store.query("SELECT * FROM events WHERE seq > ? ORDER BY seq", (since_seq,)):
        yield ScanEvent.from_row(row).to_wire(hub=config.hub.name, day=day)


def export_document(
    store: Store, config: ExportConfig, *, since_seq: int = 0, base: str = COMPANY_BASE
) -> dict[str, Any]:
    """``station export --epcis``: the station's events as one EPCIS 2.0 document."""
    return document(_payloads(store, config, since_seq), base=base)


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
