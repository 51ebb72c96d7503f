"""The scanner interface: an async stream of raw scans, and a connection state.

A scanner knows nothing of barcodes' meaning: it frames the bytes of one scan (up to
its terminator) and stamps them with where and when they arrived. Decoding the text
into a parcel identity is the station's job (``station.barcodes``).
"""

from __future__ import annotations

import abc
import asyncio
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class ScannerState(enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # was there, went away; being retried
    MISSING = "missing"  # never seen since start; being retried


@dataclass(frozen=True)
class RawScan:
    """One scan as the device delivered it, terminator removed."""

    source: str
    data: bytes
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Scanner(abc.ABC):
    """A source of :class:`RawScan`; iterate it with ``async for``.

    Implementations reconnect by themselves: the iterator only ends when
    :meth:`close` is called. ``state`` says whether the device is there now.
    """

    name: str
    state: ScannerState = ScannerState.MISSING
    # Why the scanner is not connected ("cannot open: No such file or directory"), for the
    # screen's warning; empty while connected.
    last_error: str = ""

    @abc.abstractmethod
    def scans(self) -> AsyncIterator[RawScan]:
        """Yield scans until :meth:`close` is called."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop reading and release the device."""


# Queued by a reader when its scanner is closed: the iterator below then ends.
STOP = object()


async def iterate_scans(queue: asyncio.Queue[Any]) -> AsyncIterator[RawScan]:
    """Yield what a reader puts on ``queue`` until it puts :data:`STOP`."""
    while True:
        item = await queue.get()
        if item is STOP:
            return
        yield item
