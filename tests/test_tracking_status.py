"""A parcel's status and timeline from the manifest, the station's events and deliveries
(station.central.tracking): what a sender or receiver is told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from station.central.tracking import (
    Anchors,
    Delivery,
    Listing,
    StationEvent,
    Status,
    changes_to_notify,
    derive,
)

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
LISTING = Listing("P1", "69007", "Lyon Gerland", T0 - timedelta(hours=12))


def ev(kind: str, seq: int, minutes: float, **over: Any) -> StationEvent:
    fields: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "station_id": "S1",
        "seq": seq,
        "kind": kind,
        "occurred_at": T0 + timedelta(minutes=minutes),
        "clock_synced": True,
        "tracking_id": "P1",
        "hub": "Lyon Gerland",
        "device": "sorter",
        "reason": None,
    }
    fields.update(over)
    return StationEvent(**fields)


def statuses(events: list[StationEvent], deliveries: list[Delivery] = (), **kw: Any) -> list[str]:  # type: ignore[assignment]
    found = derive("P1", LISTING, events, deliveries, **kw)
    assert found is not None
    return [e.status.value for e in found.events]


def test_a_whole_day_moves_through_every_status_once() -> None:
    delivered = Delivery(str(uuid.uuid4()), "P1", "delivered", T0 + timedelta(hours=5), received_by="M. Martin")
    events = [
        ev("arrived", 1, 0),
        ev("sorted", 2, 1),
        ev("repeat", 3, 2),
        ev("loaded", 4, 30, device="bay-3"),
        ev("departed", 5, 60, device="bay-3"),
    ]
    found = derive("P1", LISTING, events, [delivered])
    assert found is not None
    assert [e.status for e in found.events] == [
        Status.INFO_RECEIVED,
        Status.AT_HUB,
        Status.LOADED,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERED,
    ]
    assert found.status is Status.DELIVERED
    assert found.events[1].time == T0  # "at the hub" from the first of arrived and sorted
    assert "M. Martin" in found.events[-1].description
    public = found.public()
    assert public["status"] == "delivered"
    assert public["events"][0]["status"] == "delivered"  # newest first
    assert public["events"][-1]["status"] == "info_received"
    assert public["delivery"]["received_by"] == "M. Martin"


def test_nothing_known_is_none_and_the_manifest_alone_is_info_received() -> None:
    assert derive("P9", None, [], []) is None
    found = derive("P1", LISTING, [], [])
    assert found is not None and found.status is Status.INFO_RECEIVED


def test_exceptions_are_told_in_receiver_words() -> None:
    found = derive("P1", LISTING, [ev("sorted", 1, 0), ev("exception", 2, 1, reason="address unreadable")])
    assert found is not None and found.status is Status.EXCEPTION
    assert found.events[-1].reason == "address_unreadable"
    assert found.events[-1].description == "The address on the parcel could not be read."
    odd = derive("P1", LISTING, [ev("exception", 1, 0, reason="station code: weird internal thing")])
    assert odd is not None and "internal" not in odd.events[-1].description
    cancelled = derive("P1", LISTING, [ev("cancelled", 1, 0, reason="cancelled: do not load")])
    assert cancelled is not None and cancelled.events[-1].reason == "cancelled"


def test_returned_and_failed_attempt() -> None:
    failed = Delivery(str(uuid.uuid4()), "P1", "failed_attempt", T0 + timedelta(hours=3), reason="nobody at home")
    assert statuses([ev("sorted", 1, 0), ev("loaded", 2, 5), ev("departed", 3, 10)], [failed])[-1] == "failed_attempt"
    assert statuses([ev("exception", 1, 0, reason="refused"), ev("returned", 2, 10)])[-1] == "returned_to_sender"


def test_an_undone_event_undoes_its_status_change() -> None:
    sorted_ = ev("sorted", 1, 0)
    loaded = ev("loaded", 2, 5, device="bay-3")
    undo = ev("undone", 3, 6, device="bay-3", reason="undone: loaded P1")
    assert statuses([sorted_, loaded, undo]) == ["info_received", "at_hub"]
    # Named explicitly when the station sends the id.
    undo_named = ev("undone", 3, 6, device="other", undone_event_id=loaded.event_id)
    assert statuses([sorted_, loaded, undo_named]) == ["info_received", "at_hub"]
    # An exception taken back: the parcel is simply at the hub again.
    damaged = ev("exception", 2, 1, reason="damaged")
    assert statuses([sorted_, damaged, ev("undone", 3, 2, reason="undone: exception P1")]) == [
        "info_received",
        "at_hub",
    ]


def test_an_undo_takes_back_only_its_own_devices_last_event() -> None:
    sorted_ = ev("sorted", 1, 0, device="sorter")
    loaded = ev("loaded", 2, 5, device="bay-3")
    undo = ev("undone", 3, 6, device="sorter", reason="undone: sorted P1")
    assert statuses([sorted_, loaded, undo]) == ["info_received", "loaded"]


def test_unsynchronised_times_are_ordered_by_seq_and_corrected_from_neighbours() -> None:
    # The Pi booted with a clock in 1970 for seq 2-3; seq 1 and 4 were synchronised.
    wrong = datetime(1970, 1, 1, tzinfo=UTC)
    events = [
        ev("arrived", 1, 0),
        ev("loaded", 2, 0, occurred_at=wrong, clock_synced=False),
        ev("departed", 3, 0, occurred_at=wrong + timedelta(seconds=5), clock_synced=False),
    ]
    anchors = Anchors()
    anchors.add("S1", 1, T0)
    anchors.add("S1", 5, T0 + timedelta(minutes=40))  # another parcel's synchronised scan
    found = derive("P1", LISTING, events, [], anchors)
    assert found is not None
    assert [e.status for e in found.events][1:] == [Status.AT_HUB, Status.LOADED, Status.OUT_FOR_DELIVERY]
    assert found.events[2].time == T0 + timedelta(minutes=10)  # seq 2 of 1..5: a quarter of the way
    assert found.events[3].time == T0 + timedelta(minutes=20)
    assert found.events[2].approximate and not found.events[1].approximate


def test_without_any_synchronised_neighbour_seq_still_orders() -> None:
    late = T0 + timedelta(hours=2)
    events = [
        ev("sorted", 1, 0, occurred_at=late, clock_synced=False),
        ev("loaded", 2, 0, occurred_at=T0, clock_synced=False),  # the clock jumped back
    ]
    found = derive("P1", LISTING, events)
    assert found is not None
    assert [e.status for e in found.events][1:] == [Status.AT_HUB, Status.LOADED]
    assert found.events[2].time >= found.events[1].time


def test_notify_only_what_is_new_and_hear_an_undo_once() -> None:
    sorted_ = ev("sorted", 1, 0)
    loaded = ev("loaded", 2, 5)
    first = derive("P1", LISTING, [sorted_])
    assert first is not None
    told = changes_to_notify(first.events, None, None)
    assert [e.status for e in told] == [Status.INFO_RECEIVED, Status.AT_HUB]
    second = derive("P1", LISTING, [sorted_, loaded])
    assert second is not None
    news = changes_to_notify(second.events, told[-1].key, "at_hub")
    assert [e.status for e in news] == [Status.LOADED]
    assert changes_to_notify(second.events, news[-1].key, "loaded") == []
    undone = derive("P1", LISTING, [sorted_, loaded, ev("undone", 3, 6, reason="undone: loaded P1")])
    assert undone is not None
    back = changes_to_notify(undone.events, loaded.event_id, "loaded")
    assert [e.status for e in back] == [Status.AT_HUB]
    assert changes_to_notify(undone.events, loaded.event_id, "at_hub") == []


def test_a_late_older_event_is_on_the_timeline_but_not_news() -> None:
    delivered = Delivery(str(uuid.uuid4()), "P1", "delivered", T0 + timedelta(hours=5))
    before = derive("P1", LISTING, [], [delivered])
    assert before is not None
    last = before.events[-1]
    after = derive("P1", LISTING, [ev("sorted", 1, 0), ev("loaded", 2, 5)], [delivered])
    assert after is not None
    assert [e.status.value for e in after.events] == ["info_received", "at_hub", "loaded", "delivered"]
    assert changes_to_notify(after.events, last.key, "delivered") == []


KINDS = ["arrived", "sorted", "repeat", "loaded", "misload", "exception", "departed", "reprinted", "returned"]


@given(
    st.lists(
        st.tuples(st.sampled_from([*KINDS, "undone"]), st.booleans(), st.integers(-600, 600)),
        max_size=25,
    )
)
def test_any_event_sequence_gives_an_ordered_timeline_without_repeats(steps: list[tuple[str, bool, int]]) -> None:
    events = [
        ev(kind, seq, minutes, clock_synced=synced, reason="undone: sorted P1" if kind == "undone" else "damaged")
        for seq, (kind, synced, minutes) in enumerate(steps, start=1)
    ]
    found = derive("P1", LISTING, events)
    assert found is not None
    times = [e.time for e in found.events]
    assert times == sorted(times)
    for a, b in zip(found.events, found.events[1:], strict=False):
        assert (a.status, a.reason) != (b.status, b.reason)
    assert found.status is found.events[-1].status
    assert len({e.key for e in found.events}) == len(found.events)
