"""Roles and refusals of the reference server, over real HTTP on loopback.

Two hubs (Lyon Gerland with dock-1 and dock-2, Paris Nord with pn-1) and the company's
system (tms). Each test is a role doing what it may, or an attacker trying what it may
not: the issue's attack cases (issue 19) are here one by one.
"""

from __future__ import annotations

import json
import select
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from station.central.app import ServerLimits
from station.central.testing import Central, running_central
from station.central.tokens import hash_token

HUB_A, HUB_B = "Lyon Gerland", "Paris Nord"
STATIONS = {"dock-1": HUB_A, "dock-2": HUB_A, "pn-1": HUB_B}
DAY = "2026-11-25"


@pytest.fixture
def central(tmp_path: Any, central_database: str | None) -> Iterator[Central]:
    with running_central(
        tmp_path / "central", STATIONS, limits=ServerLimits(20, 20_000, 50_000), database=central_database
    ) as c:
        yield c


def as_station(central: Central, station_id: str) -> httpx.Client:
    return httpx.Client(base_url=central.url, headers={"Authorization": f"Bearer {central.tokens[station_id]}"})


def as_system(central: Central) -> httpx.Client:
    return httpx.Client(base_url=central.url, headers={"Authorization": f"Bearer {central.system_token}"})


def event(station_id: str = "dock-1", hub: str = HUB_A, seq: int = 1, **over: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "seq": seq,
        "station_id": station_id,
        "hub": hub,
        "day": DAY,
        "kind": "sorted",
        "outcome": "sorted",
        "occurred_at": "2026-11-25T15:30:00.123456+00:00",
        "clock_synced": True,
        "operator": "dock",
        "device": "d",
        "role": "sort",
        "code": "TRK1",
        "tracking_id": "TRK1",
        "van": "V01",
        "lane": 1,
        "stop": 1,
        "reason": None,
    }
    ev.update(over)
    return ev


def push(c: httpx.Client, *events: dict[str, Any], station_id: str = "dock-1") -> httpx.Response:
    content = json.dumps({"station_id": station_id, "events": list(events)}).encode()
    return c.post("/v1/events", content=content, headers={"Idempotency-Key": str(uuid.uuid4())})


def parcel(n: int, **over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "tracking_id": f"TRK{n}",
        "recipient": f"R{n}",
        "address": f"{n} rue Garibaldi",
        "postal_code": "69007",
        "lat": 45.74,
        "lon": 4.84,
        "weight_kg": 1.5,
        "window_start": "09:00",
        "window_end": "12:00",
        "codes": [f"ORD{n}"],
    }
    p.update(over)
    return p


def manifest(hub: str, *parcels: dict[str, Any]) -> dict[str, Any]:
    return {"hub": hub, "day": DAY, "parcels": list(parcels) or [parcel(1), parcel(2)]}


def doc(hub: str, what: str) -> str:
    return f"/v1/hubs/{hub}/days/{DAY}/{what}"


PLAN = {
    "routes": [{"van_id": "V01", "lane": 1, "stops": [["TRK1"], ["TRK2"]], "km": 3.5, "minutes": 20.0, "load": 2}],
    "unplanned": {},
    "cost": 3.5,
    "solver": "ortools",
    "seconds": 0.1,
}


# -- stations ---------------------------------------------------------------------------


def test_each_station_pushes_its_own_events_for_its_hub_and_any_day(central: Central) -> None:
    with as_station(central, "dock-1") as d1, as_station(central, "pn-1") as p1:
        assert push(d1, event(), event(seq=2, day="2026-11-24")).status_code == 200  # yesterday's backlog too
        assert push(p1, event("pn-1", HUB_B), station_id="pn-1").status_code == 200
    assert central.store.stats()["events"] == {"dock-1": 2, "pn-1": 1}


def test_the_hub_leads_resolved_and_returned_events_are_accepted(central: Central) -> None:
    """Issue 19: they were refused as "unknown kind" and quarantined at the station."""
    resolved = event(seq=1, kind="resolved", outcome="command", role="lead", device="screen", van="V02", lane=2)
    returned = event(seq=2, kind="returned", outcome="command", role="lead", device="screen", van=None, lane=None)
    with as_station(central, "dock-1") as d1:
        r = push(d1, resolved, returned)
    assert r.status_code == 200 and r.json() == {"accepted": 2, "duplicates": 0}


