"""Running sync: the background task the screen starts, and the one-shot push of the CLI.

``run_sync`` is an asyncio task on the screen's event loop; it never touches the scan
path's connection (it opens its own, so SQLite's WAL and BEGIN IMMEDIATE arbitrate) and
the scan path never awaits it. ``push_once`` is the same pusher driven to completion
for ``station sync --once``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from station.errors import SyncError
from station.store import Store
from station.sync.backoff import Backoff
from station.sync.connection import BearerToken, ServerSettings, async_client
from station.sync.outbox import Outbox
from station.sync.pusher import Pusher, StatusCallback
from station.sync.status import SyncState, SyncStatus
from station.sync.targets import CentralTarget, PushFailure, Stop, Target

log = logging.getLogger("station.sync")


class SyncConfig(Protocol):
    """What sync needs of ``station.config.Config``."""

    @property
    def station_id(self) -> str: ...
    @property
    def server(self) -> ServerSettings | None: ...


def server_of(config: SyncConfig) -> ServerSettings:
    if config.server is None:
        raise SyncError("no [server] table in the config: sync has nowhere to send events")
    return config.server


def make_target(config: SyncConfig) -> Target:
    server = server_of(config)
    # An EPCIS repository instead of the station protocol: [server] protocol = "epcis".
    if getattr(server, "protocol", "station") == "epcis":
        from station.sync.epcis_target import EpcisCaptureTarget

        hub = getattr(getattr(config, "hub", None), "name", "hub")
        return EpcisCaptureTarget(config.station_id, hub)
    return CentralTarget(config.station_id)


def current_status(store: Store) -> SyncStatus:
    """The status as far as the database knows it (no network): for ``sync --status``."""
    outbox = Outbox(store)
    return SyncStatus(
        SyncState.OK,
        backlog=outbox.backlog(),
        quarantined=outbox.quarantined_count(),
        last_good_sync=outbox.last_good_sync(),
    )


async def run_sync(
    store: Store,
    config: SyncConfig,
    status_cb: StatusCallback | None = None,
    *,
    wake: asyncio.Event | None = None,
    idle_s: float = 2.0,
    heartbeat_s: float = 30.0,
    backoff: Backoff | None = None,
) -> None:
    """Push the outbox forever; cancel the task to end it.

    ``wake`` (optional) lets the scan path say "there is something new" so an event goes
    out at once instead of at the next idle poll; setting it is all the scan path does.
    After a 403 / TLS failure / missing token the task stays alive in ``stopped`` (the
    screen keeps showing the backlog) and sends nothing until the station is restarted.
    """
    own = Store.open(store.path, check=False)
    outbox = Outbox(own)
    try:
        server = server_of(config)
        try:
            auth = BearerToken(server)
        except SyncError as exc:
            await _stopped_forever(outbox, str(exc), status_cb, idle_s)
            return
        async with async_client(server, auth) as client:
            pusher = Pusher(
                outbox,
                make_target(config),
                client,
                auth=auth,
                batch_size=server.batch_size,
                backoff=backoff,
                on_status=status_cb,
            )
            limits_known = False
            since_contact = heartbeat_s
            while True:
                try:
                    if not limits_known:
                        await pusher.refresh_limits()
                        limits_known = True
                    if await asyncio.to_thread(outbox.backlog):
                        if await pusher.drain():
                            since_contact = 0.0
                    elif since_contact >= heartbeat_s:
                        await pusher.heartbeat()
                        since_contact = 0.0
                except Stop as exc:
                    await pusher.report(SyncState.STOPPED, exc.reason, alert=exc.reason)
                    await _stopped_forever(outbox, exc.reason, status_cb, idle_s, pusher)
                    return
                except PushFailure as exc:
                    # Only the limits request lands here; the pusher retries pushes itself.
                    await asyncio.sleep(await pusher.record_failure(exc))
                    continue
                except Exception:  # a bug must not kill sync for the rest of the shift
                    log.exception("sync: unexpected error; retrying")
                    await asyncio.sleep(pusher.backoff.next_delay())
                    continue
                if wake is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), idle_s)
                    wake.clear()
                else:
                    await asyncio.sleep(idle_s)
                since_contact += idle_s
    finally:
        own.close()


async def _stopped_forever(
    outbox: Outbox,
    reason: str,
    status_cb: StatusCallback | None,
    idle_s: float,
    pusher: Pusher | None = None,
) -> None:
    """Keep the screen's backlog count current while sync is stopped; never send."""
    while True:
        if pusher is not None:
            await pusher.report(SyncState.STOPPED, reason, alert=reason)
        elif status_cb is not None:
            status = await asyncio.to_thread(current_status, outbox.store)
            status_cb(status.evolve(state=SyncState.STOPPED, reason=reason, alert=reason))
        await asyncio.sleep(max(idle_s, 5.0))


async def push_until_empty(
    store: Store,
    config: SyncConfig,
    *,
    max_failures: int = 3,
    backoff: Backoff | None = None,
    status_cb: StatusCallback | None = None,
) -> tuple[SyncStatus, int]:
    """Push everything pending; give up after ``max_failures`` failed retries in a row."""
    server = server_of(config)
    outbox = Outbox(store)
    auth = BearerToken(server)
    async with async_client(server, auth) as client:
        pusher = Pusher(
            outbox,
            make_target(config),
            client,
            auth=auth,
            batch_size=server.batch_size,
            backoff=backoff,
            on_status=status_cb,
        )
        try:
            failures = 0
            while True:
                try:
                    await pusher.refresh_limits()
                    break
                except Stop:
                    raise
                except PushFailure as exc:
                    failures += 1
                    delay = await pusher.record_failure(exc)
                    if failures > max_failures:
                        return pusher.status, pusher.pushed
                    await asyncio.sleep(delay)
            await pusher.drain(max_failures=max_failures)
            if pusher.status.state is SyncState.OK and pusher.pushed == 0:
                await asyncio.to_thread(outbox.mark_good_sync)
                await pusher.report(SyncState.OK)
        except Stop as exc:
            await pusher.report(SyncState.STOPPED, exc.reason, alert=exc.reason)
        return pusher.status, pusher.pushed


def push_once(
    store: Store,
    config: SyncConfig,
    *,
    max_failures: int = 3,
    backoff: Backoff | None = None,
) -> SyncStatus:
    """Synchronous wrapper for the CLI: push everything pending and return the status.

    ``status.backlog == 0`` and state ``ok`` mean everything was delivered.
    """
    status, _ = asyncio.run(push_until_empty(store, config, max_failures=max_failures, backoff=backoff))
    return status
