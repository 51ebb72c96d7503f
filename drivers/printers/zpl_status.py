"""Parse a ZPL printer's answer to ``~HS`` (host status); pure, no I/O.

This module owns the meaning of the ``~HS`` answer, so every transport (TCP, USB, lp,
serial) reports a printer's state the same way. The answer is three strings, each
``STX ... ETX CR LF`` (Zebra ZPL II Programming Guide, ``~HS``)::

    1: aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
       b paper out, c paused, dddd label length (dots), eee formats in the receive buffer,
       f receive buffer full, g diagnostic mode, h partial format, j corrupt RAM,
       k under temperature, l over temperature
    2: mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www
       o head up, p ribbon out, q thermal-transfer mode, r print mode, t label waiting,
       uuuuuuuu labels remaining in the batch
    3: xxxx,y   (password, static RAM installed)

Zebra printers send **no** answer while paper is out or the head is open, so a transport
that reaches the printer but gets no answer reports :data:`NO_ANSWER` (a fault for a
person), not offline.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.printers.base import PrinterState, PrinterStatus

STX, ETX = b"\x02", b"\x03"
QUERY = b"~HS"

NO_ANSWER = PrinterStatus(PrinterState.FAULT, "printer reachable but no answer to ~HS (paper out or head open?)")


class ZplStatusError(ValueError):
    """The bytes are not a ``~HS`` answer."""


@dataclass(frozen=True)
class HostStatus:
    paper_out: bool
    paused: bool
    label_length_dots: int
    formats_in_buffer: int
    buffer_full: bool
    corrupt_ram: bool
    under_temperature: bool
    over_temperature: bool
    head_up: bool
    ribbon_out: bool
    thermal_transfer: bool
    labels_remaining: int

    def problems(self) -> list[tuple[PrinterState, str]]:
        """Every condition that needs attention, most urgent first."""
        found: list[tuple[PrinterState, str]] = []
        if self.head_up:
            found.append((PrinterState.HEAD_OPEN, "head open"))
        if self.paper_out:
            found.append((PrinterState.PAPER_OUT, "paper out"))
        # Direct-thermal printers have no ribbon; the flag means nothing there.
        if self.ribbon_out and self.thermal_transfer:
            found.append((PrinterState.RIBBON_OUT, "ribbon out"))
        if self.corrupt_ram:
            found.append((PrinterState.FAULT, "corrupt RAM"))
        if self.over_temperature:
            found.append((PrinterState.FAULT, "head over temperature"))
        if self.under_temperature:
            found.append((PrinterState.FAULT, "head under temperature"))
        if self.buffer_full:
            found.append((PrinterState.BUFFER_FULL, "receive buffer full"))
        if self.paused:
            found.append((PrinterState.PAUSED, "paused"))
        return found

    def printer_status(self) -> PrinterStatus:
        problems = self.problems()
        if not problems:
            return PrinterStatus(
                PrinterState.READY, f"{self.formats_in_buffer} labels in buffer", self.formats_in_buffer
            )
        return PrinterStatus(problems[0][0], ", ".join(text for _, text in problems), self.formats_in_buffer)


def is_complete(answer: bytes) -> bool:
    """True once all three strings have arrived (a reader stops waiting then).

    Counted from the first STX: the tail of an earlier, late answer on a serial line is not
    part of this one.
    """
    start = answer.find(STX)
    return start >= 0 and answer.count(ETX, start) >= 3


def _fields(answer: bytes) -> list[list[str]]:
    strings: list[list[str]] = []
    rest = answer
    while STX in rest:
        start = rest.index(STX) + 1
        end = rest.find(ETX, start)
        if end < 0:
            raise ZplStatusError(f"unterminated string in ~HS answer: {answer!r}")
        try:
            text = rest[start:end].decode("ascii")
        except UnicodeDecodeError:
            raise ZplStatusError(f"non-ASCII ~HS answer: {answer!r}") from None
        strings.append([field.strip() for field in text.split(",")])
        rest = rest[end + 1 :]
    return strings


def _flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise ZplStatusError(f"expected a 0/1 flag, got {value!r}")
    return value == "1"


def _number(value: str) -> int:
    if not value.isdigit():
        raise ZplStatusError(f"expected a number, got {value!r}")
    return int(value)


def parse_host_status(answer: bytes) -> HostStatus:
    """Parse the three ``~HS`` strings; raise :class:`ZplStatusError` if they are not that."""
    strings = _fields(answer)
    if len(strings) > 3 and len(strings) % 3 == 0:
        strings = strings[-3:]  # late answers to earlier queries came first: the last one is the news
    if len(strings) < 2:
        raise ZplStatusError(f"~HS answer has {len(strings)} of 3 strings: {answer!r}")
    one, two = strings[0], strings[1]
    if len(one) < 12 or len(two) < 9:
        raise ZplStatusError(f"~HS answer has too few fields: {answer!r}")
    return HostStatus(
        paper_out=_flag(one[1]),
        paused=_flag(one[2]),
        label_length_dots=_number(one[3]),
        formats_in_buffer=_number(one[4]),
        buffer_full=_flag(one[5]),
        corrupt_ram=_flag(one[9]),
        under_temperature=_flag(one[10]),
        over_temperature=_flag(one[11]),
        head_up=_flag(two[2]),
        ribbon_out=_flag(two[3]),
        thermal_transfer=_flag(two[4]),
        labels_remaining=_number(two[8]),
    )


def status_from_answer(answer: bytes) -> PrinterStatus:
    """The printer's state from whatever a transport read after sending ``~HS``."""
    if not answer.strip():
        return NO_ANSWER
    try:
        return parse_host_status(answer).printer_status()
    except ZplStatusError as exc:
        return PrinterStatus(PrinterState.FAULT, f"unreadable ~HS answer: {exc}")


def format_host_status(status: HostStatus) -> bytes:
    """Build the answer a printer in ``status`` would send (for tests and the simulator)."""

    def b(flag: bool) -> str:
        return "1" if flag else "0"

    one = (
        f"030,{b(status.paper_out)},{b(status.paused)},{status.label_length_dots:04d},"
        f"{status.formats_in_buffer:03d},{b(status.buffer_full)},0,0,000,{b(status.corrupt_ram)},"
        f"{b(status.under_temperature)},{b(status.over_temperature)}"
    )
    two = (
        f"001,0,{b(status.head_up)},{b(status.ribbon_out)},{b(status.thermal_transfer)},2,6,0,"
        f"{status.labels_remaining:08d},1,000"
    )
    three = "1234,0"
    return b"".join(STX + s.encode() + ETX + b"\r\n" for s in (one, two, three))


READY_STATUS = HostStatus(
    paper_out=False, paused=False, label_length_dots=1218, formats_in_buffer=0, buffer_full=False,
    corrupt_ram=False, under_temperature=False, over_temperature=False, head_up=False,
    ribbon_out=False, thermal_transfer=False, labels_remaining=0,
)  # fmt: skip