def test_a_station_cannot_push_for_another_station(central: Central) -> None:
    with as_station(central, "dock-2") as d2:
        assert push(d2, event("dock-1"), station_id="dock-1").status_code == 403
        r = push(d2, event("dock-1"), station_id="dock-2")  # the batch says dock-2, the event dock-1
    assert r.status_code == 422 and "not the authenticated station" in r.json()["errors"][0]["reason"]
    assert central.store.stats()["events_total"] == 0


def test_an_event_for_another_hub_is_refused_and_named(central: Central) -> None:
    other = event(hub=HUB_B)
    with as_station(central, "dock-1") as d1:
        r = push(d1, event(), other)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"event_id": other["event_id"], "reason": f"hub {HUB_B!r} is not this station's hub {HUB_A!r}"}
    ]
    assert central.store.stats()["events_total"] == 0


def test_a_station_reads_only_its_own_hubs_manifest_and_plan(central: Central) -> None:
    with as_system(central) as tms:
        assert tms.put(doc(HUB_A, "manifest"), json=manifest(HUB_A)).status_code == 200
        assert tms.put(doc(HUB_B, "manifest"), json=manifest(HUB_B)).status_code == 200
    with as_station(central, "dock-1") as d1, as_station(central, "pn-1") as p1:
        assert d1.get(doc(HUB_A, "manifest")).status_code == 200
        assert p1.get(doc(HUB_B, "manifest")).status_code == 200
        for client, foreign in ((d1, HUB_B), (p1, HUB_A)):
            for what in ("manifest", "plan"):
                r = client.get(doc(foreign, what))
                assert r.status_code == 403, (foreign, what)
                assert f"hub {foreign}" in r.json()["error"]


def test_a_station_never_writes_a_manifest(central: Central) -> None:
    """The issue's attack: dock-2 PUT a one-parcel manifest for its hub (or another's)."""
    with as_system(central) as tms:
        assert tms.put(doc(HUB_A, "manifest"), json=manifest(HUB_A)).status_code == 200
    with as_station(central, "dock-2") as d2, as_station(central, "pn-1") as p1:
        assert d2.put(doc(HUB_A, "manifest"), json=manifest(HUB_A, parcel(9))).status_code == 403
        assert p1.put(doc(HUB_A, "manifest"), json=manifest(HUB_A, parcel(9))).status_code == 403
    with as_station(central, "dock-1") as d1:
        got = d1.get(doc(HUB_A, "manifest"))
    assert got.headers["ETag"] == '"v1"' and len(got.json()["parcels"]) == 2


def test_a_station_publishes_its_hubs_plan_only_with_if_match(central: Central) -> None:
    with as_station(central, "dock-1") as d1, as_station(central, "dock-2") as d2:
        r = d1.put(doc(HUB_A, "plan"), json=PLAN)
        assert r.status_code == 428 and "If-Match" in r.json()["error"]
        assert d1.put(doc(HUB_A, "plan"), json=PLAN, headers={"If-Match": "*"}).status_code == 428
        assert d1.put(doc(HUB_A, "plan"), json=PLAN, headers={"If-Match": '"v0"'}).json() == {"version": 1}
        assert d2.put(doc(HUB_A, "plan"), json=PLAN, headers={"If-Match": '"v0"'}).status_code == 412
        assert d2.put(doc(HUB_A, "plan"), json=PLAN, headers={"If-Match": '"v1"'}).json() == {"version": 2}
        got = d1.get(doc(HUB_A, "plan"))
    assert got.headers["X-Published-By"] == "dock-2"


def test_a_plan_for_another_hub_and_a_bad_plan_are_refused(central: Central) -> None:
    with as_station(central, "pn-1") as p1, as_station(central, "dock-1") as d1:
        assert p1.put(doc(HUB_A, "plan"), json=PLAN, headers={"If-Match": '"v0"'}).status_code == 403
        bad: object
        for bad in ([], "x", {"routes": 5}, {"routes": [{"van_id": "V01", "lane": "one", "stops": [[{}]]}]}):
            r = d1.put(doc(HUB_A, "plan"), json=bad, headers={"If-Match": '"v0"'})
            assert r.status_code == 422, bad
            assert r.json()["problems"]
        assert d1.get(doc(HUB_A, "plan")).status_code == 404


