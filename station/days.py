"""The sorting day: which day the station works on, what an import would change, the next day.

Owns the day rules of a station run for months without anyone touching its files:

- The day of a manifest: ``--day``, else the manifest's own ``day`` field (JSON), else today
  in the hub's time zone (``[hub] timezone``, else the machine's).
- An import is checked before it changes anything: a day earlier than the station's is
  refused; one that would cancel more than ``[station] max_cancel_share`` of the day's open
  parcels needs ``force`` (one wrong file must not undo the day). :func:`preview_import` is
  also what ``station import --dry-run`` prints.
- :func:`start_day` moves the station to a later day in one transaction (a power cut leaves
  the old day or the new one): the old day's figures are kept as its final report and its
  manifest in ``day_parcels``; the working tables (manifest, plan, closed vans, the devices'
  last parcels and van bindings) start empty. Events are not touched: they carry their day.
- Retention: a day older than ``[store] keep_days`` is removed (its events, its kept report
  and manifest, its printed labels) when the next day starts, and only once every event of it
  has been acknowledged by the server or exported (``station export``): never before.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from station.errors import ManifestError, StationError
from station.model import Parcel

if TYPE_CHECKING:
    from station.config import Config
    from station.core import ImportSummary, Station

log = logging.getLogger(__name__)

# The working tables of one day: emptied when the next day starts (their figures are kept in
# day_reports, the manifest in day_parcels; the events stay in the events table).
DAY_TABLES = (
    "parcel_codes",
    "plan_parcels",
    "plan_unplanned",
    "routes",
    "plans",
    "van_state",
    "devices",
    "device_roles",
    "manifest_changes",
    "parcels",
)
DAY_META = ("manifest_version", "plan_version")


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` day; anything else is a StationError naming the value."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise StationError(f"{text!r} is not a day: expected YYYY-MM-DD, e.g. 2026-11-30") from None


def hub_today(config: Config, now: datetime) -> date:
    """The hub's date at ``now`` (an aware UTC time): midnight is the hub's, not UTC's."""
    zone = ZoneInfo(config.timezone) if config.timezone else None
    return now.astimezone(zone).date()


def manifest_day(path: Path | str) -> date | None:
    """The ``day`` a JSON manifest says it is for (``{"day": "2026-12-01", "parcels": [...]}``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # read_manifest reports it
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text).get("day")
    except (ValueError, AttributeError):
        return None
    if value is None:
        return None
    if not isinstance(value, str):
        raise ManifestError(f"manifest {path}: day must be text like 2026-11-30, got {value!r}")
    try:
        return parse_day(value)
    except StationError:
        raise ManifestError(f"manifest {path}: day {value!r} is not a day (YYYY-MM-DD)") from None


def current_day(station: Station) -> date | None:
    """The day the station works on, or None before its first manifest."""
    value = station.store.get_meta("day")
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ImportPreview:
    """What importing a manifest for ``day`` would do, computed without changing anything."""

    day: date
    new_day: bool  # the import starts ``day`` (the station's day is earlier, or it has none)
    parcels: int
    added: tuple[str, ...]
    changed: int  # already on the day's manifest, kept (their scans stay theirs)
    cancelled: tuple[str, ...]  # open today and missing from the new manifest
    uncancelled: tuple[str, ...]  # cancelled by an earlier version, back in this one
    open_before: int  # the day's open (not cancelled) parcels before the import

    @property
    def cancel_share(self) -> float:
        return len(self.cancelled) / self.open_before if self.open_before else 0.0

    def describe(self, limit: int = 10) -> str:
        head = f"manifest for {self.day}: {self.parcels} parcels"
        if self.new_day:
            head += " (starts a new day)"
        lines = [
            head,
            f"  would add {len(self.added)}, keep {self.changed}, cancel {len(self.cancelled)} "
            f"of {self.open_before} open ({self.cancel_share:.0%}), bring back {len(self.uncancelled)}",
        ]
        lines += [f"  would cancel: {tid}" for tid in self.cancelled[:limit]]
        if len(self.cancelled) > limit:
            lines.append(f"  ... and {len(self.cancelled) - limit} more")
        lines += [f"  would bring back: {tid}" for tid in self.uncancelled[:limit]]
        return "\n".join(lines)


def preview_import(station: Station, parcels: list[Parcel], day: date) -> ImportPreview:
    """Compare ``parcels`` for ``day`` with the station's day; refuse a day already past."""
    today = current_day(station)
    if today is not None and day < today:
        raise ManifestError(
            f"this manifest is for {day}, but the station already works on {today}: "
            "a day that has passed cannot be imported again (check --day or the file)"
        )
    new_ids = [p.tracking_id for p in parcels]
    if today is None or day > today:
        return ImportPreview(day, True, len(parcels), tuple(new_ids), 0, (), (), 0)
    existing = {
        r["tracking_id"]: r["cancelled"] for r in station.store.query("SELECT tracking_id, cancelled FROM parcels")
    }
    wanted = set(new_ids)
    return ImportPreview(
        day=day,
        new_day=False,
        parcels=len(parcels),
        added=tuple(t for t in new_ids if t not in existing),
        changed=sum(1 for t in new_ids if t in existing),
        cancelled=tuple(sorted(t for t, c in existing.items() if not c and t not in wanted)),
        uncancelled=tuple(t for t in new_ids if existing.get(t)),
        open_before=sum(1 for c in existing.values() if not c),
    )


