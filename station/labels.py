"""ZPL for everything the station prints: sort label, load list, command sheet, day-close summary.

Owns every label layout and ZPL escaping; the modules that gather the figures (``dock``,
``commands``, ``dayclose``) hand plain values in and get bytes out. Every layout is drawn in
203-dpi dots for a 4x6 in. label and goes through :class:`LabelSize`, so a 300 or 600 dpi
head gets the same label scaled and a taller roll fits more lines.

A sort label has the lane and the stop in type big enough to read across the dock, the van,
a Code 128 of the tracking id (so a re-scan of the label finds the parcel), a short address
and the date. Text fields go through ``^FH`` hex escapes so an address with ``^`` or ``~`` in
it cannot end the field or inject a command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

DPI = 203


@dataclass(frozen=True)
class LabelSize:
    width_in: float = 4.0
    height_in: float = 6.0
    dpi: int = DPI

    @property
    def width_dots(self) -> int:
        return round(self.width_in * self.dpi)

    @property
    def height_dots(self) -> int:
        return round(self.height_in * self.dpi)

    @property
    def height_design(self) -> int:
        """The label's height in the 203-dpi dots every layout is drawn in."""
        return round(self.height_in * DPI)

    def dots(self, design: int) -> int:
        """A 203-dpi layout coordinate on this head (layouts are scaled for 300/600 dpi)."""
        return round(design * self.dpi / DPI)

    def header(self) -> list[str]:
        """The lines every label starts with: UTF-8 field data, width and length."""
        # ^CI28: recipients' names and streets are not ASCII.
        return ["^XA", "^CI28", f"^PW{self.width_dots}^LL{self.height_dots}^LH0,0"]


def field_text(text: str, limit: int = 60) -> str:
    """Escape text for a ``^FH^FD`` field: ``_``, ``^`` and ``~`` as hex, control chars dropped."""
    out = []
    for ch in text[:limit]:
        if ch in "_^~":
            out.append(f"_{ord(ch):02X}")
        elif ch.isprintable():
            out.append(ch)
    return "".join(out)


def _text(size: LabelSize, x: int, y: int, height: int, text: str, width: int | None = None, limit: int = 60) -> str:
    return _escaped(size, x, y, height, width or height, field_text(text, limit))


def _escaped(size: LabelSize, x: int, y: int, height: int, width: int, escaped: str) -> str:
    """A text field whose text is already escaped (several ``field_text`` parts, each cut to its width)."""
    d = size.dots
    return f"^FO{d(x)},{d(y)}^A0N,{d(height)},{d(width)}^FH^FD{escaped}^FS"


def _done(labels: Sequence[Sequence[str]]) -> bytes:
    return ("\n".join("\n".join(parts) for parts in labels) + "\n").encode("utf-8")


def sort_label(
    *,
    tracking_id: str,
    lane: int,
    stop: int,
    van: str,
    address: str,
    postal_code: str,
    day: date,
    station_id: str,
    size: LabelSize = LabelSize(),
) -> bytes:
    w, d = size.width_dots, size.dots
    barcode_data = "".join(ch for ch in tracking_id if ch.isalnum())
    parts = [
        *size.header(),
        _text(size, 30, 30, 50, "LANE"),
        _text(size, 30, 80, 420, str(lane), 300),
        _text(size, 470, 30, 50, "STOP"),
        _text(size, 470, 80, 260, str(stop), 180),
        f"^FO{d(20)},{d(520)}^GB{w - d(40)},{d(6)},{d(6)}^FS",
        _text(size, 30, 550, 80, f"VAN {van}"),
        # Automatic subset selection (mode A) packs digit runs into subset C.
        f"^FO{d(30)},{d(670)}^BY{max(2, d(3))}^BCN,{d(170)},Y,N,N,A^FD{barcode_data}^FS",
        _text(size, 30, 920, 44, address),
        _text(size, 30, 975, 44, postal_code),
        f"^FO{d(20)},{d(1120)}^GB{w - d(40)},{d(4)},{d(4)}^FS",
        _text(size, 30, 1140, 36, f"{day.isoformat()}  {station_id}"),
        "^XZ",
    ]
    return _done([parts])