# -- the company system ------------------------------------------------------------------


def test_the_system_writes_and_reads_any_hubs_manifest_but_pushes_nothing(central: Central) -> None:
    with as_system(central) as tms:
        assert tms.get("/v1/limits").json()["system"] == "tms"
        assert tms.put(doc(HUB_B, "manifest"), json=manifest(HUB_B)).json() == {"version": 1}
        assert tms.get(doc(HUB_B, "manifest")).status_code == 200
        assert tms.get(doc(HUB_A, "plan")).status_code == 404
        assert push(tms, event()).status_code == 403
        assert tms.put(doc(HUB_A, "plan"), json=PLAN, headers={"If-Match": '"v0"'}).status_code == 403
        assert tms.post("/epcis/events", json={"eventID": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "where", "reason"),
    [
        ([], 0, "expected an object"),
        ("x", 0, "expected an object"),
        ({"routes": 5}, 0, "expected an object"),
        ({"parcels": []}, 0, "no parcels"),
        (manifest(HUB_A, parcel(1), parcel(2, weight_kg="heavy")), 2, "weight_kg is not a number"),
        (manifest(HUB_A, parcel(1, lat="north")), 1, "lat is not a number"),
        (manifest(HUB_A, parcel(1), parcel(1)), 2, "already on parcel 1"),
        (manifest(HUB_A, parcel(1, tracking_id="T" * 2_000)), 1, "is not a tracking id"),
        (manifest(HUB_B, parcel(1)), 0, "is not the URL's"),
    ],
)
def test_a_bad_manifest_is_refused_with_the_parcel_and_the_reason(
    central: Central, body: Any, where: int, reason: str
) -> None:
    with as_system(central) as tms:
        r = tms.put(doc(HUB_A, "manifest"), json=body)
        assert r.status_code == 422
        assert any(p["parcel"] == where and reason in p["reason"] for p in r.json()["problems"]), r.json()
        assert tms.get(doc(HUB_A, "manifest")).status_code == 404  # nothing stored


# -- anonymous and attackers -------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Basic ZG9jay0xOng=", "Bearer", "Bearer " + "x" * 10_000, "hash"]
)
def test_anonymous_gets_401_everywhere(central: Central, header: str | None) -> None:
    if header == "hash":  # someone who read the tokens file: the hash is not the token
        header = f"Bearer {hash_token(central.tokens['dock-1'])}"
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=central.url, headers=headers) as c:
        for method, path in (
            ("GET", "/v1/limits"),
            ("POST", "/v1/events"),
            ("GET", doc(HUB_A, "manifest")),
            ("PUT", doc(HUB_A, "manifest")),
            ("GET", doc(HUB_A, "plan")),
            ("PUT", doc(HUB_A, "plan")),
            ("POST", "/epcis/events"),
        ):
            r = c.request(method, path, content=b"{}")
            assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer", (method, path)


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"hub": [HUB_A]}, "hub is not text"),
        ({"seq": 2**64}, "seq is outside"),
        ({"seq": -1}, "seq is not a non-negative integer"),
        ({"seq": True}, "seq is not a non-negative integer"),
        ({"seq": 1.5}, "seq is not a non-negative integer"),
        ({"tracking_id": {"a": 1}}, "tracking_id is not text or null"),
        ({"tracking_id": "T" * 10_000}, "tracking_id is longer than 64"),
        ({"code": "C" * 5_000}, "code is longer than 1024"),
        ({"lane": "1"}, "lane is not an integer or null"),
        ({"clock_synced": "yes"}, "clock_synced is not a boolean"),
        ({"occurred_at": "yesterday"}, "occurred_at is not an ISO-8601 time"),
        ({"occurred_at": "2026-11-25T15:30:00"}, "occurred_at has no UTC offset"),
        ({"day": "2026-13-01"}, "day is not a YYYY-MM-DD day"),
        ({"kind": "teleported"}, "unknown kind 'teleported'"),
        ({"outcome": None}, "outcome is not text"),
        ({"operator": "a\nb"}, "operator holds control characters"),
        ({"extra": 1}, "unknown field(s): 'extra'"),
    ],
)
def test_a_badly_typed_event_is_422_with_the_event_and_reason_never_500(
    central: Central, over: dict[str, Any], reason: str
) -> None:
    bad = event(**{"seq": 2, **over})
    with as_station(central, "dock-1") as d1:
        r = push(d1, event(), bad)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["event_id"] == bad["event_id"] and reason in error["reason"], error
    assert central.store.stats()["events_total"] == 0


