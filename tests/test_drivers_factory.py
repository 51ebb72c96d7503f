"""Config tables to drivers, and errors that name the wrong key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from drivers.factory import PRINTER_KEYS, RELAY_KEYS, SCANNER_KEYS, make_printer, make_scanner
from drivers.printers.file import FilePrinter
from drivers.scanners.serial import SerialScanner
from drivers.scanners.simulated import SimulatedScanner

DOCS = Path(__file__).resolve().parent.parent / "docs" / "devices.md"


def test_serial_scanner_from_spec() -> None:
    scanner = make_scanner(
        {"name": "terminal", "kind": "serial", "port": "/dev/ttyACM0", "baud": 115200, "terminator": "\r\n"}
    )
    assert isinstance(scanner, SerialScanner)
    assert (scanner.name, scanner.port, scanner.baudrate, scanner.terminator) == (
        "terminal",
        "/dev/ttyACM0",
        115200,
        b"\r\n",
    )


def test_serial_defaults_and_named_terminator() -> None:
    scanner = make_scanner({"kind": "serial", "port": "/dev/ttyUSB0", "terminator": "LF"})
    assert isinstance(scanner, SerialScanner)
    assert (scanner.name, scanner.baudrate, scanner.terminator) == ("serial", 9600, b"\n")


def test_simulated_scanner_from_spec() -> None:
    scanner = make_scanner({"name": "demo", "kind": "simulated", "codes": ["A"], "interval_s": 1})
    try:
        assert isinstance(scanner, SimulatedScanner)
        assert scanner.interval_s == 1.0
    finally:
        scanner.close()


def test_file_printer_from_spec(tmp_path: Path) -> None:
    printer = make_printer({"name": "labels", "kind": "file", "directory": str(tmp_path)})
    assert isinstance(printer, FilePrinter)
    assert printer.directory == tmp_path


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"name": "t"}, "kind"),
        ({"name": "t", "kind": "bluetooth"}, "kind"),
        ({"name": "", "kind": "serial", "port": "/dev/ttyACM0"}, "name"),
        ({"name": "t", "kind": "serial"}, "port"),
        ({"name": "t", "kind": "serial", "port": "/dev/ttyACM0", "baud": "fast"}, "baud"),
        ({"name": "t", "kind": "serial", "port": "/dev/ttyACM0", "baud": True}, "baud"),
        ({"name": "t", "kind": "serial", "port": "/dev/ttyACM0", "bauds": 9600}, "bauds"),
        ({"name": "t", "kind": "serial", "port": "/dev/ttyACM0", "terminator": ""}, "terminator"),
        ({"name": "t", "kind": "serial", "port": "/dev/ttyACM0", "timeout_s": -1}, "timeout_s"),
        ({"name": "t", "kind": "evdev", "path": "/dev/input/x", "grab": "yes"}, "grab"),
        ({"name": "t", "kind": "evdev", "path": "/dev/input/x", "terminator": "space"}, "terminator"),
        ({"name": "t", "kind": "simulated", "codes": "A,B"}, "codes"),
    ],
)
def test_bad_scanner_spec_names_the_key(spec: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"'{key}'")):
        make_scanner(spec)


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"kind": "file"}, "directory"),
        ({"kind": "file", "directory": "/tmp", "dir": "/tmp"}, "dir"),
        ({"kind": "tcp", "host": "10.0.0.9", "port": 70000}, "port"),
        ({"kind": "usb", "vendor_id": "zebra", "product_id": 1}, "vendor_id"),
        ({"kind": "usb", "vendor_id": "0x0a5f"}, "product_id"),
        ({"kind": "lp"}, "path"),
        ({"kind": "serial", "port": "/dev/ttyUSB1", "baud": 0}, "baud"),
        ({"kind": "cups"}, "kind"),
    ],
)
def test_bad_printer_spec_names_the_key(spec: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"'{key}'")):
        make_printer(spec)


def test_spec_must_be_a_table() -> None:
    with pytest.raises(ValueError, match="table"):
        make_scanner(["serial"])  # type: ignore[arg-type]


def test_docs_list_every_key() -> None:
    """docs/devices.md has a row for every key of every kind, so the docs keep up with the code."""
    text = DOCS.read_text()
    for table, keys in (("scanners", SCANNER_KEYS), ("printers", PRINTER_KEYS), ("relays", RELAY_KEYS)):
        for kind, names in keys.items():
            heading = f"### {table}: {kind}"
            assert heading in text, heading
            section = text.split(heading, 1)[1].split("###", 1)[0]
            for key in names:
                assert f"| `{key}`" in section, f"{heading} lacks {key}"


def test_evdev_scanner_from_spec() -> None:
    pytest.importorskip("evdev", reason="evdev is not installed (it needs gcc to build): pip install '.[hid]'")
    from drivers.scanners.hid import HidScanner
    from drivers.scanners.wedge import Terminator

    scanner = make_scanner(
        {
            "name": "terminal",
            "kind": "evdev",
            "path": "/dev/input/by-path/x-event-kbd",
            "grab": False,
            "terminator": "none",
            "idle_gap_s": 0.05,
            "layout": {"KEY_Z": "y Y"},
        }
    )
    assert isinstance(scanner, HidScanner)
    assert (scanner.path, scanner.grab, scanner.decoder.terminator) == (
        "/dev/input/by-path/x-event-kbd",
        False,
        Terminator.NONE,
    )


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"kind": "evdev", "path": "/dev/input/x", "terminator": "none"}, "idle_gap_s"),
        ({"kind": "evdev", "path": "/dev/input/x", "layout": {"KEY_NOPE": "a"}}, "layout"),
        ({"kind": "evdev", "path": "/dev/input/x", "layout": ["KEY_Z"]}, "layout"),
    ],
)
def test_bad_evdev_spec_names_the_key(spec: dict[str, Any], key: str) -> None:
    if key == "layout":  # the layout is checked against evdev's key names
        pytest.importorskip("evdev", reason="evdev is not installed (it needs gcc to build): pip install '.[hid]'")
    with pytest.raises(ValueError, match=re.escape(f"'{key}'")):
        make_scanner(spec)


def test_usb_printer_hex_ids() -> None:
    from drivers.printers.usb import UsbPrinter

    printer = make_printer({"kind": "usb", "vendor_id": "0x0a5f", "product_id": 356})
    assert isinstance(printer, UsbPrinter)
    assert (printer.vendor_id, printer.product_id) == (0x0A5F, 0x0164)


def test_evdev_without_the_package_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "evdev", None)  # as on a machine where it could not be built
    monkeypatch.delitem(sys.modules, "drivers.scanners.hid", raising=False)
    monkeypatch.delitem(sys.modules, "drivers.scanners.wedge", raising=False)
    with pytest.raises(ValueError, match=r"terminal.*needs the evdev package.*\[hid\] extra"):
        make_scanner({"name": "terminal", "kind": "evdev", "path": "/dev/input/x"})
