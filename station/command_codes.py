"""The command barcodes a dock worker scans instead of typing, and the sheet that carries them.

Owns the catalogue (code -> meaning) and what goes on the printed sheet (laid out by
``station.labels``; a plain-text fallback here). What a command *does* is
``station.dock.apply_station_code``'s business; this module only names them. Exception
reasons are written the way the central server and the exceptions screen show them.

The meanings are English here and in ``print-commands --json`` (for scripts); the sheets,
printed or shown, carry them in the station's language (``[station] language``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from station import labels
from station.barcodes import station_code
from station.i18n import N_, translation  # the reasons stay English on the wire; the screen translates them
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
    Command("DAMAGED", N_("the parcel just scanned is damaged"), N_("damaged")),
    Command("UNREADABLE", N_("the address on the parcel just scanned cannot be read"), N_("address unreadable")),
    Command("REFUSED", N_("the parcel just scanned was refused"), N_("refused")),
    Command("NOLABEL", N_("a parcel has no label (scan after the parcel's other code, or alone)"), N_("missing label")),
    Command("UNDO", N_("undo the last scan of this scanner")),
    Command("REPRINT", N_("print the sort label of the parcel just scanned again")),
    Command("CLOSE", N_("close the van this scanner loads: its loaded parcels depart (scan twice within 10 s)")),
    Command("REOPEN", N_("reopen the van this scanner loads, closed by mistake")),
    Command("SORT", N_("this scanner sorts again (after loading a van)")),
)
BY_NAME = {c.name: c for c in COMMANDS}
VAN_MEANING = N_("this scanner loads van {van} at lane {lane}")


def catalogue(vans: tuple[Van, ...], language: str = "en") -> list[dict[str, str]]:
    """Every command code with its meaning in ``language``, van codes included (``print-commands --json``)."""
    _ = translation(language).gettext
    rows = [{"code": c.code, "command": c.name.lower(), "meaning": _(c.meaning)} for c in COMMANDS]
    rows += [
        {
            "code": station_code("van", v.id),
            "command": "van",
            "meaning": _(VAN_MEANING).format(van=v.id, lane=v.lane),
        }
        for v in vans
    ]
    return rows


def text_sheet(vans: tuple[Van, ...], language: str = "en") -> str:
    """The sheet as plain text, for a screen or a printer that is not ZPL."""
    _ = translation(language).gettext
    lines = [_("COMMAND CODES"), ""]
    lines += [f"{row['code']:<24} {row['meaning']}" for row in catalogue(vans, language)]
    return "\n".join(lines) + "\n"


def zpl_sheets(vans: tuple[Van, ...], day: date, station_id: str, language: str = "en") -> bytes:
    """The command codes as labels, four codes per 4x6 in. label, Code 128 each."""
    codes = [labels.CommandCode(row["code"], row["meaning"]) for row in catalogue(vans, language)]
    return labels.command_sheet(codes=codes, day=day, station_id=station_id, language=language)
