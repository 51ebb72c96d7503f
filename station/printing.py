"""The print queue: every label waits on disk until a printer has confirmed it.

Owns which printer prints what (the ``jobs`` of each ``[[printers]]`` entry), the queue
table and its delivery loop, and what the screen says about each printer. A label is
queued in the same transaction as the scan event that asked for it, then delivered off the
scan path. It counts as printed only when the printer confirmed it (``Printer.print_label``:
``~HS`` before, the format gone from the receive buffer with no error after); anything else
leaves it waiting, in scan order, until the printer answers ready again.

Two processes on one data dir never send the same label: a process claims a printer's
waiting jobs in one ``BEGIN IMMEDIATE`` transaction (``claimed_by`` / ``claimed_until``, a
lease that a crashed process loses) and nobody else touches a printer with a live claim. A
label that may have printed already (handed over whole, then no confirmation; or a process
that died while sending) is sent again with REPRINT on it and counted as a possible
duplicate, after a pause so a printer that prints and then drops the line does not print it
again and again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from drivers.printers import Delivery, Printer, PrinterState, PrinterStatus
from station import labels, reasons
from station.i18n import N_  # English in print-queue; the screen translates them
from station.store import Store, register_migrations

log = logging.getLogger(__name__)

SORT_LABEL = "sort_label"
LOAD_LIST = "load_list"
DAY_CLOSE = "day_close"
JOBS = (SORT_LABEL, LOAD_LIST, DAY_CLOSE)

LEASE_S = 60.0  # a claim outlives any one delivery run; a process that died loses it after this
CONFIRM_TIMEOUT_S = 10.0  # a printer prints a 6 in. label in about 1 s; a load list may be three
REPRINT_PAUSE_S = (5.0, 15.0, 60.0)  # before sending a label that may have printed, by attempt

migrations = Migrations("printing")


@migrations()
def m001_print_claims(db: sqlite_utils.Database) -> None:
    """Claims, "may have printed" and possible duplicates on the print queue."""
    table = db.table("print_jobs")
    table.add_column("claimed_by", str)
    table.add_column("claimed_until", float)  # time.time(); plain numbers compare safely in SQL
    table.add_column("not_before", float)  # a label that may have printed waits a little before its reprint
    table.add_column("maybe_printed", int, not_null_default=0)  # handed over whole, never confirmed
    table.add_column("possible_duplicates", int, not_null_default=0)  # REPRINT copies sent
    table.add_column("printer", str)  # who confirmed it


register_migrations(migrations)


def enqueue(
    db: sqlite_utils.Database, job: str, payload: bytes, *, event_id: str | None = None, tracking_id: str | None = None
) -> int:
    """Queue a payload inside the caller's transaction; returns the job id."""
    cursor = db.conn.execute(
        "INSERT INTO print_jobs (job, payload, created_at, event_id, tracking_id, attempts) VALUES (?, ?, ?, ?, ?, 0)",
        (job, payload, datetime.now(UTC).isoformat(), event_id, tracking_id),
    )
    return int(cursor.lastrowid or 0)


# What a worker can do about each state, in the words of the status line.
# English here and in ``print-queue``; the screen shows them through station.reasons, translated.
_WORDS = {
    PrinterState.PAPER_OUT: N_("paper out"),
    PrinterState.HEAD_OPEN: N_("head open"),
    PrinterState.PAUSED: N_("paused (press pause)"),
    PrinterState.RIBBON_OUT: N_("ribbon out"),
    PrinterState.BUFFER_FULL: N_("busy (buffer full)"),
    PrinterState.FAULT: N_("not answering (paper out or head open?)"),
    PrinterState.OFFLINE: N_("off or unplugged"),
}


@dataclass(frozen=True)
class PrinterReport:
    """One printer as the screen shows it: its state, the labels waiting for it, why."""

    name: str
    jobs: tuple[str, ...]
    status: PrinterStatus
    waiting: int = 0
    fault: str | None = None  # what went wrong with the last label, in a worker's words
    back: bool = False  # answering again after a fault, with labels still to print

    @property
    def text(self) -> str:
        """``printer 2: paper out, 4 labels waiting``; ``printer 2 ready`` (templates: station.reasons)."""
        waiting = (reasons.LABEL_WAITING if self.waiting == 1 else reasons.LABELS_WAITING)(n=self.waiting)
        if self.fault is not None:
            return reasons.PRINTER_FAULT(name=self.name, fault=self.fault, waiting=waiting)
        if self.back:
            return reasons.PRINTER_BACK(name=self.name, waiting=waiting)
        if not self.status.ok:
            return reasons.PRINTER_STATE(name=self.name, state=_WORDS.get(self.status.state, self.status.state.value))
        return reasons.PRINTER_READY(name=self.name)


