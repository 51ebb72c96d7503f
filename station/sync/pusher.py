"""Draining the outbox through a target: batching, splitting, quarantine and retry.

Owns the error policy of the issue, in one place:
connection errors, timeouts, 5xx, 429 (and 409 "still in flight") are retried with
capped exponential backoff, full jitter and the Retry-After floor; 413 halves the batch;
401 re-reads the token and raises an alert; 403 and TLS failures stop sync; 400/422 move
the named event to the quarantine (bisecting the batch when the server names none).

Events are acknowledged (deleted from the outbox) only after the server said 2xx, so a
crash at any point leaves them pending and they are simply sent again: the server's
unique event ids turn the resend into a no-op. Database calls run in a worker thread so
an fsync never stalls the screen's event loop; a batch's delete from the outbox runs while
the next batch is on its way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx

from station.errors import SyncError
from station.sync.backoff import Backoff
from station.sync.connection import BearerToken
from station.sync.outbox import Outbox, OutboxRow
from station.sync.status import SyncState, SyncStatus
from station.sync.targets import PushFailure, Refused, Retry, Stop, Target, TokenRefused, TooLarge

log = logging.getLogger("station.sync")

T = TypeVar("T")
REPORT_EVERY_S = 0.5
# Batches on their way at once: two keep the server busy on two cores, and no more than two
# are sent again after a failure.
IN_FLIGHT = 2
StatusCallback = Callable[[SyncStatus], None]


class Pusher:
    def __init__(
        self,
        outbox: Outbox,
        target: Target,
        client: httpx.AsyncClient,
        *,
        auth: BearerToken | None = None,
        batch_size: int = 500,
        backoff: Backoff | None = None,
        on_status: StatusCallback | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.outbox = outbox
        self.target = target
        self.client = client
        self.auth = auth
        self.batch_size = max(1, batch_size)
        self.backoff = backoff or Backoff()
        self.on_status = on_status
        self._sleep = sleep
        self.status = SyncStatus(SyncState.OK, backlog=0, quarantined=0, last_good_sync=None)
        self.pushed = 0  # events acknowledged by this pusher, for the CLI and the bench
        self._acking: asyncio.Future[None] | None = None

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def report(self, state: SyncState, reason: str | None = None, alert: str | None = None) -> None:
        backlog = await self._db(self.outbox.backlog)
        quarantined = await self._db(self.outbox.quarantined_count)
        last = await self._db(self.outbox.last_good_sync)
        if alert is None and state is not SyncState.STOPPED and quarantined:
            alert = f"{quarantined} event(s) refused by the server: see station sync --status"
        new = SyncStatus(state, backlog, quarantined, last, reason, alert)
        if new != self.status:
            self.status = new
            if self.on_status is not None:
                self.on_status(new)

    async def refresh_limits(self) -> None:
        """Ask the server for its limits and never send more than it announced."""
        limits = await self.target.limits(self.client)
        self.batch_size = max(1, min(self.batch_size, limits.max_batch_events))

    async def heartbeat(self) -> bool:
        """A cheap request when idle, so the screen's 'last good sync' and 'offline' stay true."""
        try:
            await self.target.limits(self.client)
        except PushFailure as exc:
            await self.record_failure(exc)
            return False
        await self._db(self.outbox.mark_good_sync)
        await self.report(SyncState.OK)
        return True

    async def drain(self, *, max_failures: int | None = None) -> bool:
        """Push until the outbox is empty (True) or ``max_failures`` retries in a row failed.

        Raises :class:`Stop` when sync must stop (the status says why). :data:`IN_FLIGHT`
        batches travel at once (the server checks one while it commits the other), and the
        answered ones are deleted from the outbox while the next ones travel.
        """
        failures = 0
        reported = 0.0
        batches = await self._heads(0)
        while True:
            if not batches:
                await self._settle()
                # What an answer left in the outbox (neither held nor refused) goes again.
                batches = await self._heads(0)
                if not batches:
                    await self.report(SyncState.OK)
                    return True
            outcomes = await asyncio.gather(*(self._push(rows) for rows in batches), return_exceptions=True)
            delivered = [event_id for outcome in outcomes if isinstance(outcome, list) for event_id in outcome]
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            await self._settle()
            if failure is not None:
                if delivered:
                    await self._acknowledge(delivered)
                    await self._settle()
                if not isinstance(failure, PushFailure):
                    raise failure
                failures += 1
                delay = await self.record_failure(failure)  # Stop is reported and re-raised there
                if max_failures is not None and failures > max_failures:
                    return False
                await self._sleep(delay)
                batches = await self._heads(0)
                continue
            failures = 0
            self.backoff.reset()
            # Read before the delete starts: it holds the station's store while it commits.
            batches = await self._heads(batches[-1][-1].seq)
            if delivered:
                await self._acknowledge(delivered)
            # The status (a count over the outbox) a few times a second, not after every batch.
            now = time.monotonic()
            if now - reported >= REPORT_EVERY_S or self.status.state is not SyncState.OK:
                await self._settle()
                await self.report(SyncState.OK)
                reported = now

    async def _heads(self, after_seq: int) -> list[list[OutboxRow]]:
        """The next :data:`IN_FLIGHT` batches of the outbox after ``after_seq``."""
        batches: list[list[OutboxRow]] = []
        for _ in range(IN_FLIGHT):
            rows = await self._db(self.outbox.head, self.batch_size, after_seq)
            if not rows:
                break
            batches.append(rows)
            after_seq = rows[-1].seq
        return batches

    async def _acknowledge(self, event_ids: list[str]) -> None:
        """Start deleting what the server holds; :meth:`_settle` waits for it (and raises its error)."""
        self._acking = asyncio.ensure_future(self._db(self.outbox.acknowledge, event_ids))
        self.pushed += len(event_ids)

    async def _settle(self) -> None:
        acking, self._acking = self._acking, None
        if acking is not None:
            await acking

    async def record_failure(self, exc: PushFailure) -> float:
        """Record a failure in the status; return how long to wait before the next try."""
        if isinstance(exc, Stop):
            log.error("sync stopped: %s", exc.reason)
            await self.report(SyncState.STOPPED, exc.reason, alert=exc.reason)
            raise exc
        if isinstance(exc, TokenRefused):
            try:
                changed = self.auth.reload() if self.auth is not None else False
            except SyncError as err:
                stop = Stop(str(err))
                await self.report(SyncState.STOPPED, stop.reason, alert=stop.reason)
                raise stop from err
            alert = "server refused the station's token" + (
                "; a new token was read from its file" if changed else "; replace the token file"
            )
            log.warning("sync: %s", alert)
            await self.report(SyncState.RETRYING, exc.reason, alert=alert)
            return self.backoff.next_delay()
        retry_after = exc.retry_after if isinstance(exc, Retry) else None
        offline = isinstance(exc, Retry) and exc.offline
        log.info("sync retry: %s", exc.reason)
        await self.report(SyncState.OFFLINE if offline else SyncState.RETRYING, exc.reason)
        return self.backoff.next_delay(retry_after)

    async def _push(self, rows: Sequence[OutboxRow]) -> list[str]:
        """Send ``rows``; the ids the server now holds (refused ones are quarantined here)."""
        try:
            result = await self.target.push(self.client, rows)
        except TooLarge:
            if len(rows) == 1:
                await self._quarantine({rows[0].event_id: (413, "event larger than the server accepts")})
                return []
            # Remember the smaller size: the next batches would be refused the same way.
            half = len(rows) // 2
            self.batch_size = max(1, min(self.batch_size, half))
            return await self._push(rows[:half]) + await self._push(rows[half:])
        except Refused as exc:
            named = {eid: why for eid, why in exc.per_event.items() if any(r.event_id == eid for r in rows)}
            if named:
                await self._quarantine({eid: (exc.status, why) for eid, why in named.items()})
                rest = [r for r in rows if r.event_id not in named]
                return await self._push(rest) if rest else []
            if len(rows) == 1:
                await self._quarantine({rows[0].event_id: (exc.status, exc.reason)})
                return []
            # The server did not say which event is bad: bisect until it is alone.
            half = len(rows) // 2
            return await self._push(rows[:half]) + await self._push(rows[half:])
        if result.refused:
            await self._quarantine(result.refused)
        return list(result.delivered)

    async def _quarantine(self, refused: dict[str, tuple[int | None, str]]) -> None:
        for event_id, (status, reason) in refused.items():
            log.warning("sync: event %s quarantined (%s): %s", event_id, status, reason)
        await self._db(self.outbox.quarantine, refused)
