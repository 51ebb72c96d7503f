"""Device discovery against a fake /dev and /sys tree; the TOML it renders loads and builds."""

from __future__ import annotations

import importlib.util
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers import discovery
from drivers.discovery import HIDRAW_NOTE, KEYBOARD_NOTE, FoundDevice, render_config
from drivers.factory import make_printer, make_scanner

# KEY_ESC..KEY_Z and KEY_ENTER set, as a keyboard's capabilities/key shows (low word last).
KEYBOARD_CAPS = "1000000000007 ff800000000007ff febeffdfffefffff fffffffffffffffe"
MOUSE_CAPS = "1f0000 0 0 0 0"


def link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def event_device(dev: Path, sys: Path, n: int, name: str, caps: str, vendor: str, product: str) -> Path:
    node = dev / "input" / f"event{n}"
    node.parent.mkdir(parents=True, exist_ok=True)
    node.touch()
    device = sys / "class" / "input" / f"event{n}" / "device"
    (device / "capabilities").mkdir(parents=True)
    (device / "id").mkdir()
    (device / "name").write_text(name + "\n")
    (device / "capabilities" / "key").write_text(caps + "\n")
    (device / "id" / "vendor").write_text(vendor + "\n")
    (device / "id" / "product").write_text(product + "\n")
    return node


@dataclass
class Port:
    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None
    product: str | None
    description: str


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    dev, sys = tmp_path / "dev", tmp_path / "sys"
    scanner = event_device(dev, sys, 3, "Honeywell Imaging & Mobility 1900", KEYBOARD_CAPS, "0c2e", "0b01")
    keyboard = event_device(dev, sys, 4, "Dell KB216 Wired Keyboard", KEYBOARD_CAPS, "413c", "2113")
    mouse = event_device(dev, sys, 5, "Logitech Mouse", MOUSE_CAPS, "046d", "c077")
    link(dev / "input" / "by-path" / "platform-xhci-hcd.0-usb-0:1.1:1.0-event-kbd", scanner)
    link(dev / "input" / "by-id" / "usb-Honeywell_1900-event-kbd", scanner)
    link(dev / "input" / "by-path" / "platform-xhci-hcd.0-usb-0:1.2:1.0-event-kbd", keyboard)
    link(dev / "input" / "by-path" / "platform-xhci-hcd.0-usb-0:1.3:1.0-event-mouse", mouse)
    # A scanner in HID-POS / serial emulation: hidraw only.
    hid = sys / "class" / "hidraw" / "hidraw2" / "device"
    hid.mkdir(parents=True)
    (hid / "uevent").write_text("HID_ID=0003:00000C2E:00000B07\nHID_NAME=Honeywell HID POS\n")
    (dev / "hidraw2").touch()
    # A keyboard's hidraw has an input node: not listed again.
    kbd_hid = sys / "class" / "hidraw" / "hidraw0" / "device"
    (kbd_hid / "input").mkdir(parents=True)
    # An lp printer with a /dev/station name.
    (dev / "usb").mkdir()
    (dev / "usb" / "lp0").touch()
    link(dev / "station" / "printer-terminal", dev / "usb" / "lp0")
    usb_dev = sys / "bus-usb-1-1.4"
    usb_dev.mkdir(parents=True)
    (usb_dev / "idVendor").write_text("0a5f\n")
    (usb_dev / "idProduct").write_text("0164\n")
    (usb_dev / "manufacturer").write_text("Zebra Technologies\n")
    (usb_dev / "product").write_text("ZTC ZD420-203dpi ZPL\n")
    (usb_dev / "interface").mkdir()
    link(sys / "class" / "usbmisc" / "lp0" / "device", usb_dev / "interface")
    return dev, sys


def serial_ports(dev: Path) -> list[Port]:
    (dev / "ttyACM0").touch()
    (dev / "ttyAMA0").touch()
    link(dev / "serial" / "by-id" / "usb-Datalogic_Gryphon-if00", dev / "ttyACM0")
    return [
        Port(str(dev / "ttyACM0"), 0x05F9, 0x4204, "S123", "Datalogic", "Gryphon GD4500", "Gryphon"),
        Port(str(dev / "ttyAMA0"), None, None, None, None, None, "ttyAMA0"),
    ]


class FakeInterface:
    def __init__(self, cls: int) -> None:
        self.bInterfaceClass = cls


