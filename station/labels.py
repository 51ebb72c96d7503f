"""ZPL for everything the station prints: sort label, load list, command sheet, day-close summary.

Owns every label layout and ZPL escaping; the modules that gather the figures (``dock``,
``commands``, ``dayclose``) hand plain values in and get bytes out. Every layout is drawn in
203-dpi dots for a 4x6 in. label and goes through :class:`LabelSize`, so a 300 or 600 dpi
head gets the same label scaled and a taller roll fits more lines.

A sort label has the lane and the stop in type big enough to read across the dock, the van,
a Code 128 of the tracking id (so a re-scan of the label finds the parcel), a short address
and the date. Text fields go through ``^FH`` hex escapes so an address with ``^`` or ``~`` in
it cannot end the field or inject a command.

The words on the labels are in the station's language (``[station] language``, passed in as
``language``; English by default), from the screen's gettext catalogs (``station.i18n``).
``^CI28`` makes the field data UTF-8, so French capitals such as É print as themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from station import barcodes
from station.i18n import N_, translation

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


def _block(size: LabelSize, x: int, y: int, height: int, width_dots: int, lines: int, text: str, limit: int) -> str:
    """A text field wrapped at words over at most ``lines`` lines of ``width_dots`` (``^FB``)."""
    d = size.dots
    return (
        f"^FO{d(x)},{d(y)}^A0N,{d(height)},{d(height)}^FB{width_dots},{lines},0,L,0^FH^FD{field_text(text, limit)}^FS"
    )


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
    language: str = "en",
) -> bytes:
    _ = translation(language).gettext
    w, d = size.width_dots, size.dots
    barcode = code128_field(tracking_id)
    # The widest bars that fit across the label (a 30-character id does not fit at 3 dots).
    quiet = 20  # modules of quiet zone, both sides together
    module = next((m for m in (d(3), d(2)) if (code128_modules(barcode) + quiet) * m <= w - d(60)), max(1, d(1)))
    parts = [
        *size.header(),
        _text(size, 30, 30, 50, _("LANE")),
        _text(size, 30, 80, 420, str(lane), 300),
        _text(size, 470, 30, 50, _("STOP")),
        _text(size, 470, 80, 260, str(stop), 180),
        f"^FO{d(20)},{d(520)}^GB{w - d(40)},{d(6)},{d(6)}^FS",
        _text(size, 30, 550, 80, _("VAN {van}").format(van=van)),
        # The tracking id exactly as the manifest has it: a re-scan of the label finds the parcel.
        f"^FO{d(30)},{d(670)}^BY{module}^BCN,{d(170)},Y,N,N^FD{barcode}^FS",
        _text(size, 30, 920, 44, address),
        _text(size, 30, 975, 44, postal_code),
        f"^FO{d(20)},{d(1120)}^GB{w - d(40)},{d(4)},{d(4)}^FS",
        _text(size, 30, 1140, 36, f"{day.isoformat()}  {station_id}"),
        "^XZ",
    ]
    return _done([parts])


# Code 128 through ^BC without a mode: the field data selects subsets with invocation codes
# (ZPL II guide, ^BC, "Code 128 Invocation Characters"): >: starts subset B, >; subset C,
# >5 / >6 switch B -> C / C -> B; in subset B three characters must be written as codes
# because ZPL itself reads them: ^ as ><, > as >0, ~ as >=.
_B_ESCAPES = {"^": "><", ">": ">0", "~": ">="}
_DIGIT_RUN = re.compile(r"[0-9]{4,}")


def code128_carries(text: str) -> bool:
    """True if a Code 128 (subset B and C) carries ``text`` exactly: printable ASCII only."""
    return bool(text) and all(" " <= ch <= "~" for ch in text)


def why_not_on_a_label(tracking_id: str) -> str | None:
    """Why a sort label for this id would not find its parcel when scanned; None if it would.

    The label's Code 128 carries the id exactly; a scan finds the parcel when the station's
    reading of that text shares a key with the manifest's (``barcodes.index_keys``).
    """
    if not code128_carries(tracking_id):
        return "a sort label's barcode carries printable ASCII only"
    identity = barcodes.identify(tracking_id)
    if not isinstance(identity, barcodes.ParcelCode) or not set(identity.keys) & set(barcodes.index_keys(tracking_id)):
        return "the station would not know its barcode (a carrier's format, or 4-40 letters, digits and . _ / + # *)"
    return None


def code128_field(text: str) -> str:
    """The ``^FD`` of a ``^BC`` that encodes ``text`` exactly; runs of 4+ digits packed in subset C.

    Raises ValueError for text that Code 128 cannot carry (see :func:`code128_carries`).
    """
    if not code128_carries(text):
        raise ValueError(f"Code 128 cannot carry {text!r}: printable ASCII only")
    out: list[str] = []
    subset = ""

    def to(new: str) -> None:
        nonlocal subset
        if subset != new:
            out.append({"B": ">:", "C": ">;"}[new] if not subset else {"B": ">6", "C": ">5"}[new])
            subset = new

    i = 0
    for run in _DIGIT_RUN.finditer(text):
        start = run.start() + (len(run.group()) % 2)  # an odd run keeps its first digit in B
        for ch in text[i:start]:
            to("B")
            out.append(_B_ESCAPES.get(ch, ch))
        to("C")
        out.append(text[start : run.end()])
        i = run.end()
    for ch in text[i:]:
        to("B")
        out.append(_B_ESCAPES.get(ch, ch))
    return "".join(out)


def code128_modules(field: str) -> int:
    """Width in modules of the symbol for a :func:`code128_field` (start, data, check, stop)."""
    symbols = 0
    i = 0
    subset = "B"
    while i < len(field):
        if field[i] == ">":
            code = field[i + 1]
            subset = {":": "B", ";": "C", "6": "B", "5": "C"}.get(code, subset)
            symbols += 1
            i += 2
        elif subset == "C":
            symbols += 1
            i += 2
        else:
            symbols += 1
            i += 1
    return symbols * 11 + 11 + 13  # the start code is counted above; check digit and stop here


def mark_reprint(payload: bytes, language: str = "en") -> bytes:
    """The same labels with REPRINT across each, for a label that may have printed already."""
    _ = translation(language).gettext
    word = field_text(_("REPRINT"), 20)
    text = payload.decode("utf-8", errors="replace")
    width = int(m.group(1)) if (m := re.search(r"\^PW(\d+)", text)) else 812
    length = int(m.group(1)) if (m := re.search(r"\^LL(\d+)", text)) else 1218
    height = max(20, length // 17)
    mark = f"^FO{width // 27},{round(length * 0.85)}^A0N,{height},{height}^FR^FH^FD*** {word} ***^FS\n^XZ"
    return text.replace("^XZ", mark).encode("utf-8")


@dataclass(frozen=True)
class LoadListLine:
    stop: int
    tracking_id: str
    address: str
    loaded: bool


def load_list(
    *,
    van: str,
    lane: int,
    day: str,
    lines: Sequence[LoadListLine],
    size: LabelSize = LabelSize(),
    language: str = "en",
) -> bytes:
    """A van's departure list: every planned stop, loaded or not, as many labels as it takes."""
    _ = translation(language).gettext
    per_label = max(1, (size.height_design - 100) // 50)
    labels = []
    for start in range(0, max(len(lines), 1), per_label):
        parts = [
            *size.header(),
            _text(size, 30, 20, 50, _("VAN {van}  LANE {lane}  {day}").format(van=van, lane=lane, day=day)),
        ]
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


def command_sheet(
    *,
    codes: Sequence[CommandCode],
    day: date,
    station_id: str,
    size: LabelSize = LabelSize(),
    language: str = "en",
) -> bytes:
    """Command codes as labels, a Code 128 each with its meaning above it."""
    _ = translation(language).gettext
    title = _("COMMAND CODES  {day}  {station}").format(day=day.isoformat(), station=station_id)
    per_label = max(1, (size.height_design - 90) // 280)
    d = size.dots
    labels = []
    for start in range(0, len(codes), per_label):
        parts = [*size.header(), _text(size, 30, 20, 40, title)]
        for i, command in enumerate(codes[start : start + per_label]):
            y = 90 + i * 280
            # Up to two lines (a field block wraps at words): French meanings run longer than English.
            parts.append(_block(size, 30, y, 28, size.width_dots - d(60), 2, command.meaning, limit=100))
            # Code 128 subset B: the codes hold '$' and ':' (the station's own prefix).
            parts.append(f"^FO{d(30)},{d(y + 60)}^BY{max(2, d(3))}^BCN,{d(140)},Y,N,N^FD{command.code}^FS")
        parts.append("^XZ")
        labels.append(parts)
    return _done(labels)


# Over "{lane:>4} {van:<7} {planned:>4} {sorted:>4} {loaded:>4} {missing:>4} {misloads:>4}".
DAY_CLOSE_COLUMNS = N_("LANE VAN     PLAN SORT LOAD MISS MISLOAD")


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
    language: str = "en",
) -> bytes:
    """The day-close summary as one label: a line per van (as many as the label holds)."""
    _ = translation(language).gettext
    rows = max(1, (size.height_design - 180) // 34)
    shown = vans[:rows]
    parts = [
        *size.header(),
        _text(size, 30, 20, 44, _("DAY CLOSE {day}  {station}").format(day=day, station=station_id)),
        # The column heads stand over the figures below: a translation keeps each word's place.
        _text(size, 30, 80, 30, _(DAY_CLOSE_COLUMNS), 26),
    ]
    for i, v in enumerate(shown):
        figures = f"{v.planned:>4} {v.sorted:>4} {v.loaded:>4} {v.missing:>4} {v.misloads:>4}"
        parts.append(_escaped(size, 30, 120 + i * 34, 30, 26, f"{v.lane:>4} {field_text(v.van, 7):<7} {figures}"))
    y = 130 + len(shown) * 34
    totals = _("not in manifest: {unknown}   open exceptions: {open}").format(
        unknown=not_in_manifest, open=open_exceptions
    )
    parts.append(_text(size, 30, y, 30, totals, 26))
    parts.append("^XZ")
    return _done([parts])
