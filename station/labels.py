"""ZPL for everything the station prints: the sort label first.

Owns label layout and ZPL escaping. A sort label is 4x6 in. at 203 dpi by default: the
lane and the stop in type big enough to read across the dock, the van, a Code 128 of
the tracking id (so a re-scan of the label finds the parcel), a short address and the
date. Text fields go through ``^FH`` hex escapes so an address with ``^`` or ``~`` in it
cannot end the field or inject a command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def field_text(text: str, limit: int = 60) -> str:
    """Escape text for a ``^FH^FD`` field: ``_``, ``^`` and ``~`` as hex, control chars dropped."""
    out = []
    for ch in text[:limit]:
        if ch in "_^~":
            out.append(f"_{ord(ch):02X}")
        elif ch.isprintable():
            out.append(ch)
    return "".join(out)


def _text(x: int, y: int, height: int, text: str, width: int | None = None) -> str:
    return f"^FO{x},{y}^A0N,{height},{width or height}^FH^FD{field_text(text)}^FS"


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
    w, h = size.width_dots, size.height_dots
    scale = size.dpi / DPI  # layout is drawn for 203 dpi and scaled for 300/600 dpi heads

    def s(v: int) -> int:
        return round(v * scale)

    barcode_data = "".join(ch for ch in tracking_id if ch.isalnum())
    parts = [
        "^XA",
        "^CI28",  # UTF-8 field data: recipients' names and streets are not ASCII
        f"^PW{w}^LL{h}^LH0,0",
        _text(s(30), s(30), s(50), "LANE"),
        _text(s(30), s(80), s(420), str(lane), s(300)),
        _text(s(470), s(30), s(50), "STOP"),
        _text(s(470), s(80), s(260), str(stop), s(180)),
        f"^FO{s(20)},{s(520)}^GB{w - s(40)},{s(6)},{s(6)}^FS",
        _text(s(30), s(550), s(80), f"VAN {van}"),
        # Automatic subset selection (mode A) packs digit runs into subset C.
        f"^FO{s(30)},{s(670)}^BY{max(2, s(3))}^BCN,{s(170)},Y,N,N,A^FD{barcode_data}^FS",
        _text(s(30), s(920), s(44), address, None),
        _text(s(30), s(975), s(44), postal_code),
        f"^FO{s(20)},{s(1120)}^GB{w - s(40)},{s(4)},{s(4)}^FS",
        _text(s(30), s(1140), s(36), f"{day.isoformat()}  {station_id}"),
        "^XZ",
    ]
    return ("\n".join(parts) + "\n").encode("utf-8")