@dataclass(frozen=True)
class QueuedLabel:
    """A label of ``station print-queue``."""

    id: int
    job: str
    tracking_id: str | None
    created_at: str
    state: str  # waiting | failed | possible duplicate
    attempts: int
    last_error: str | None
    possible_duplicates: int
    printed_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def queued_labels(store: Store, *, limit: int = 1000) -> list[QueuedLabel]:
    """Labels waiting (never tried), failed (tried, not confirmed) and printed possible duplicates."""
    rows = store.query(
        "SELECT id, job, tracking_id, created_at, attempts, last_error, possible_duplicates, printed_at "
        "FROM print_jobs WHERE printed_at IS NULL OR possible_duplicates > 0 ORDER BY id LIMIT ?",
        (limit,),
    )
    out = []
    for r in rows:
        if r["printed_at"] is not None:
            state = "possible duplicate"
        elif r["attempts"]:
            state = "failed"
        else:
            state = "waiting"
        out.append(QueuedLabel(state=state, **r))
    return out


def _fault_words(status: PrinterStatus, delivery: Delivery) -> str:
    words = _WORDS.get(status.state, status.state.value)
    if delivery is Delivery.UNCONFIRMED:
        # Handed over whole, then silence or a dropped line: only a person can see if it came out.
        if status.state is PrinterState.FAULT:
            return reasons.LAST_LABEL_CHECK
        return reasons.LAST_LABEL_NOT_CONFIRMED(state=words)
    return words