def test_an_event_id_has_one_spelling(central: Central) -> None:
    """The same uuid in upper and lower case was stored twice: only the canonical form is accepted."""
    eid = str(uuid.uuid4())
    with as_station(central, "dock-1") as d1:
        assert push(d1, event(event_id=eid)).status_code == 200
        upper = push(d1, event(seq=2, event_id=eid.upper()))
        braced = push(d1, event(seq=3, event_id="{" + eid + "}"))
        twice = push(d1, event(seq=4, event_id=str(uuid.uuid4())), event(seq=5, event_id=eid.replace("-", "")))
        assert push(d1, event(seq=6, event_id=eid)).json() == {"accepted": 0, "duplicates": 1}
    assert upper.status_code == braced.status_code == twice.status_code == 422
    assert "canonical lower-case uuid" in upper.json()["errors"][0]["reason"]
    assert central.store.event_ids() == [eid]


def test_an_event_twice_in_one_batch_is_refused(central: Central) -> None:
    ev = event()
    with as_station(central, "dock-1") as d1:
        r = push(d1, ev, ev)
    assert r.status_code == 422 and r.json()["errors"][0]["reason"] == "event_id appears twice in the batch"


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe", b"not json", b'"x"', b"[]"])
def test_hostile_push_bodies_are_4xx(central: Central, body: bytes) -> None:
    with as_station(central, "dock-1") as d1:
        r = d1.post("/v1/events", content=body, headers={"Idempotency-Key": "k"})
    assert r.status_code in (400, 413), r.text


def test_a_declared_large_body_is_413_before_it_is_read(central: Central) -> None:
    with as_station(central, "dock-1") as d1, as_system(central) as tms:
        assert d1.post("/v1/events", content=b"x" * 20_001, headers={"Idempotency-Key": "k"}).status_code == 413
        assert tms.put(doc(HUB_A, "manifest"), content=b"x" * 50_001).status_code == 413
        big_plan = d1.put(doc(HUB_A, "plan"), content=b" " * 50_001, headers={"If-Match": '"v0"'})
        assert big_plan.status_code == 413


def chunked_until_answered(central: Central, token: str, method: str, path: str, give_up: int) -> tuple[int, int]:
    """Stream a chunked body of 64 KiB chunks until the server answers; return (status, bytes sent).

    The server must answer 413 once it has read past its limit, without waiting for the
    body to end: a server reading the whole body would let this send ``give_up`` bytes.
    """
    host, port = central.thread.host, central.thread.port
    chunk = b"x" * 65_536
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent = 0
    with socket.create_connection((host, port), timeout=10) as sock:
        head = (
            f"{method} {quote(path)} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            'Idempotency-Key: k\r\nIf-Match: "v0"\r\nContent-Type: application/json\r\n'
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.sendall(head.encode())
        answer = b""
        while sent < give_up:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break
            if not writable:
                break  # the server stopped reading: its buffers are full, it will not read more
            try:
                sent += sock.send(framed)
            except (BrokenPipeError, ConnectionResetError):
                break
        try:
            while b"\r\n" not in answer:
                more = sock.recv(65_536)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, sent


@pytest.mark.parametrize(("role", "method", "what"), [("dock-1", "POST", None), ("tms", "PUT", "manifest")])
def test_a_chunked_body_is_refused_while_it_streams(central: Central, role: str, method: str, what: str | None) -> None:
    """The issue's attack: a 400 MB chunked body was read whole (+700 MB of server memory)."""
    token = central.system_token if role == "tms" else central.tokens[role]
    path = doc(HUB_A, what) if what else "/v1/events"
    status, sent = chunked_until_answered(central, token, method, path, give_up=400_000_000)
    assert status == 413
    # The limit is 20 KB / 50 KB: what was sent beyond it sits in socket buffers, unread.
    assert sent < 40_000_000, sent
