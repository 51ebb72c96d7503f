"""A printer that writes each payload to a numbered ``.zpl`` file (the demo's default).

This module owns the file printer: one file per label, ``label-000001.zpl`` upwards, each
written to a temporary name, fsynced and renamed into place, so a reader (a ZPL viewer, a
test, a lead checking the demo) never sees half a label, and a power cut leaves either the
whole file or none. Numbering resumes after the highest number already in the directory.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from drivers.printers.base import Printer, PrinterError, PrinterState, PrinterStatus

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")

_NAME = re.compile(r"^label-(\d+)\.zpl$")


class FilePrinter(Printer):
    """Writes labels into ``directory`` (created if missing)."""

    def __init__(self, name: str, directory: str | os.PathLike[str], suffix: str = ".zpl") -> None:
        self.name = name
        self.directory = Path(directory)
        self.suffix = suffix
        self._lock = threading.Lock()  # the print queue may send from a worker thread
        self._next: int | None = None

    def _next_number(self) -> int:
        if self._next is None:
            highest = 0
            for entry in self.directory.iterdir():
                match = _NAME.match(entry.name)
                if match:
                    highest = max(highest, int(match.group(1)))
            self._next = highest + 1
        return self._next

    def send(self, payload: bytes) -> None:
        with self._lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                number = self._next_number()
                final = self.directory / f"label-{number:06d}{self.suffix}"
                tmp = self.directory / f".label-{number:06d}.tmp"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    os.write(fd, payload)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, final)
                # fsync the directory too: otherwise the rename itself may not survive a power cut.
                dir_fd = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            except OSError as exc:
                raise PrinterError(f"printer {self.name}: cannot write to {self.directory}: {exc}") from exc
            self._next = number + 1
        wire.debug("%s -> %s (%d bytes)", self.name, final.name, len(payload))
        log.info("printer %s wrote %s", self.name, final)

    @property
    def last_file(self) -> Path | None:
        """The newest label file written by anyone, or None."""
        try:
            names = sorted(e for e in self.directory.iterdir() if _NAME.match(e.name))
        except OSError:
            return None
        return names[-1] if names else None

    def status(self) -> PrinterStatus:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return PrinterStatus(PrinterState.OFFLINE, f"cannot create {self.directory}: {exc}")
        if not os.access(self.directory, os.W_OK | os.X_OK):
            return PrinterStatus(PrinterState.OFFLINE, f"{self.directory} is not writable")
        return PrinterStatus(PrinterState.READY, str(self.directory))
