"""Sync target for companies whose central system is an EPCIS 2.0 repository.

Posts each event, as EPCIS JSON-LD, to the repository's ``POST /events`` (EPCIS 2.0 REST
binding): 201 is delivered, and so is 409 ResourceAlreadyExists, because the eventID is
the station's event uuid (a resend after a lost answer must count as delivered). One
request per event rather than ``/capture``: capture jobs are asynchronous and all-or-
nothing, which would turn one already-held event into a failed batch.
Events that are not parcel observations (station commands) are delivered as "nothing to
send" (docs/epcis.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from station.epcis import object_event
from station.sync.outbox import OutboxRow
from station.sync.targets import Limits, PushResult, raise_for, send


class EpcisCaptureTarget:
    def __init__(self, station_id: str, hub: str, *, events_path: str = "/events") -> None:
        self.station_id = station_id
        self.hub = hub
        self.events_path = events_path

    async def limits(self, client: httpx.AsyncClient) -> Limits:
        # The REST binding announces limits with OPTIONS /capture; one event per request
        # here, so only the batch read from the outbox needs bounding.
        return Limits(max_batch_events=100)

    async def push(self, client: httpx.AsyncClient, rows: Sequence[OutboxRow]) -> PushResult:
        delivered: list[str] = []
        for row in rows:
            event = object_event(json.loads(row.payload), with_context=True)
            if event is not None:
                request = client.build_request(
                    "POST",
                    self.events_path,
                    content=json.dumps(event).encode(),
                    headers={"Content-Type": "application/ld+json", "GS1-EPCIS-Version": "2.0.0"},
                )
                response = await send(client, request)
                if response.status_code != 409:  # 409: the repository already holds it
                    raise_for(response)
            delivered.append(row.event_id)
        return PushResult(delivered=delivered)
