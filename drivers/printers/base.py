"""The printer interface: send a payload (ZPL bytes), ask for a status.

``send`` either hands the whole payload to the device or raises :class:`PrinterError`;
the caller (the station's print queue) keeps the label until a send succeeds.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass


class PrinterState(enum.Enum):
    READY = "ready"
    PAPER_OUT = "paper out"
    HEAD_OPEN = "head open"
    PAUSED = "paused"
    RIBBON_OUT = "ribbon out"
    BUFFER_FULL = "buffer full"
    FAULT = "fault"  # answered nothing while it should have: treat as needing a person
    OFFLINE = "offline"  # cannot be reached at all (unplugged, no route)


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterState
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state is PrinterState.READY


class PrinterError(Exception):
    """A payload could not be handed to the printer; the message says why, for a worker."""


class Printer(abc.ABC):
    name: str

    @abc.abstractmethod
    def send(self, payload: bytes) -> None:
        """Hand the payload to the printer or raise :class:`PrinterError`."""

    @abc.abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer how it is. Never raises: an unreachable printer is OFFLINE."""

    def close(self) -> None:  # noqa: B027 - most printers hold nothing open
        """Release the device."""
