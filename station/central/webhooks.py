"""Webhooks for senders: who may be called, and the loop that calls them.

Owns the address rule (only ``http``/``https``; every address the host name resolves to
must be public — no loopback, private, link-local, shared or reserved range — unless the
server runs with ``--allow-private-webhooks``, checked when a subscription is made and
again before each attempt, since a name can change what it points at) and the
:class:`Dispatcher`: an asyncio task of the server that turns new events into queued
messages (:meth:`.TrackingStore.ingest`), posts each due message with the Standard
Webhooks headers (:mod:`.signing`, signed per attempt, the same ``webhook-id`` every
time), and reschedules failures with capped exponential backoff and jitter, honouring a
receiver's ``Retry-After``. Redirects are not followed: a 3xx is a failure, not a way
into the hub's network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from station.central.signing import sign_headers
from station.central.tracking_store import Message, TrackingStore

INGEST_CHUNKS_PER_ROUND = 8
SEND_BATCHES_PER_ROUND = 16
QUIET_S = 0.25  # no push for this long: the pushes have paused
HOLD_MAX_S = 5.0  # tracking waits for pushes at most this long at a time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookPolicy:
    base_s: float = 2.0
    cap_s: float = 3600.0
    max_attempts: int = 36  # about a day: 11 doublings to the one-hour cap, then hourly
    timeout_s: float = 10.0
    poll_s: float = 1.0  # the cursor is read at least this often even without a nudge
    concurrency: int = 8

    def delay(self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds before the next attempt after ``attempts`` failures: half fixed, half jitter
        (never zero, so a receiver that is down is not hammered), at least ``Retry-After``."""
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        jitter = (rng or random).uniform(0, ceiling / 2)
        wait = ceiling / 2 + jitter
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap_s))
        return float(wait)


class UrlRefused(ValueError):
    """A webhook URL the server will not call; the message says why."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: object, *, allow_private: bool, resolve: bool = True) -> None:
    """Raise :class:`UrlRefused` unless the server may call ``url``."""
    if not isinstance(url, str) or len(url) > 2000:
        raise UrlRefused("url must be text of at most 2000 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("url must start with http:// or https://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise UrlRefused(f"url has a bad port: {exc}") from None
    if not host:
        raise UrlRefused("url has no host")
    if parts.username or parts.password:
        raise UrlRefused("url must not carry a user name or password")
    if allow_private or not resolve:
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"host {host} cannot be resolved: {exc}") from None
    for info in infos:
        address = str(info[4][0])
        if not _public(address):
            raise UrlRefused(
                f"host {host} points at {address}, a loopback or private address "
                "(the server allows those only with --allow-private-webhooks)"
            )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


class Dispatcher:
    """Owns the server's webhook loop. ``nudge()`` after a write that may change a status."""

    def __init__(
        self,
        store: TrackingStore,
        policy: WebhookPolicy | None = None,
        *,
        allow_private: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or WebhookPolicy()
        self.allow_private = allow_private
        self.transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_arrival = 0.0
        self._holding_since: float | None = None

    def nudge(self) -> None:
        self._wake.set()

    def arrived(self) -> None:
        """Events or a manifest were just stored: look soon (see :meth:`_held_for_pushes`)."""
        self._last_arrival = time.monotonic()
        self._wake.set()

    def _held_for_pushes(self) -> bool:
        """True while pushes keep arriving (a station's backlog after an outage), for at most
        :data:`HOLD_MAX_S` at a time: the pushes have the CPU first (in this process they share
        the GIL), the statuses follow when they pause."""
        now = time.monotonic()
        if now - self._last_arrival >= QUIET_S:
            self._holding_since = None
            return False
        if self._holding_since is None:
            self._holding_since = now
        if now - self._holding_since < HOLD_MAX_S:
            return True
        self._holding_since = None
        return False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def run(self) -> None:
        async with httpx.AsyncClient(
            timeout=self.policy.timeout_s, follow_redirects=False, transport=self.transport
        ) as client:
            while True:
                self._wake.clear()
                try:
                    await self.step(client)
                except Exception:  # noqa: BLE001 - the loop must outlive one bad round; the log says why
                    log.exception("webhook round failed; trying again")
                wait = self.policy.poll_s
                upcoming = await asyncio.to_thread(self.store.next_due)
                if upcoming is not None:
                    wait = max(0.0, min(wait, upcoming - time.time()))
                if wait > 0:
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=wait)
                    except TimeoutError:
                        pass

    async def step(self, client: httpx.AsyncClient) -> int:
        """One round: ingest, then send the due messages (a parcel's one at a time).

        Both bounded: under a burst neither the queued messages wait behind the ingest of a
        backlog nor the ingest behind sending; a round that stopped at a bound starts the next
        one at once."""
        if self._held_for_pushes():
            await asyncio.sleep(QUIET_S)
            self.nudge()
            return 0
        _, done = await asyncio.to_thread(self.store.ingest_some, INGEST_CHUNKS_PER_ROUND)
        if not done:
            self.nudge()
        await asyncio.to_thread(self.store.db.checkpoint)
        sent = 0
        for _ in range(SEND_BATCHES_PER_ROUND):
            due = await asyncio.to_thread(self.store.due_messages, time.time(), self.policy.concurrency)
            if not due:
                return sent
            await asyncio.gather(*(self._attempt(client, m) for m in due))
            sent += len(due)
        self.nudge()
        return sent

    async def _attempt(self, client: httpx.AsyncClient, message: Message) -> None:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            await asyncio.to_thread(check_url, message.url, allow_private=self.allow_private)
            headers = sign_headers(message.secret, message.message_id, message.body)
            headers["content-type"] = "application/json"
            headers["user-agent"] = "station-central-webhooks/1"
            response = await client.post(message.url, content=message.body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"answered {status}"
                retry_after = _retry_after(response)
        except UrlRefused as exc:
            error = str(exc)
        except httpx.TimeoutException:
            error = f"no answer within {self.policy.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ms = int((time.monotonic() - started) * 1000)
        delivered = status is not None and 200 <= status < 300
        next_at = None
        if not delivered and message.attempts + 1 < self.policy.max_attempts:
            next_at = time.time() + self.policy.delay(message.attempts + 1, retry_after)
        await asyncio.to_thread(
            self.store.record_attempt, message, status=status, error=error, ms=ms, next_attempt_at=next_at
        )
