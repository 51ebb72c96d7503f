"""Network label printers on raw TCP port 9100.

This module owns the TCP transport: one short connection per label or status query, so a
printer rebooted or re-cabled between labels needs no reconnect logic, and a printer that
allows one client at a time (most Zebras on 9100) is not held busy by the station.

States: connection refused, no route or a connect timeout is OFFLINE (nobody there); a
printer that accepts the connection but does not answer ``~HS`` in ``timeout_s`` is FAULT,
because that is what a Zebra does with paper out or the head open.
"""

from __future__ import annotations

import logging
import socket
import time

from drivers.printers import zpl_status
from drivers.printers.base import Printer, PrinterError, PrinterState, PrinterStatus

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")


class TcpPrinter(Printer):
    def __init__(self, name: str, host: str, port: int = 9100, timeout_s: float = 3.0) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.timeout_s = timeout_s

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
                deadline = time.monotonic() + self.timeout_s
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
            pass  # no (complete) answer: judged below
        except OSError as exc:
            # Reset after connecting: reachable but not talking.
            log.warning("printer %s: status query failed: %s", self.name, exc)
        wire.debug("%s <- %r", self.name, answer)
        return zpl_status.status_from_answer(answer)
