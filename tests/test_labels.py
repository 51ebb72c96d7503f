"""The sort label's ZPL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from station.labels import LabelSize, field_text, sort_label


def label(**kw: object) -> str:
    args: dict[str, object] = dict(
        tracking_id="1Z999AA10123456784",
        lane=7,
        stop=23,
        van="V07",
        address="12 Rue Garibaldi",
        postal_code="69003",
        day=date(2026, 11, 25),
        station_id="dock-1",
    )
    args.update(kw)
    return sort_label(**args).decode()  # type: ignore[arg-type]


def test_a_sort_label_has_lane_stop_van_barcode_address_and_date() -> None:
    zpl = label()
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert "^PW812^LL1218" in zpl  # 4x6 in. at 203 dpi
    assert "^FD7^FS" in zpl and "^FD23^FS" in zpl and "^FDVAN V07^FS" in zpl
    assert "^BCN," in zpl and "^FD>:1Z999AA1>50123456784^FS" in zpl  # subset B, then C for the digits
    assert "12 Rue Garibaldi" in zpl and "2026-11-25" in zpl


def test_field_text_cannot_end_a_field_or_start_a_command() -> None:
    assert field_text("a^XZ~JR_b") == "a_5EXZ_7EJR_5Fb"
    zpl = label(address="^XZ^XA~JR evil")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1 and "~JR" not in zpl


def test_a_300_dpi_label_is_scaled() -> None:
    zpl = label(size=LabelSize(dpi=300))
    assert "^PW1200^LL1800" in zpl


def test_every_layout_follows_the_label_size() -> None:
    from station.labels import CommandCode, LoadListLine, command_sheet, day_close_summary, load_list

    @dataclass(frozen=True)
    class Van:
        lane: int = 3
        van: str = "V03"
        planned: int = 10
        sorted: int = 9
        loaded: int = 8
        missing: int = 1
        misloads: int = 0

    lines = [LoadListLine(stop, f"T{stop}", "1 Main St", stop % 2 == 0) for stop in range(1, 50)]
    codes = [CommandCode(f"$ST:CMD:C{i}", f"command {i}") for i in range(9)]
    for size, header in ((LabelSize(), "^PW812^LL1218"), (LabelSize(dpi=300), "^PW1200^LL1800")):
        layouts = [
            load_list(van="V03", lane=3, day="2026-11-25", lines=lines, size=size),
            command_sheet(codes=codes, day=date(2026, 11, 25), station_id="dock-1", size=size),
            day_close_summary(
                day="2026-11-25", station_id="dock-1", vans=[Van()], not_in_manifest=2, open_exceptions=1, size=size
            ),
        ]
        for zpl in (payload.decode() for payload in layouts):
            assert zpl.count("^XA") == zpl.count("^XZ") == zpl.count(header) >= 1
    # The 300-dpi load list is the 203-dpi one scaled: same labels, coordinates x 300/203.
    assert (
        "^FO44,133^A0N,50,44" in load_list(van="V", lane=1, day="d", lines=lines[:1], size=LabelSize(dpi=300)).decode()
    )
    # A taller roll holds more lines per label: fewer labels for the same van.
    short = load_list(van="V", lane=1, day="d", lines=lines).decode().count("^XA")
    tall = load_list(van="V", lane=1, day="d", lines=lines, size=LabelSize(height_in=8)).decode().count("^XA")
    assert short == 3 and tall == 2


def test_load_list_marks_loaded_stops_and_escapes_every_field() -> None:
    from station.labels import LoadListLine, load_list

    zpl = load_list(van="V^1", lane=2, day="2026-11-25", lines=[LoadListLine(4, "T~1", "^XZ street", True)]).decode()
    assert "OK   4 T_7E1 _5EXZ street" in zpl and "VAN V_5E1  LANE 2" in zpl
    assert zpl.count("^XZ") == 1 and "~" not in zpl


def test_a_reprint_says_so_on_every_label_and_stays_one_format_each() -> None:
    from station.labels import mark_reprint

    two = (label() + label()).encode()
    marked = mark_reprint(two).decode()
    assert marked.count("REPRINT") == 2 and marked.count("^XA") == marked.count("^XZ") == 2
