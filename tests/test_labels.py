"""The sort label's ZPL."""

from __future__ import annotations

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
    assert "^BCN," in zpl and "^FD1Z999AA10123456784^FS" in zpl
    assert "12 Rue Garibaldi" in zpl and "2026-11-25" in zpl


def test_field_text_cannot_end_a_field_or_start_a_command() -> None:
    assert field_text("a^XZ~JR_b") == "a_5EXZ_7EJR_5Fb"
    zpl = label(address="^XZ^XA~JR evil")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1 and "~JR" not in zpl


def test_a_300_dpi_label_is_scaled() -> None:
    zpl = label(size=LabelSize(dpi=300))
    assert "^PW1200^LL1800" in zpl
