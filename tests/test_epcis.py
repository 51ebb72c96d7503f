"""EPCIS 2.0 export validated against the official GS1 schema (with format checks), and
the EPCIS capture sync target against the reference server's ``POST /epcis/events``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import uuid
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
from jsonschema import Draft7Validator

import station.sync  # noqa: F401
from station.central.faults import Fault
from station.central.testing import running_central, station_config
from station.config import ServerConfig
from station.core import Station
from station.epcis import CBV_BIZSTEP, GS1_SSCC, NOT_EXPORTED, document, export_document, object_event, parcel_uri
from station.events import ScanEvent
from station.model import EventKind, Outcome, Role
from station.sync.backoff import Backoff
from station.sync.task import push_until_empty

# The official schema, vendored with its licence and source (tests/data/epcis/SOURCE.md).
EPCIS_SCHEMA = Path(__file__).resolve().parent / "data" / "epcis" / "EPCIS-JSON-Schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(EPCIS_SCHEMA.read_text())
    checker = Draft7Validator.FORMAT_CHECKER
    # Without the format extras "uri" and "date-time" would be silently skipped.
    assert {"uri", "date-time"} <= set(checker.checkers)
    return Draft7Validator(schema, format_checker=checker)


def payload(kind: str = "sorted", **over: Any) -> dict[str, Any]:
    """A wire event as the scan path writes it, ``over`` replacing fields of the wire form."""
    event = ScanEvent(
        event_id=str(uuid.uuid4()),
        seq=1,
        kind=EventKind(kind),
        outcome=Outcome.LOADED,
        station_id="dock-1",
        operator="dock",
        device="scanner 1",
        role=str(Role.load("V01")),
        occurred_at="2026-11-25T15:30:00.123456+00:00",
        clock_synced=False,
        code="1Z999AA10123456784",
        tracking_id="1Z999AA10123456784",
        van="V01",
        lane=3,
        stop=7,
    )
    return {**event.to_wire(hub="Hub Nord", day="2026-11-25"), **over}


def test_the_validator_rejects_a_bad_time(validator: Draft7Validator) -> None:
    doc = document([payload()])
    doc["epcisBody"]["eventList"][0]["eventTime"] = "yesterday"
    assert not validator.is_valid(doc)


@pytest.mark.parametrize("kind", sorted(set(EventKind) - {EventKind.COMMAND, EventKind.UNDONE}))
def test_every_parcel_event_kind_validates(validator: Draft7Validator, kind: str) -> None:
    doc = document([payload(kind, reason="damaged box" if kind == "exception" else None)])
    validator.validate(doc)
    (event,) = doc["epcisBody"]["eventList"]
    assert event["eventID"].startswith("urn:uuid:")
    assert event["eventTimeZoneOffset"] == "+00:00" and event["eventTime"].endswith("+00:00")
    assert event["readPoint"]["id"].endswith("/station/dock-1")
    assert event["bizLocation"]["id"].endswith("/hub/Hub%20Nord")
    expected = {"arrived": "arriving", "loaded": "loading", "departed": "departing"}
    if kind in expected:
        assert event["bizStep"] == expected[kind]
    else:
        assert event["bizStep"].startswith("https://")  # a documented company URI
    assert event["hs:clockSynchronised"] is False and event["hs:seq"] == 1


def test_single_events_for_capture_validate_with_their_context(validator: Draft7Validator) -> None:
    event = object_event(payload("loaded"), with_context=True)
    assert event is not None
    validator.validate(event)


def test_commands_are_not_exported_and_sscc_uses_digital_link() -> None:
    assert object_event(payload("command")) is None
    assert parcel_uri("376123450000000016", None) == GS1_SSCC + "376123450000000016"
    assert parcel_uri(None, "00376123450000000016") == GS1_SSCC + "376123450000000016"
    uri = parcel_uri("376123450000000017", None, base="https://x")
    assert uri is not None and uri.startswith("https://x/parcel/")


def test_station_export_of_real_scans_validates(tmp_path: Path, validator: Draft7Validator) -> None:
    from station.config import load_config

    config = load_config(None, tmp_path)
    station = Station.open(config)
    for code in ["1Z999AA10123456784", "]C100376123450000000016", "garbage!!", "1Z999AA10123456784"]:
        station.scan(code)
    doc = export_document(station.store, config)
    try:
        validator.validate(doc)
    except jsonschema.ValidationError as exc:  # pragma: no cover - a readable failure
        pytest.fail(f"{exc.message} at {list(exc.absolute_path)}")
    assert len(doc["epcisBody"]["eventList"]) >= 3


def test_epcis_target_treats_already_exists_as_delivered(tmp_path: Path) -> None:
    with running_central(tmp_path / "central") as central:
        config = station_config(tmp_path / "station", central.url + "/epcis", central.tokens["S1"], timeout_s=1.0)
        # _EpcisServer stands in for a ServerConfig by duck typing (the protocol key is not in config yet).
        config = dataclasses.replace(config, server=cast(ServerConfig, _EpcisServer(config.server)))
        station = Station.open(config)
        for i in range(15):
            station.scan(f"1ZEPCIS{i:06d}")
        # The first answer is lost after the write: the resend meets 409, which is delivered.
        central.thread.app.state.faults.add(Fault("lost_answer", route="epcis"), Fault("500", route="epcis"))
        status, pushed = asyncio.run(
            push_until_empty(station.store, config, backoff=Backoff(0.01, 0.05, rng=random.Random(3)))
        )
        assert status.backlog == 0 and pushed == 15
        assert central.store.stats()["epcis_events"] == 15


@dataclasses.dataclass(frozen=True)
class _EpcisServer:
    """A [server] table with protocol = "epcis" (not in station.config yet: see docs/epcis.md)."""

    inner: Any
    protocol: str = "epcis"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_every_event_kind_is_exported_or_said_not_to_be_and_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "epcis.md").read_text()
    for kind in EventKind:
        assert (kind in CBV_BIZSTEP) != (kind in NOT_EXPORTED), kind
        assert f"`{kind}`" in doc, kind