def check_import(preview: ImportPreview, max_cancel_share: float, *, force: bool) -> None:
    """Refuse an import that would cancel too much of the day, unless forced."""
    if force or preview.cancel_share <= max_cancel_share:
        return
    first = ", ".join(preview.cancelled[:5])
    raise ManifestError(
        f"this manifest would cancel {len(preview.cancelled)} of the day's {preview.open_before} open parcels "
        f"({preview.cancel_share:.0%}, more than the {max_cancel_share:.0%} allowed), first {first}: "
        "is it the right file? Import it with --force if it is"
    )


@dataclass(frozen=True)
class DayImport:
    preview: ImportPreview
    summary: ImportSummary
    previous_day: date | None  # the day the station worked on before, when this import started a new one


def import_day(station: Station, parcels: list[Parcel], *, day: date, version: str, force: bool = False) -> DayImport:
    """Check, then import ``parcels`` as the manifest of ``day`` (starting it if it is later)."""
    preview = preview_import(station, parcels, day)
    check_import(preview, station.config.rules.max_cancel_share, force=force)
    previous = current_day(station)
    if preview.new_day:
        start_day(station, day)
    summary = station.replace_manifest(parcels, version=version, day=day)
    return DayImport(preview, summary, previous if preview.new_day else None)


def start_day(station: Station, day: date) -> bool:
    """Make ``day`` the station's day if it is later than the current one; True if it changed.

    One transaction: the old day's report and manifest are kept, the working tables emptied,
    the new day set. A power cut leaves the old day or the new one, never a mix.
    """
    from station.dayclose import day_close

    with station.store.write() as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'day'").fetchone()
        old = date.fromisoformat(row[0]) if row else None
        if old is not None and day <= old:
            return False
        if old is not None:
            report = day_close(station).to_json()
            db.table("day_reports").upsert(
                {"day": old.isoformat(), "closed_at": station.clock.now().isoformat(), "report": json.dumps(report)},
                pk="day",
            )
            db.execute(
                "INSERT OR REPLACE INTO day_parcels (day, tracking_id, cancelled, manifest_version, parcel) "
                "SELECT ?, tracking_id, cancelled, manifest_version, json_object("
                "'recipient', recipient, 'address', address, 'postal_code', postal_code, 'lat', lat, 'lon', lon, "
                "'weight_kg', weight_kg, 'window_start', window_start, 'window_end', window_end, 'codes', codes) "
                "FROM parcels",
                [old.isoformat()],
            )
        for table in DAY_TABLES:
            db.execute(f"DELETE FROM {table}")
        for key in DAY_META:
            db.execute("DELETE FROM meta WHERE key = ?", [key])
        db.table("meta").upsert({"key": "day", "value": day.isoformat()}, pk="key")
        removed = prune(db, day, station.config.store.keep_days)
    log.info("day %s started (previous day %s kept; days removed: %s)", day, old, ", ".join(removed) or "none")
    return True


def prune(db: Any, today: date, keep_days: int) -> list[str]:
    """Remove the days before ``today - keep_days`` whose events have all left the station.

    An event has left when the server acknowledged it (it is no longer in the outbox, nor in
    the sync quarantine) or when ``station export`` wrote it (``meta.exported_seq``). A day
    with one event still waiting is kept whole. Runs inside the caller's transaction.
    """
    cutoff = (today - timedelta(days=keep_days)).isoformat()
    exported = int((db.execute("SELECT value FROM meta WHERE key = 'exported_seq'").fetchone() or [0])[0])
    waiting = "SELECT event_id FROM outbox"
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sync_quarantine'").fetchone():
        waiting += " UNION ALL SELECT event_id FROM sync_quarantine"
    candidates = [
        r[0]
        for r in db.execute(
            "SELECT day FROM events WHERE day < ? UNION SELECT day FROM day_reports WHERE day < ? "
            "UNION SELECT day FROM day_parcels WHERE day < ? ORDER BY 1",
            [cutoff, cutoff, cutoff],
        )
        if r[0] is not None
    ]
    removed = []
    for old in candidates:
        (pending,) = db.execute(
            f"SELECT count(*) FROM events WHERE day = ? AND seq > ? AND event_id IN ({waiting})", [old, exported]
        ).fetchone()
        if pending:
            continue
        # Exported but never acknowledged (no server): the outbox copies go with their events.
        db.execute("DELETE FROM outbox WHERE event_id IN (SELECT event_id FROM events WHERE day = ?)", [old])
        db.execute(
            "DELETE FROM print_jobs WHERE printed_at IS NOT NULL AND event_id IN "
            "(SELECT event_id FROM events WHERE day = ?)",
            [old],
        )
        for table in ("events", "day_reports", "day_parcels"):
            db.execute(f"DELETE FROM {table} WHERE day = ?", [old])
        removed.append(old)
    return removed


def kept_days(station: Station) -> list[str]:
    """Every day the station has a report for, the current one last."""
    days = [r["day"] for r in station.store.query("SELECT day FROM day_reports ORDER BY day")]
    today = current_day(station)
    return days + ([today.isoformat()] if today else [])


def kept_report(station: Station, day: date) -> dict[str, Any] | None:
    """The final report of a past day, as it was when the next day started."""
    text = station.store.scalar("SELECT report FROM day_reports WHERE day = ?", (day.isoformat(),))
    return None if text is None else dict(json.loads(text))
