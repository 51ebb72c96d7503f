"""The command barcodes a dock worker scans instead of typing, and the sheet that carries them.

Owns the catalogue (code -> meaning) and the printed sheet (ZPL, and a plain-text
fallback). What a command *does* is the core's business (``station.core``); this module
only names them. Exception reasons are written the way the central server and the
exceptions screen show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from station.barcodes import station_code
from station.labels import field_text
from station.model import Van


@dataclass(frozen=True)
class Command:
    name: str  # the value in $ST:CMD:<name>
    meaning: str
    exception_reason: str | None = None  # set for the commands that put a parcel in exception

    @property
    def code(self) -> str:
        return station_code("command", self.name)


COMMANDS: tuple[Command, ...] = (
    Command("DAMAGED", "the parcel just scanned is damaged", "damaged"),
    Command("UNREADABLE", "the address on the parcel just scanned cannot be read", "address unreadable"),
    Command("REFUSED", "the parcel just scanned was refused", "refused"),
    Command("NOLABEL", "a parcel has no label (scan after the parcel's other code, or alone)", "missing label"),
    Command("UNDO", "undo the last scan of this scanner"),
    Command("REPRINT", "print the sort label of the parcel just scanned again"),
    Command("CLOSE", "close the van this scanner loads: its loaded parcels depart"),
    Command("SORT", "this scanner sorts again (after loading a van)"),
)
BY_NAME = {c.name: c for c in COMMANDS}


def catalogue(vans: tuple[Van, ...]) -> list[dict[str, str]]:
    """Every command code with its meaning, van codes included (``print-commands --json``)."""
    rows = [{"code": c.code, "command": c.name.lower(), "meaning": c.meaning} for c in COMMANDS]
    rows += [
        {
            "code": station_code("van", v.id),
            "command": "van",
            "meaning": f"this scanner loads van {v.id} at lane {v.lane}",
        }
        for v in vans
    ]
    return rows


def text_sheet(vans: tuple[Van, ...]) -> str:
    """The sheet as plain text, for a screen or a printer that is not ZPL."""
    lines = ["COMMAND CODES", ""]
    lines += [f"{row['code']:<24} {row['meaning']}" for row in catalogue(vans)]
    return "\n".join(lines) + "\n"


def zpl_sheets(vans: tuple[Van, ...], day: date, station_id: str) -> bytes:
    """The command codes as 4x6 in. labels, four codes per label, Code 128 each."""
    rows = catalogue(vans)
    labels = []
    for start in range(0, len(rows), 4):
        parts = [
            "^XA",
            "^CI28",
            "^PW812^LL1218^LH0,0",
            f"^FO30,20^A0N,40,40^FH^FDCOMMAND CODES  {day.isoformat()}  {field_text(station_id)}^FS",
        ]
        for i, row in enumerate(rows[start : start + 4]):
            y = 90 + i * 280
            parts.append(f"^FO30,{y}^A0N,44,44^FH^FD{field_text(row['meaning'], 50)}^FS")
            # Code 128 subset B: the codes hold '$' and ':' (the station's own prefix).
            parts.append(f"^FO30,{y + 60}^BY3^BCN,140,Y,N,N^FD{row['code']}^FS")
        parts.append("^XZ")
        labels.append("\n".join(parts))
    return ("\n".join(labels) + "\n").encode("utf-8")
