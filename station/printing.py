"""The print queue: every label waits on disk until a printer has taken it.

Owns which printer prints what (the ``jobs`` of each ``[[printers]]`` entry), the queue
table and its delivery loop. A label is queued in the same transaction as the scan event
that asked for it, then delivered off the scan path; a printer with no paper, a cable
pulled or a restart loses nothing: the job stays until a send succeeds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from drivers.printers import Printer, PrinterError, PrinterState, PrinterStatus
from station.store import Store

log = logging.getLogger(__name__)

SORT_LABEL = "sort_label"
LOAD_LIST = "load_list"
DAY_CLOSE = "day_close"
JOBS = (SORT_LABEL, LOAD_LIST, DAY_CLOSE)


def enqueue(
    db: sqlite_utils.Database, job: str, payload: bytes, *, event_id: str | None = None, tracking_id: str | None = None
) -> int:
    """Queue a payload inside the caller's transaction; returns the job id."""
    cursor = db.conn.execute(
        "INSERT INTO print_jobs (job, payload, created_at, event_id, tracking_id, attempts) VALUES (?, ?, ?, ?, ?, 0)",
        (job, payload, datetime.now(UTC).isoformat(), event_id, tracking_id),
    )
    return int(cursor.lastrowid or 0)


@dataclass(frozen=True)
class PrinterReport:
    name: str
    jobs: tuple[str, ...]
    status: PrinterStatus


class PrintQueue:
    """Delivers queued jobs to the printers assigned to them."""

    def __init__(self, store: Store, printers: Mapping[str, tuple[Printer, tuple[str, ...]]]) -> None:
        # name -> (printer, jobs it takes)
        self.store = store
        self.printers = dict(printers)
        self._statuses: dict[str, PrinterStatus] = {name: PrinterStatus(PrinterState.READY) for name in self.printers}
        self._deliver_lock = threading.Lock()

    def printer_for(self, job: str) -> str | None:
        return next((name for name, (_, jobs) in self.printers.items() if job in jobs), None)

    def pending(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM print_jobs WHERE printed_at IS NULL") or 0)

    def statuses(self) -> list[PrinterReport]:
        return [PrinterReport(name, jobs, self._statuses[name]) for name, (_, jobs) in self.printers.items()]

    def deliver(self, limit: int = 50) -> int:
        """Send waiting jobs, oldest first; stop a printer's run at its first failure.

        Returns the number of jobs printed. Blocking (printer I/O): call it from a thread.
        """
        with self._deliver_lock:
            rows = self.store.query(
                "SELECT id, job, payload FROM print_jobs WHERE printed_at IS NULL ORDER BY id LIMIT ?", (limit,)
            )
            failed: set[str] = set()
            printed = 0
            for row in rows:
                name = self.printer_for(row["job"])
                if name is None or name in failed:
                    continue
                printer = self.printers[name][0]
                try:
                    printer.send(bytes(row["payload"]))
                except PrinterError as exc:
                    failed.add(name)
                    self._statuses[name] = printer.status()
                    log.warning("printer %s: label %s kept in queue: %s", name, row["id"], exc)
                    self._mark(row["id"], error=str(exc))
                    continue
                self._statuses[name] = PrinterStatus(PrinterState.READY)
                self._mark(row["id"], error=None)
                printed += 1
            return printed

    def refresh_status(self) -> None:
        for name, (printer, _) in self.printers.items():
            self._statuses[name] = printer.status()

    def _mark(self, job_id: int, *, error: str | None) -> None:
        with self.store.write() as db:
            if error is None:
                db.execute(
                    "UPDATE print_jobs SET printed_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                    [datetime.now(UTC).isoformat(), job_id],
                )
            else:
                db.execute(
                    "UPDATE print_jobs SET attempts = attempts + 1, last_error = ? WHERE id = ?", [error, job_id]
                )

    def close(self) -> None:
        for printer, _ in self.printers.values():
            printer.close()
