"""Station.scan under hypothesis: whatever a scanner (or a shell) hands it, a decision comes
back and its event and outbox row are committed; nothing raises, nothing is lost."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from station.config import load_config
from station.core import Station
from station.demo_day import generate_day
from station.events import wire_problem
from station.model import Decision, Outcome
from tests.conftest import round_robin_plan

# Any code point, and lone surrogates mixed into barcode-like text (what os.fsdecode makes of
# bytes that are not UTF-8). st.text() alone draws a surrogate about once in 500 strings.
_CHARACTER = st.one_of(
    st.characters(codec=None), st.characters(categories=["Cs"]), st.sampled_from("1Z0123456789ABC]\x1d$:")
)
ANY_TEXT = st.one_of(st.text(st.characters(codec=None), max_size=80), st.lists(_CHARACTER, max_size=80).map("".join))
ANY_BYTES = st.binary(max_size=80)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    config = load_config(None, tmp_path_factory.mktemp("fuzz") / "data")
    s = Station.open(config)
    day = generate_day(config.hub, parcels=30, seed=5)
    s.replace_manifest(day, version="fuzz")
    s.save_plan(round_robin_plan(config, day))
    yield s
    s.close()


def _committed(station: Station, decision: Decision) -> tuple[int, str]:
    """The event's row count and its outbox payload, read on a second connection (so committed)."""
    other = sqlite3.connect(station.config.database_path)
    try:
        (events,) = other.execute("SELECT count(*) FROM events WHERE event_id = ?", [decision.event_id]).fetchone()
        (payload,) = other.execute("SELECT payload FROM outbox WHERE event_id = ?", [decision.event_id]).fetchone()
    finally:
        other.close()
    return int(events), str(payload)


def _check(station: Station, data: str | bytes, role: str) -> None:
    before = int(station.store.scalar("SELECT count(*) FROM events"))
    decision = station.scan(data, device="fuzz", role=role)
    assert isinstance(decision, Decision)
    assert isinstance(decision.outcome, Outcome)
    if decision.outcome in (Outcome.INVALID, Outcome.UNKNOWN):
        assert decision.reason  # a worker is told why
    events, payload = _committed(station, decision)
    assert events == 1
    assert wire_problem(json.loads(payload), station_id=station.config.station_id) is None
    # A station code may record more than one event (closing a van); a parcel scan records one.
    assert int(station.store.scalar("SELECT count(*) FROM events")) >= before + 1


@FUZZ
@given(data=ANY_TEXT, load=st.booleans())
@example(data="1Z99\udcff", load=False)
@example(data="\ud800", load=True)
@example(data="\x00\x1d]C1", load=False)
def test_any_text_gets_a_decision_and_is_recorded(station: Station, data: str, load: bool) -> None:
    _check(station, data, f"load:{station.config.vans[0].id}" if load else "sort")


@FUZZ
@given(data=ANY_BYTES, load=st.booleans())
@example(data=b"1Z99\xff", load=False)
@example(data=b"\xed\xa0\x80", load=True)  # a surrogate encoded as if it were UTF-8
def test_any_bytes_get_a_decision_and_are_recorded(station: Station, data: bytes, load: bool) -> None:
    _check(station, data, f"load:{station.config.vans[0].id}" if load else "sort")
