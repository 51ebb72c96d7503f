"""Network label printers on raw TCP port 9100.

This module owns the TCP transport: one short connection per label or status query, so a
printer rebooted or re-cabled between labels needs no reconnect logic, and a printer that
allows one client at a time (most Zebras on 9100) is not held busy by the station.

States: connection refused, no route or a connect timeout is OFFLINE (nobody there); a
printer that accepts the connection but does not answer ``~HS`` in ``timeout_s`` is FAULT,
because that is what a Zebra does with paper out or the head open.

Printing with confirmation (``print_label``) sends the label and ``~HS`` on one connection:
an answer there proves the printer read the whole label (it handles ``~HS`` only after the
bytes before it), and a reset or silence after the whole label went out is reported as
"may have printed", never as printed.
"""

from __future__ import annotations

import logging
import socket
import time

from drivers.printers import zpl_status
from drivers.printers.base import Delivery, Printer, PrinterError, PrinterState, PrinterStatus, PrintOutcome

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")


class TcpPrinter(Printer):
    def __init__(
        self, name: str, host: str, port: int = 9100, timeout_s: float = 3.0, answer_timeout_s: float | None = None
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        # A Zebra answers ~HS in milliseconds; waiting longer only delays showing a fault.
        self.answer_timeout_s = answer_timeout_s if answer_timeout_s is not None else min(timeout_s, 1.5)

    def _connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=self.timeout_s)

    def send(self, payload: bytes) -> None:
        try:
            with self._connect() as sock:
                wire.debug("%s -> %r", self.name, payload)
                sock.sendall(payload)
                # An orderly close, so the printer sees the end of the job before any reset.
                sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise PrinterError(f"printer {self.name} ({self.host}:{self.port}): {exc}") from exc

    def _answer(self, sock: socket.socket) -> bytes:
        """Read a ~HS answer until complete, closed or timed out; a reset raises OSError."""
        answer = b""
        deadline = time.monotonic() + self.answer_timeout_s
        try:
            while not zpl_status.is_complete(answer):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                chunk = sock.recv(1024)
                if not chunk:
                    break  # the printer closed: use what came
                answer += chunk
        except TimeoutError:
            pass  # no (complete) answer: the caller judges
        wire.debug("%s <- %r", self.name, answer)
        return answer

    def status(self) -> PrinterStatus:
        try:
            sock = self._connect()
        except OSError as exc:
            return PrinterStatus(PrinterState.OFFLINE, f"{self.host}:{self.port}: {exc}")
        answer = b""
        try:
            with sock:
                wire.debug("%s -> %r", self.name, zpl_status.QUERY)
                sock.sendall(zpl_status.QUERY)
                answer = self._answer(sock)
        except OSError as exc:
            # Reset after connecting: reachable but not talking.
            log.warning("printer %s: status query failed: %s", self.name, exc)
        return zpl_status.status_from_answer(answer)

    def print_label(self, payload: bytes, confirm_timeout_s: float = 10.0) -> PrintOutcome:
        before = self.status()
        if not before.ok:
            return PrintOutcome(Delivery.NOT_SENT, before)
        try:
            sock = self._connect()
        except OSError as exc:
            return PrintOutcome(
                Delivery.NOT_SENT, PrinterStatus(PrinterState.OFFLINE, f"{self.host}:{self.port}: {exc}")
            )
        with sock:
            try:
                wire.debug("%s -> %r", self.name, payload)
                sock.sendall(payload)
            except OSError as exc:
                # Part of the label at most: a printer drops a format that never ends.
                why = f"connection lost while sending the label: {exc}"
                return PrintOutcome(Delivery.NOT_SENT, PrinterStatus(PrinterState.FAULT, why))
            try:
                wire.debug("%s -> %r", self.name, zpl_status.QUERY)
                sock.sendall(zpl_status.QUERY)
                answer = self._answer(sock)
            except OSError as exc:
                why = f"connection reset after the whole label was sent: {exc}"
                return PrintOutcome(Delivery.UNCONFIRMED, PrinterStatus(PrinterState.FAULT, why))
        return self.confirm(confirm_timeout_s, zpl_status.status_from_answer(answer))