class FakeUsb:
    def __init__(self, vid: int, pid: int, classes: list[int], serial: str | None) -> None:
        self.idVendor, self.idProduct, self.bus, self.address = vid, pid, 1, 7
        self._classes = classes
        self.manufacturer, self.product = "Zebra Technologies", "ZTC ZD420"
        self._serial = serial

    @property
    def serial_number(self) -> str:
        if self._serial is None:
            raise ValueError("The device has no langid (permission denied)")
        return self._serial

    def __iter__(self) -> Any:
        return iter([[FakeInterface(c) for c in self._classes]])


def run(tree: tuple[Path, Path]) -> list[FoundDevice]:
    dev, sys = tree
    ports = serial_ports(dev)
    usb = [FakeUsb(0x0A5F, 0x0164, [7], "D4J123"), FakeUsb(0x046D, 0xC077, [3], None)]
    return discovery.discover(dev, sys, comports=lambda: ports, usb_devices=lambda: usb)


def test_finds_each_kind(tree: tuple[Path, Path]) -> None:
    found = run(tree)
    dev, _ = tree
    by_kind = {(d.kind, d.description): d for d in found}
    scanner = by_kind[("evdev", "Honeywell Imaging & Mobility 1900")]
    assert scanner.path.endswith("by-path/platform-xhci-hcd.0-usb-0:1.1:1.0-event-kbd")  # by-path preferred
    assert scanner.other_names[0].endswith("by-id/usb-Honeywell_1900-event-kbd")
    assert (scanner.vendor_id, scanner.product_id, scanner.node) == (0x0C2E, 0x0B01, str(dev / "input/event3"))
    assert KEYBOARD_NOTE not in scanner.note
    keyboard = by_kind[("evdev", "Dell KB216 Wired Keyboard")]
    assert KEYBOARD_NOTE in keyboard.note
    assert not any(d.description == "Logitech Mouse" for d in found)
    serial = by_kind[("serial", "Datalogic Gryphon GD4500")]
    assert serial.path.endswith("serial/by-id/usb-Datalogic_Gryphon-if00")
    assert not any(d.node.endswith("ttyAMA0") for d in found)
    hidraw = by_kind[("hidraw", "Honeywell HID POS")]
    assert hidraw.note == HIDRAW_NOTE and not hidraw.usable and hidraw.config("x") is None
    assert [d.path for d in found if d.kind == "hidraw"] == [str(dev / "hidraw2")]
    lp = next(d for d in found if d.kind == "lp")
    assert lp.path.endswith("station/printer-terminal") and lp.usb_id == "0a5f:0164"
    usb = next(d for d in found if d.kind == "usb")
    assert (usb.path, usb.serial_number) == ("usb:0a5f:0164", "D4J123")
    assert [d.role for d in found] == sorted((d.role for d in found), reverse=True)  # scanners first


def test_usable_follows_permissions(tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: "event3" not in str(path))
    found = run(tree)
    scanner = next(d for d in found if d.node.endswith("event3"))
    assert not scanner.usable and "group" in scanner.note
    assert next(d for d in found if d.node.endswith("event4")).usable


def test_rendered_toml_loads_and_builds_drivers(tree: tuple[Path, Path]) -> None:
    text = render_config(run(tree))
    assert HIDRAW_NOTE in text
    config = tomllib.loads(text)
    assert [s["kind"] for s in config["scanners"]] == ["evdev", "evdev", "serial"]
    assert config["scanners"][2]["terminator"] == "\r"
    assert [p["kind"] for p in config["printers"]] == ["usb", "lp"]
    for spec in config["scanners"]:
        if spec["kind"] == "evdev" and importlib.util.find_spec("evdev") is None:
            with pytest.raises(ValueError, match=r"needs the evdev package.*\[hid\] extra"):
                make_scanner(spec)
            continue
        make_scanner(spec)
    for spec in config["printers"]:
        make_printer(spec)


def test_nothing_found(tmp_path: Path) -> None:
    assert "no scanners or printers" in render_config([])
    assert discovery.discover(tmp_path, tmp_path, comports=list, usb_devices=list) == []


def test_json_shape() -> None:
    device = FoundDevice("printer", "usb", "usb:0a5f:0164", vendor_id=0x0A5F, product_id=0x0164)
    assert device.to_json()["usb_id"] == "0a5f:0164"
