"""USB printers through the kernel's usblp driver (``/dev/usb/lp*``).

This module owns writing to a printer character device. It never blocks the caller for
longer than ``timeout_s``: usblp stops taking data when the printer is out of paper, and a
plain blocking ``write`` would hang the print queue with it, so the device is opened
non-blocking and each write waits for writability with ``select``.

Hardware notes: the number in ``lp0`` follows plug order, so configure a
``/dev/station/printer-...`` symlink from ``systemd/99-station.rules``. The device is
group ``lp``: the station user must be in it. A printer driven through pyusb
(``drivers.printers.usb``) has usblp detached, and then has no ``/dev/usb/lp*`` at all.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import time

from drivers.printers import zpl_status
from drivers.printers.base import Printer, PrinterError, PrinterState, PrinterStatus

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")

# Errors that mean "the device is not there" rather than "the device is unhappy".
_GONE = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EACCES, errno.EPERM}


def write_all(fd: int, payload: bytes, timeout_s: float) -> None:
    """Write all of ``payload`` to a non-blocking fd, or raise TimeoutError/OSError."""
    view = memoryview(payload)
    deadline = time.monotonic() + timeout_s
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{len(view)} of {len(payload)} bytes not taken")
        _, writable, _ = select.select([], [fd], [], left)
        if not writable:
            continue
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[written:]


def read_answer(fd: int, timeout_s: float) -> bytes:
    """Read a ~HS answer from a non-blocking fd until complete or ``timeout_s`` passed."""
    answer = b""
    deadline = time.monotonic() + timeout_s
    while not zpl_status.is_complete(answer):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            continue
        try:
            chunk = os.read(fd, 1024)
        except BlockingIOError:
            continue
        if not chunk:
            # usblp returns 0 bytes when the printer has nothing to say: wait a little.
            time.sleep(0.05)
            continue
        answer += chunk
    return answer


class LpPrinter(Printer):
    def __init__(self, name: str, path: str, timeout_s: float = 5.0, answer_timeout_s: float | None = None) -> None:
        self.name = name
        self.path = path
        self.timeout_s = timeout_s
        # A Zebra answers ~HS at once; waiting longer only delays showing a fault.
        self.answer_timeout_s = answer_timeout_s if answer_timeout_s is not None else min(timeout_s, 1.5)

    def _open(self, flags: int) -> int:
        return os.open(self.path, flags | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)

    def send(self, payload: bytes) -> None:
        try:
            fd = self._open(os.O_WRONLY)
        except OSError as exc:
            raise PrinterError(f"printer {self.name}: cannot open {self.path}: {exc.strerror}") from exc
        try:
            wire.debug("%s -> %r", self.name, payload)
            write_all(fd, payload, self.timeout_s)
        except TimeoutError as exc:
            raise PrinterError(f"printer {self.name} is not taking data (paper out or head open?): {exc}") from exc
        except OSError as exc:
            raise PrinterError(f"printer {self.name}: writing to {self.path} failed: {exc.strerror}") from exc
        finally:
            os.close(fd)

    def status(self) -> PrinterStatus:
        try:
            fd = self._open(os.O_RDWR)
        except OSError as exc:
            return PrinterStatus(PrinterState.OFFLINE, f"{self.path}: {exc.strerror}")
        try:
            wire.debug("%s -> %r", self.name, zpl_status.QUERY)
            write_all(fd, zpl_status.QUERY, self.timeout_s)
            answer = read_answer(fd, self.answer_timeout_s)
        except TimeoutError:
            return zpl_status.NO_ANSWER
        except OSError as exc:
            if exc.errno in _GONE:
                return PrinterStatus(PrinterState.OFFLINE, f"{self.path}: {exc.strerror}")
            return PrinterStatus(PrinterState.FAULT, f"{self.path}: {exc.strerror}")
        finally:
            os.close(fd)
        wire.debug("%s <- %r", self.name, answer)
        return zpl_status.status_from_answer(answer)
