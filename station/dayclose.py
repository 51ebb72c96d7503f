"""Closing the day: per van and per lane, what was planned, sorted, loaded and missing.

Owns the day-close figures (``station report``, the day-close screen, the printed
summary and the CSV export). Counting rules, kept in one place so the screen, the CLI
and the tests agree:

- planned: parcels the active plan gives the van, cancelled ones left out
- sorted / loaded: distinct planned parcels with a sorted / loaded event that was not undone
- missing: planned parcels never scanned at all
- not loaded: planned parcels not (yet) loaded, missing ones included, returned ones left out
- mis-loads caught: wrong-van scans refused at the van's bay
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from station import labels
from station.core import Station
from station.dock import manifest_changes, open_exceptions
from station.ledger import COUNTS

_SCANNED = f"EXISTS (SELECT 1 FROM events e WHERE e.tracking_id = pp.tracking_id AND e.{COUNTS})"


def _has(kind: str) -> str:
    return f"EXISTS (SELECT 1 FROM events e WHERE e.tracking_id = pp.tracking_id AND e.kind = '{kind}' AND e.{COUNTS})"


@dataclass
class VanFigures:
    van: str
    lane: int
    planned: int = 0
    sorted: int = 0
    loaded: int = 0
    missing: int = 0
    not_loaded: int = 0
    misloads: int = 0
    departed: int = 0
    closed: bool = False


@dataclass
class StopLine:
    stop: int
    tracking_id: str
    address: str
    loaded: bool


@dataclass
class DayClose:
    day: str | None
    manifest: int
    planned: int
    unplanned: int
    sorted: int
    loaded: int
    exceptions: int
    open_exceptions: int
    vans: list[VanFigures] = field(default_factory=list)
    stops: dict[int, list[StopLine]] = field(default_factory=dict)  # by lane
    not_in_manifest: list[str] = field(default_factory=list)
    not_scanned: list[str] = field(default_factory=list)
    cancelled_in_lanes: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["stops"] = {str(lane): [asdict(s) for s in lines] for lane, lines in self.stops.items()}
        # The lane view of the same figures, for tools that think in lanes.
        out["lanes"] = [
            {
                "lane": v.lane,
                "van": v.van,
                "planned": v.planned,
                "sorted": v.sorted,
                "loaded": v.loaded,
                "missing": v.missing,
                "stops": out["stops"].get(str(v.lane), []),
            }
            for v in self.vans
        ]
        return out

    def to_csv(self) -> str:
        """One row per planned parcel, with its van, lane, stop and state."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["lane", "van", "stop", "tracking_id", "address", "loaded"])
        by_lane = {v.lane: v.van for v in self.vans}
        for lane, lines in sorted(self.stops.items()):
            for s in lines:
                writer.writerow(
                    [lane, by_lane.get(lane, ""), s.stop, s.tracking_id, s.address, "yes" if s.loaded else "no"]
                )
        return buf.getvalue()

    def to_zpl(self, station_id: str, language: str = "en") -> bytes:
        """The day-close summary as one label: a line per van."""
        return labels.day_close_summary(
            day=self.day or "",
            station_id=station_id,
            vans=self.vans,
            not_in_manifest=len(self.not_in_manifest),
            open_exceptions=self.open_exceptions,
            language=language,
        )


def day_close(station: Station, *, list_limit: int = 5000) -> DayClose:
    q = station.store.query
    base = station.report(list_limit=list_limit)
    vans: list[VanFigures] = []
    closed = {r["van_id"] for r in q("SELECT van_id FROM van_state")}
    for van in sorted(station.config.vans, key=lambda v: v.lane):
        (row,) = q(
            f"""SELECT count(*) AS planned,
                      sum({_has("sorted")}) AS sorted,
                      sum(NOT {_SCANNED}) AS missing,
                      sum(NOT {_has("loaded")} AND NOT {_has("returned")}) AS not_loaded
               FROM plan_parcels pp JOIN parcels p USING (tracking_id)
               WHERE pp.van_id = ? AND p.cancelled = 0""",
            (van.id,),
        )
        loaded = station.store.scalar(
            f"SELECT count(DISTINCT tracking_id) FROM events WHERE kind = 'loaded' AND van_id = ? AND {COUNTS}",
            (van.id,),
        )
        misloads = station.store.scalar(
            f"SELECT count(*) FROM events WHERE kind = 'misload' AND van_id = ? AND {COUNTS}", (van.id,)
        )
        departed = station.store.scalar(
            f"SELECT count(DISTINCT tracking_id) FROM events WHERE kind = 'departed' AND van_id = ? AND {COUNTS}",
            (van.id,),
        )
        vans.append(
            VanFigures(
                van.id,
                van.lane,
                row["planned"],
                row["sorted"] or 0,
                int(loaded or 0),
                row["missing"] or 0,
                row["not_loaded"] or 0,
                int(misloads or 0),
                int(departed or 0),
                van.id in closed,
            )
        )
    stops: dict[int, list[StopLine]] = {}
    for r in q(f"""SELECT pp.lane, pp.stop, pp.tracking_id, p.address, {_has("loaded")} AS loaded
                   FROM plan_parcels pp JOIN parcels p USING (tracking_id) WHERE p.cancelled = 0
                   ORDER BY pp.lane, pp.stop, pp.tracking_id"""):
        stops.setdefault(r["lane"], []).append(StopLine(r["stop"], r["tracking_id"], r["address"], bool(r["loaded"])))
    not_in_manifest = [
        r["code"] for r in q(f"SELECT DISTINCT code FROM events WHERE outcome = 'unknown' AND {COUNTS} ORDER BY code")
    ]
    cancelled = q(f"""SELECT DISTINCT e.tracking_id, e.lane, e.van_id AS van FROM events e
                     JOIN parcels p ON p.tracking_id = e.tracking_id
                     WHERE p.cancelled = 1 AND e.kind IN ('sorted', 'loaded') AND e.{COUNTS}""")
    return DayClose(
        day=base.day,
        manifest=base.manifest,
        planned=base.planned,
        unplanned=base.unplanned,
        sorted=base.sorted,
        loaded=sum(v.loaded for v in vans),
        exceptions=base.exceptions,
        open_exceptions=len(open_exceptions(station)),
        vans=vans,
        stops=stops,
        not_in_manifest=not_in_manifest,
        not_scanned=base.not_scanned,
        cancelled_in_lanes=cancelled,
        changes=manifest_changes(station),
    )
