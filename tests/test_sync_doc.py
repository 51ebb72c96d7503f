"""The protocol docs kept in step with the code: every route the reference server has is
in docs/openapi.yaml (and nothing else is), every fault kind and event kind is documented,
and the event's fields in both documents are those of the one definition (station.events);
the server accepts every kind and outcome the station emits, the EPCIS mapping covers every
kind, and a scan's outbox payload passes the server's check as it is."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.routing import Route

from station import epcis
from station.central.app import create_app
from station.central.faults import KINDS
from station.central.tokens import Tokens
from station.central.validation import BOUNDS, check_event
from station.events import EVENT_KINDS, REQUIRED_WIRE_FIELDS, WIRE_FIELDS
from station.model import EventKind, Outcome

DOCS = Path(__file__).resolve().parents[1] / "docs"


def openapi_paths() -> dict[str, set[str]]:
    paths: dict[str, set[str]] = {}
    current = None
    in_paths = False
    for line in (DOCS / "openapi.yaml").read_text().splitlines():
        if line == "paths:":
            in_paths = True
            continue
        if in_paths and line and not line.startswith(" "):
            break
        if m := re.fullmatch(r"  (/\S*):", line):
            current = m.group(1)
            paths[current] = set()
        elif current and (m := re.fullmatch(r"    (get|post|put|delete):", line)):
            paths[current].add(m.group(1).upper())
    return paths


def test_openapi_lists_exactly_the_server_routes(tmp_path: Path) -> None:
    app = create_app(tmp_path, Tokens(), enable_fault_admin=True)
    served: dict[str, set[str]] = {}
    for route in app.routes:
        assert isinstance(route, Route)
        served.setdefault(route.path, set()).update((route.methods or set()) - {"HEAD"})
    assert openapi_paths() == served


def test_every_fault_and_event_kind_is_documented() -> None:
    text = (DOCS / "sync-protocol.md").read_text()
    openapi = (DOCS / "openapi.yaml").read_text()
    for kind in KINDS:
        assert f"`{kind}`" in text, kind
        assert kind in openapi
    for kind in EVENT_KINDS:
        assert f"`{kind}`" in text, kind


def test_every_event_kind_is_in_the_openapi_enum() -> None:
    openapi = (DOCS / "openapi.yaml").read_text()
    enum = re.search(r"kind: \{type: string, enum: \[([^]]*)\]\}", openapi)
    assert enum is not None
    assert set(enum.group(1).replace(" ", "").split(",")) == EVENT_KINDS


def test_the_documented_event_fields_are_the_wire_form() -> None:
    text = (DOCS / "sync-protocol.md").read_text()
    table = text[text.index("| `event_id` |") :].split("\n\n")[0]
    documented = [name for row in table.splitlines() for name in re.findall(r"`(\w+)`", row.split("|")[1])]
    assert documented == list(WIRE_FIELDS)

    openapi = (DOCS / "openapi.yaml").read_text()
    event = openapi[openapi.index("    Event:\n") :].split("    Batch:")[0]
    required = re.search(r"required: \[([^]]*)\]", event)
    assert required is not None
    assert required.group(1).replace(" ", "").split(",") == list(REQUIRED_WIRE_FIELDS)
    assert re.findall(r"^        (\w+):", event, re.MULTILINE) == list(WIRE_FIELDS)


def test_every_wire_field_is_bounded_and_every_outcome_documented() -> None:
    assert tuple(BOUNDS) == WIRE_FIELDS
    openapi = (DOCS / "openapi.yaml").read_text()
    outcomes = re.search(r"outcome: \{type: string, enum: \[([^]]*)\]\}", openapi)
    assert outcomes is not None
    assert set(outcomes.group(1).replace(" ", "").split(",")) == {o.value for o in Outcome}
    assert {"resolved", "returned"} <= EVENT_KINDS == {k.value for k in EventKind}


def test_the_epcis_mapping_covers_every_kind() -> None:
    page = (DOCS / "epcis.md").read_text()
    for kind in EventKind:
        assert f"`{kind.value}`" in page, kind
        # A CBV step, or a company step named on purpose: never the fallback to the kind's name.
        assert (
            epcis.CBV_BIZSTEP.get(kind.value) or kind.value in epcis.COMPANY_BIZSTEP or kind.value in epcis.NOT_EXPORTED
        ), kind


def test_a_scan_writes_exactly_what_the_server_accepts(tmp_path: Path) -> None:
    """The outbox payload the scan path writes is the wire event: same fields, accepted as is."""
    from station import sync  # noqa: F401  (the outbox's migration)
    from station.config import load_config
    from station.core import Station

    station = Station.open(load_config(None, tmp_path))
    try:
        station.scan("NOT-A-PARCEL")
        payload = station.store.scalar("SELECT payload FROM outbox")
    finally:
        station.close()
    event = json.loads(payload)
    assert list(event) == list(WIRE_FIELDS)
    assert check_event(event, event["station_id"], station.config.hub.name) is None