@dataclass(frozen=True)
class LoadListLine:
    stop: int
    tracking_id: str
    address: str
    loaded: bool


def load_list(*, van: str, lane: int, day: str, lines: Sequence[LoadListLine], size: LabelSize = LabelSize()) -> bytes:
    """A van's departure list: every planned stop, loaded or not, as many labels as it takes."""
    per_label = max(1, (size.height_design - 100) // 50)
    labels = []
    for start in range(0, max(len(lines), 1), per_label):
        parts = [*size.header(), _text(size, 30, 20, 50, f"VAN {van}  LANE {lane}  {day}")]
        for i, line in enumerate(lines[start : start + per_label]):
            mark = "OK " if line.loaded else "-- "
            text = f"{mark}{line.stop:>3} {field_text(line.tracking_id, 22)} {field_text(line.address, 28)}"
            parts.append(_escaped(size, 30, 90 + i * 50, 34, 30, text))
        parts.append("^XZ")
        labels.append(parts)
    return _done(labels)


@dataclass(frozen=True)
class CommandCode:
    code: str  # what the barcode carries ($ST:...)
    meaning: str


def command_sheet(*, codes: Sequence[CommandCode], day: date, station_id: str, size: LabelSize = LabelSize()) -> bytes:
    """Command codes as labels, a Code 128 each with its meaning above it."""
    per_label = max(1, (size.height_design - 90) // 280)
    d = size.dots
    labels = []
    for start in range(0, len(codes), per_label):
        parts = [*size.header(), _text(size, 30, 20, 40, f"COMMAND CODES  {day.isoformat()}  {station_id}")]
        for i, command in enumerate(codes[start : start + per_label]):
            y = 90 + i * 280
            parts.append(_text(size, 30, y, 44, command.meaning, limit=50))
            # Code 128 subset B: the codes hold '$' and ':' (the station's own prefix).
            parts.append(f"^FO{d(30)},{d(y + 60)}^BY{max(2, d(3))}^BCN,{d(140)},Y,N,N^FD{command.code}^FS")
        parts.append("^XZ")
        labels.append(parts)
    return _done(labels)


class VanLine(Protocol):
    """One van's figures on the day-close summary (``dayclose.VanFigures``)."""

    @property
    def lane(self) -> int: ...
    @property
    def van(self) -> str: ...
    @property
    def planned(self) -> int: ...
    @property
    def sorted(self) -> int: ...
    @property
    def loaded(self) -> int: ...
    @property
    def missing(self) -> int: ...
    @property
    def misloads(self) -> int: ...


def day_close_summary(
    *,
    day: str,
    station_id: str,
    vans: Sequence[VanLine],
    not_in_manifest: int,
    open_exceptions: int,
    size: LabelSize = LabelSize(),
) -> bytes:
    """The day-close summary as one label: a line per van (as many as the label holds)."""
    rows = max(1, (size.height_design - 180) // 34)
    shown = vans[:rows]
    parts = [
        *size.header(),
        _text(size, 30, 20, 44, f"DAY CLOSE {day}  {station_id}"),
        _text(size, 30, 80, 30, "LANE VAN     PLAN SORT LOAD MISS MISLOAD", 26),
    ]
    for i, v in enumerate(shown):
        figures = f"{v.planned:>4} {v.sorted:>4} {v.loaded:>4} {v.missing:>4} {v.misloads:>4}"
        parts.append(_escaped(size, 30, 120 + i * 34, 30, 26, f"{v.lane:>4} {field_text(v.van, 7):<7} {figures}"))
    y = 130 + len(shown) * 34
    parts.append(_text(size, 30, y, 30, f"not in manifest: {not_in_manifest}   open exceptions: {open_exceptions}", 26))
    parts.append("^XZ")
    return _done([parts])
