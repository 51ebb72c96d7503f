"""The printer interface: send a payload (ZPL bytes), ask for a status, print with confirmation.

``send`` either hands the whole payload to the device or raises :class:`PrinterError`.
``print_label`` is what a print queue calls: it asks the printer first (``~HS``), sends, then
asks again until the printer says the format has left its receive buffer with no error, and
answers one of three :class:`Delivery` outcomes. Only ``CONFIRMED`` means a label came out;
``UNCONFIRMED`` means the whole label was handed over and may or may not have printed (send it
again marked as a reprint); ``NOT_SENT`` means no whole label reached the printer.
"""

from __future__ import annotations

import abc
import enum
import time
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
    formats_in_buffer: int | None = None  # from ~HS; None when the transport cannot tell

    @property
    def ok(self) -> bool:
        return self.state is PrinterState.READY


class PrinterError(Exception):
    """A payload could not be handed to the printer; the message says why, for a worker.

    ``maybe_printed`` is True when every byte was handed over before the failure (a reset
    after the whole label went out): the printer may have printed it.
    """

    def __init__(self, message: str, *, maybe_printed: bool = False) -> None:
        super().__init__(message)
        self.maybe_printed = maybe_printed


class Delivery(enum.Enum):
    CONFIRMED = "confirmed"  # the printer said the format left its buffer, no error
    UNCONFIRMED = "unconfirmed"  # handed over whole, then no confirmation: may have printed
    NOT_SENT = "not sent"  # no whole label reached the printer


@dataclass(frozen=True)
class PrintOutcome:
    delivery: Delivery
    status: PrinterStatus  # the printer's state as last seen (why, when not confirmed)


# Between two ~HS while a format is still in the printer's buffer (it is printing).
CONFIRM_POLL_S = 0.1


class Printer(abc.ABC):
    name: str

    @abc.abstractmethod
    def send(self, payload: bytes) -> None:
        """Hand the payload to the printer or raise :class:`PrinterError`."""

    @abc.abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer how it is. Never raises: an unreachable printer is OFFLINE."""

    def print_label(self, payload: bytes, confirm_timeout_s: float = 10.0) -> PrintOutcome:
        """Ask, send, and wait for the printer to confirm; never raises.

        Transports whose ``status`` cannot see the receive buffer (``formats_in_buffer`` None)
        confirm on a ready status after the write: that is all they can know.
        """
        before = self.status()
        if not before.ok:
            return PrintOutcome(Delivery.NOT_SENT, before)
        try:
            self.send(payload)
        except PrinterError as exc:
            delivery = Delivery.UNCONFIRMED if exc.maybe_printed else Delivery.NOT_SENT
            return PrintOutcome(delivery, PrinterStatus(PrinterState.FAULT, str(exc)))
        return self.confirm(confirm_timeout_s)

    def confirm(self, timeout_s: float, first: PrinterStatus | None = None) -> PrintOutcome:
        """After a whole send: ask ``~HS`` until the buffer is empty with no error, or give up."""
        deadline = time.monotonic() + timeout_s
        status = first or self.status()
        while True:
            if not status.ok:
                return PrintOutcome(Delivery.UNCONFIRMED, status)
            if not status.formats_in_buffer:
                return PrintOutcome(Delivery.CONFIRMED, status)
            if time.monotonic() >= deadline:
                why = f"{status.formats_in_buffer} labels still in the printer's buffer after {timeout_s:g} s"
                return PrintOutcome(Delivery.UNCONFIRMED, PrinterStatus(PrinterState.FAULT, why))
            time.sleep(CONFIRM_POLL_S)
            status = self.status()

    def close(self) -> None:  # noqa: B027 - most printers hold nothing open
        """Release the device."""