class PrintQueue:
    """Delivers queued jobs to the printers assigned to them, confirmed, in scan order."""

    def __init__(
        self,
        store: Store,
        printers: Mapping[str, tuple[Printer, tuple[str, ...]]],
        *,
        confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        language: str = "en",
    ) -> None:
        """``language``: the station's (``[station] language``), for the REPRINT mark on a label printed again."""
        # name -> (printer, jobs it takes)
        self.store = store
        self.language = language
        self.printers = dict(printers)
        self.confirm_timeout_s = confirm_timeout_s
        self.clock = clock
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._statuses: dict[str, PrinterStatus] = {name: PrinterStatus(PrinterState.READY) for name in self.printers}
        self._faults: dict[str, str | None] = dict.fromkeys(self.printers)
        self._back: set[str] = set()
        self._deliver_lock = threading.Lock()
        # Called (from the delivering thread) whenever a printer's report changes: the screen
        # shows a fault as soon as the first label fails, not at its next refresh.
        self.on_change: Callable[[], object] | None = None

    def printer_for(self, job: str) -> str | None:
        return next((name for name, (_, jobs) in self.printers.items() if job in jobs), None)

    def _kinds(self, name: str) -> list[str]:
        return [job for job in JOBS if self.printer_for(job) == name]

    def pending(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM print_jobs WHERE printed_at IS NULL") or 0)

    def _waiting(self, name: str) -> int:
        kinds = self._kinds(name)
        if not kinds:
            return 0
        marks = ",".join("?" * len(kinds))
        sql = f"SELECT count(*) FROM print_jobs WHERE printed_at IS NULL AND job IN ({marks})"
        return int(self.store.scalar(sql, tuple(kinds)) or 0)

    def statuses(self) -> list[PrinterReport]:
        reports = []
        for name, (_, jobs) in self.printers.items():
            waiting = self._waiting(name)
            reports.append(
                PrinterReport(
                    name,
                    jobs,
                    self._statuses[name],
                    waiting,
                    self._faults[name] if waiting else None,
                    name in self._back and waiting > 0,
                )
            )
        return reports

    def deliver(self, limit: int = 50) -> int:
        """Send waiting jobs, oldest first; stop a printer's run at its first unconfirmed label.

        Returns the number of labels confirmed. Blocking (printer I/O): call it from a thread.
        """
        printed = 0
        with self._deliver_lock:
            for name in self.printers:
                printed += self._deliver_to(name, limit)
        return printed

    def _deliver_to(self, name: str, limit: int) -> int:
        printer = self.printers[name][0]
        printed = 0
        while printed < limit:
            batch = self._claim(name, limit - printed)
            if not batch:
                return printed
            try:
                for row in batch:
                    if not self._print_one(name, printer, row):
                        return printed
                    printed += 1
            finally:
                self._release(name)
        return printed

    def _claim(self, name: str, limit: int) -> list[dict[str, Any]]:
        """Claim the printer's waiting jobs (scan order), unless another process holds it."""
        kinds = self._kinds(name)
        if not kinds:
            return []
        marks = ",".join("?" * len(kinds))
        now = self.clock()
        with self.store.write() as db:
            held = db.execute(
                f"SELECT 1 FROM print_jobs WHERE printed_at IS NULL AND job IN ({marks}) "
                "AND claimed_until > ? AND claimed_by != ? LIMIT 1",
                [*kinds, now, self.worker],
            ).fetchone()
            if held:
                return []
            cursor = db.execute(
                f"SELECT id, job, payload, maybe_printed, not_before FROM print_jobs "
                f"WHERE printed_at IS NULL AND job IN ({marks}) ORDER BY id LIMIT ?",
                [*kinds, limit],
            )
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
            if not rows or (rows[0]["not_before"] or 0) > now:
                return []  # the first label waits for its reprint pause: the rest wait behind it
            ids = [r["id"] for r in rows]
            db.execute(
                f"UPDATE print_jobs SET claimed_by = ?, claimed_until = ? WHERE id IN ({','.join('?' * len(ids))})",
                [self.worker, now + LEASE_S, *ids],
            )
        return rows

    def _release(self, name: str) -> None:
        with self.store.write() as db:
            db.execute(
                "UPDATE print_jobs SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", [self.worker]
            )

    def _print_one(self, name: str, printer: Printer, row: dict[str, Any]) -> bool:
        payload = bytes(row["payload"])
        reprint = bool(row["maybe_printed"])
        if reprint:
            payload = labels.mark_reprint(payload, self.language)
        with self.store.write() as db:
            # Before the bytes leave: a process that dies mid-send leaves "may have printed".
            db.execute(
                "UPDATE print_jobs SET attempts = attempts + 1, maybe_printed = 1, "
                "possible_duplicates = possible_duplicates + ? WHERE id = ?",
                [int(reprint), row["id"]],
            )
            # A long run renews its claim label by label.
            db.execute(
                "UPDATE print_jobs SET claimed_until = ? WHERE claimed_by = ?", [self.clock() + LEASE_S, self.worker]
            )
        outcome = printer.print_label(payload, self.confirm_timeout_s)
        now_text = datetime.now(UTC).isoformat()
        with self.store.write() as db:
            if outcome.delivery is Delivery.CONFIRMED:
                db.execute(
                    "UPDATE print_jobs SET printed_at = ?, printer = ?, last_error = NULL, "
                    "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                    [now_text, name, row["id"]],
                )
            elif outcome.delivery is Delivery.NOT_SENT:
                # Nothing whole reached the printer: this attempt is not a possible duplicate.
                db.execute(
                    "UPDATE print_jobs SET maybe_printed = ?, possible_duplicates = possible_duplicates - ?, "
                    "last_error = ? WHERE id = ?",
                    [int(reprint), int(reprint), outcome.status.detail or outcome.status.state.value, row["id"]],
                )
            else:
                tries = int(
                    db.execute("SELECT possible_duplicates FROM print_jobs WHERE id = ?", [row["id"]]).fetchone()[0]
                )
                pause = REPRINT_PAUSE_S[min(tries, len(REPRINT_PAUSE_S) - 1)]
                db.execute(
                    "UPDATE print_jobs SET last_error = ?, not_before = ? WHERE id = ?",
                    [outcome.status.detail or outcome.status.state.value, self.clock() + pause, row["id"]],
                )
        self._note(name, outcome.status, outcome.delivery)
        if outcome.delivery is not Delivery.CONFIRMED:
            log.warning(
                "printer %s: label %s %s, kept in queue: %s",
                name,
                row["id"],
                outcome.delivery.value,
                outcome.status.detail,
            )
            return False
        return True

    def _note(self, name: str, status: PrinterStatus, delivery: Delivery) -> None:
        before = (self._statuses[name].state, self._faults[name], name in self._back)
        self._statuses[name] = status
        if delivery is Delivery.CONFIRMED:
            if self._faults[name] is not None:
                self._back.add(name)
                log.info("printer %s is back: printing waiting labels in scan order", name)
            self._faults[name] = None
            if self._waiting(name) == 0:
                self._back.discard(name)
        else:
            self._faults[name] = _fault_words(status, delivery)
            self._back.discard(name)
        # Only what the screen shows: a fresh detail string alone is no news to a worker.
        if before != (status.state, self._faults[name], name in self._back) and self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # the screen going away must not stop printing
                log.debug("printer change listener failed", exc_info=True)

    def refresh_status(self) -> None:
        for name, (printer, _) in self.printers.items():
            status = printer.status()
            before = (self._statuses[name].state, self._faults[name], name in self._back)
            self._statuses[name] = status
            if status.ok and self._faults[name] is not None:
                # Answering again: say so now; the waiting labels go on the next delivery.
                self._faults[name] = None
                self._back.add(name)
            elif not status.ok and self._waiting(name):
                self._faults[name] = _fault_words(status, Delivery.NOT_SENT)
            if before != (status.state, self._faults[name], name in self._back) and self.on_change is not None:
                try:
                    self.on_change()
                except Exception:  # the screen going away must not stop printing
                    log.debug("printer change listener failed", exc_info=True)

    def close(self) -> None:
        for printer, _ in self.printers.values():
            printer.close()
