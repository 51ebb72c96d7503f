"""Label printers on a serial port (RS-232 or a USB-serial adapter), through pyserial.

This module owns the serial transport. The port is opened for each label or status query
and closed after, so a printer that was switched off or unplugged in between needs no
reconnect logic. ``write_timeout`` keeps a printer that stopped taking data (paper out,
hardware flow control holding) from hanging the print queue.
"""

from __future__ import annotations

import logging
import time

import serial

from drivers.printers import zpl_status
from drivers.printers.base import Printer, PrinterError, PrinterState, PrinterStatus

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")


class SerialPrinter(Printer):
    def __init__(
        self, name: str, port: str, baudrate: int = 9600, timeout_s: float = 3.0, answer_timeout_s: float | None = None
    ) -> None:
        self.name = name
        self.port = port
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        # A Zebra answers ~HS at once; waiting longer only delays showing a fault.
        self.answer_timeout_s = answer_timeout_s if answer_timeout_s is not None else min(timeout_s, 1.5)

    def _open(self) -> serial.Serial:
        return serial.Serial(self.port, self.baudrate, timeout=0.1, write_timeout=self.timeout_s)

    def send(self, payload: bytes) -> None:
        try:
            with self._open() as port:
                wire.debug("%s -> %r", self.name, payload)
                port.write(payload)
                port.flush()
        except serial.SerialTimeoutException as exc:
            raise PrinterError(f"printer {self.name} is not taking data (paper out or head open?)") from exc
        except (serial.SerialException, OSError) as exc:
            raise PrinterError(f"printer {self.name} on {self.port}: {exc}") from exc

    def status(self) -> PrinterStatus:
        try:
            port = self._open()
        except (serial.SerialException, OSError) as exc:
            return PrinterStatus(PrinterState.OFFLINE, f"{self.port}: {exc}")
        answer = b""
        try:
            with port:
                # A line has no connections: an answer that came too late for the last query
                # would otherwise be read as the answer to this one.
                port.reset_input_buffer()
                wire.debug("%s -> %r", self.name, zpl_status.QUERY)
                port.write(zpl_status.QUERY)
                deadline = time.monotonic() + self.answer_timeout_s
                while not zpl_status.is_complete(answer) and time.monotonic() < deadline:
                    answer += port.read(max(1, port.in_waiting))
                # Answers to earlier queries that came late may be queued behind: take them all.
                while zpl_status.is_complete(answer) and (more := port.read(port.in_waiting or 1)):
                    answer += more
        except serial.SerialTimeoutException:
            return zpl_status.NO_ANSWER
        except (serial.SerialException, OSError) as exc:
            return PrinterStatus(PrinterState.OFFLINE, f"{self.port}: {exc}")
        wire.debug("%s <- %r", self.name, answer)
        return zpl_status.status_from_answer(answer)
