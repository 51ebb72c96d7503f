"""Find the scanners, printers and relay boards plugged into this machine, and write their config.

This module owns ``station devices``: it lists what it can see, as the operator would
configure it, with a stable path, vendor/product ids, and whether the current user may
open it (run it as the service user: ``sudo -u station station devices``), and renders
that as ``[[scanners]]`` / ``[[printers]]`` TOML tables ready to paste.

Where it looks, and why there:

* keyboard-wedge scanners: ``/dev/input/by-path`` and ``/dev/input/by-id`` names of event
  devices whose key capabilities (read from sysfs, so no permission is needed) include
  letters, digits and Enter. A real keyboard looks exactly like that: the note says so,
  because grabbing the keyboard locks it. by-path is preferred: identical scanners share a
  by-id name.
* serial scanners: ``ttyACM*``/``ttyUSB*`` from ``serial.tools.list_ports``, named by
  ``/dev/serial/by-id`` (or by-path) when udev made one.
* hidraw-only devices (a HID device without a keyboard input node): scanners in "serial
  emulation" or HID-POS mode. The station cannot read those; the note says how to fix it.
* printers: USB printer-class devices through pyusb, and ``/dev/usb/lp*``.
* relay boards (a bay's stack light): HID relay modules among the hidraw-only devices (USB id
  16c0:05df or a "USBRelay" name); a serial relay board is a USB-serial adapter like a scanner's.

``/dev/station/*`` symlinks from ``systemd/99-station.rules`` win over every other name.
Every probe is best effort: a missing library or an unreadable file hides one device, never
the whole list.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.relays import HID_RELAY_NAMES, HID_RELAY_USB_IDS

log = logging.getLogger(__name__)

HIDRAW_NOTE = (
    "serial emulation mode appears as hidraw: reconfigure the scanner to USB-CDC or HID keyboard "
    "(scan the programming code in its manual)"
)
RELAY_NOTE = "a USB HID relay board: set lane to the bay whose stack light it switches, channel to its relay"
KEYBOARD_NOTE = "looks like a keyboard: make sure it is the scanner (grab = true locks a keyboard)"

_SCANNER_WORDS = (
    "scanner",
    "barcode",
    "bar code",
    "honeywell",
    "hand held",
    "metrologic",
    "datalogic",
    "zebra",
    "symbol",
    "newland",
    "zebex",
    "opticon",
    "inateck",
    "netum",
    "tera",
    "eyoyo",
)
_BITS_PER_WORD = struct.calcsize("l") * 8
_KEY_A, _KEY_Z, _KEY_1, _KEY_ENTER = 30, 44, 2, 28  # linux/input-event-codes.h


@dataclass(frozen=True)
class FoundDevice:
    role: str  # "scanner", "printer" or "relay" (a stack light's relay board)
    kind: str  # a factory kind ("evdev", "serial", "usb", "lp"; relays: "hidraw") or "hidraw" (a scanner: unusable)
    path: str  # the stable name to configure
    node: str = ""  # what it points at right now, e.g. /dev/input/event3
    vendor_id: int | None = None
    product_id: int | None = None
    description: str = ""
    usable: bool = False
    note: str = ""
    serial_number: str | None = None
    other_names: tuple[str, ...] = field(default=())

    @property
    def usb_id(self) -> str:
        if self.vendor_id is None or self.product_id is None:
            return ""
        return f"{self.vendor_id:04x}:{self.product_id:04x}"

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role, "kind": self.kind, "path": self.path, "node": self.node,
            "vendor_id": self.vendor_id, "product_id": self.product_id, "usb_id": self.usb_id,
            "description": self.description, "usable": self.usable, "note": self.note,
            "serial_number": self.serial_number, "other_names": list(self.other_names),
        }  # fmt: skip

    def config(self, name: str) -> dict[str, Any] | None:
        """The ``[[scanners]]``/``[[printers]]``/``[[relays]]`` table for this device, or None if unusable as is."""
        if self.role == "relay":
            return {"name": name, "kind": self.kind, "path": self.path, "lane": 0, "channel": 1}
        if self.kind == "evdev":
            return {"name": name, "kind": "evdev", "path": self.path, "grab": True}
        if self.kind == "serial":
            return {"name": name, "kind": "serial", "port": self.path, "baud": 9600, "terminator": "\r"}
        if self.kind == "lp":
            return {"name": name, "kind": "lp", "path": self.path}
        if self.kind == "usb" and self.vendor_id is not None and self.product_id is not None:
            table: dict[str, Any] = {
                "name": name,
                "kind": "usb",
                "vendor_id": f"0x{self.vendor_id:04x}",
                "product_id": f"0x{self.product_id:04x}",
            }
            if self.serial_number:
                table["serial_number"] = self.serial_number
            return table
        return None


# -- small helpers --------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _hex(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


def _usable(node: str) -> tuple[bool, str]:
    if not node or not os.path.exists(node):
        return False, "not present"
    if os.access(node, os.R_OK | os.W_OK):
        return True, ""
    try:
        import grp

        group = grp.getgrgid(os.stat(node).st_gid).gr_name
    except (KeyError, OSError):
        group = "?"
    return False, f"no permission for this user: add it to group {group!r}"


def _links(directory: Path) -> dict[str, list[str]]:
    """Resolved target -> symlinks in ``directory`` pointing at it."""
    found: dict[str, list[str]] = {}
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.is_symlink():
            found.setdefault(os.path.realpath(entry), []).append(str(entry))
    return found


def _key_bits(text: str) -> set[int]:
    bits: set[int] = set()
    for index, word in enumerate(reversed(text.split())):
        value = _hex(word) or 0
        for bit in range(_BITS_PER_WORD):
            if value >> bit & 1:
                bits.add(index * _BITS_PER_WORD + bit)
    return bits


def _looks_like_keyboard(key_caps: str) -> bool:
    bits = _key_bits(key_caps)
    return (
        {_KEY_ENTER, _KEY_1}.issubset(bits) and all(k in bits for k in range(_KEY_A, _KEY_A + 10)) and (_KEY_Z in bits)
    )


def _sounds_like_scanner(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _SCANNER_WORDS)


# -- probes -----------------------------------------------------------------------------


class _Roots:
    def __init__(self, dev: Path, sys: Path) -> None:
        self.dev, self.sys = dev, sys
        self.station = _links(dev / "station")  # udev symlinks from 99-station.rules

    def names(self, node: str, *dirs: Path) -> list[str]:
        """Stable names for ``node``: /dev/station first, then each of ``dirs`` in order."""
        names = list(self.station.get(node, []))
        for directory in dirs:
            names += _links(directory).get(node, [])
        return names


def find_input_scanners(roots: _Roots) -> Iterator[FoundDevice]:
    by_path, by_id = roots.dev / "input" / "by-path", roots.dev / "input" / "by-id"
    nodes = set(_links(by_path)) | set(_links(by_id))
    for node in sorted(nodes):
        event = os.path.basename(node)
        if not event.startswith("event"):
            continue
        device_dir = roots.sys / "class" / "input" / event / "device"
        if not _looks_like_keyboard(_read(device_dir / "capabilities" / "key")):
            continue
        names = roots.names(node, by_path, by_id)
        description = _read(device_dir / "name")
        usable, why = _usable(node)
        notes = [] if _sounds_like_scanner(description) else [KEYBOARD_NOTE]
        if why:
            notes.append(why)
        yield FoundDevice(
            "scanner", "evdev", names[0], node, _hex(_read(device_dir / "id" / "vendor")),
            _hex(_read(device_dir / "id" / "product")), description, usable, "; ".join(notes),
            other_names=tuple(names[1:]),
        )  # fmt: skip


def find_serial_scanners(roots: _Roots, comports: Callable[[], Iterable[Any]] | None = None) -> Iterator[FoundDevice]:
    if comports is None:
        try:
            from serial.tools import list_ports
        except ImportError:
            return
        comports = list_ports.comports
    for port in comports():
        node = str(port.device)
        if not os.path.basename(node).startswith(("ttyACM", "ttyUSB")):
            continue  # the Pi's own UARTs (ttyAMA, ttyS) are not scanners
        names = roots.names(node, roots.dev / "serial" / "by-id", roots.dev / "serial" / "by-path") or [node]
        usable, why = _usable(node)
        description = " ".join(x for x in (port.manufacturer, port.product) if x) or str(port.description)
        notes = [why] if why else []
        if os.path.basename(node).startswith("ttyUSB"):
            notes.append(
                'a USB-serial adapter: a scanner, a serial printer (kind = "serial" in [[printers]]) '
                'or a serial relay board (kind = "serial" in [[relays]])'
            )
        yield FoundDevice(
            "scanner",
            "serial",
            names[0],
            node,
            port.vid,
            port.pid,
            description,
            usable,
            "; ".join(notes),
            port.serial_number,
            tuple(names[1:]),
        )


def find_hidraw_only(roots: _Roots) -> Iterator[FoundDevice]:
    """HID devices with a hidraw node and no input node: the station cannot read them."""
    base = roots.sys / "class" / "hidraw"
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return
    for entry in entries:
        device_dir = entry / "device"
        if (device_dir / "input").exists():
            continue  # also a keyboard (or mouse): listed as evdev if it is a keyboard
        uevent = dict(line.split("=", 1) for line in _read(device_dir / "uevent").splitlines() if "=" in line)
        parts = uevent.get("HID_ID", "").split(":")
        vendor, product = (_hex(parts[1]), _hex(parts[2])) if len(parts) == 3 else (None, None)
        node = str(roots.dev / entry.name)
        name = uevent.get("HID_NAME", "")
        if (vendor, product) in HID_RELAY_USB_IDS or any(word in name.lower() for word in HID_RELAY_NAMES):
            usable, why = _usable(node)
            note = "; ".join(x for x in (RELAY_NOTE, why) if x)
            yield FoundDevice("relay", "hidraw", node, node, vendor, product, name, usable, note)
            continue
        yield FoundDevice("scanner", "hidraw", node, node, vendor, product, name, False, HIDRAW_NOTE)


def find_usb_printers(roots: _Roots, find_all: Callable[[], Iterable[Any]] | None = None) -> Iterator[FoundDevice]:
    if find_all is None:
        try:
            import usb.core
        except ImportError:
            return

        def find_all() -> Iterable[Any]:
            try:
                return list(usb.core.find(find_all=True))
            except Exception as exc:  # no libusb backend: no USB listing, say why
                log.warning("cannot list USB devices: %s", exc)
                return []

    for device in find_all():
        try:
            interfaces = [intf for config in device for intf in config]
        except Exception:  # descriptors unreadable: skip this one device
            continue
        if not any(intf.bInterfaceClass == 7 for intf in interfaces):
            continue
        strings: dict[str, str | None] = {}
        for attribute in ("manufacturer", "product", "serial_number"):
            try:
                strings[attribute] = getattr(device, attribute)
            except Exception:  # strings need write access to the device
                strings[attribute] = None
        node = str(roots.dev / "bus" / "usb" / f"{device.bus:03d}" / f"{device.address:03d}")
        usable, why = _usable(node)
        description = " ".join(s for s in (strings["manufacturer"], strings["product"]) if s)
        ident = f"usb:{device.idVendor:04x}:{device.idProduct:04x}"
        yield FoundDevice(
            "printer",
            "usb",
            ident,
            node,
            device.idVendor,
            device.idProduct,
            description,
            usable,
            why,
            strings["serial_number"],
        )


def find_lp_printers(roots: _Roots) -> Iterator[FoundDevice]:
    try:
        nodes = sorted(str(p) for p in (roots.dev / "usb").glob("lp*"))
    except OSError:
        return
    for node in nodes:
        names = roots.names(node) or [node]
        usb_device = roots.sys / "class" / "usbmisc" / os.path.basename(node) / "device" / ".."
        description = " ".join(x for x in (_read(usb_device / "manufacturer"), _read(usb_device / "product")) if x)
        usable, why = _usable(node)
        notes = [why] if why else []
        if names[0] == node:
            notes.append("lp numbers follow plug order: add a /dev/station name (systemd/99-station.rules)")
        yield FoundDevice(
            "printer",
            "lp",
            names[0],
            node,
            _hex(_read(usb_device / "idVendor")),
            _hex(_read(usb_device / "idProduct")),
            description,
            usable,
            "; ".join(notes),
            _read(usb_device / "serial") or None,
            tuple(names[1:]),
        )


def discover(
    dev: str | os.PathLike[str] = "/dev",
    sys: str | os.PathLike[str] = "/sys",
    comports: Callable[[], Iterable[Any]] | None = None,
    usb_devices: Callable[[], Iterable[Any]] | None = None,
) -> list[FoundDevice]:
    """Every scanner, printer and relay board visible now, scanners first.

    ``comports`` and ``usb_devices`` replace pyserial's and pyusb's listings (for tests).
    """
    roots = _Roots(Path(dev), Path(sys))
    found: list[FoundDevice] = []
    probes: list[Callable[[], Iterable[FoundDevice]]] = [
        lambda: find_input_scanners(roots),
        lambda: find_serial_scanners(roots, comports),
        lambda: find_hidraw_only(roots),
        lambda: find_usb_printers(roots, usb_devices),
        lambda: find_lp_printers(roots),
    ]
    for probe in probes:
        try:
            found.extend(probe())
        except Exception:  # one broken probe must not hide the other devices
            log.exception("a device probe failed")
    return found


# -- rendering -------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def render_config(devices: Iterable[FoundDevice]) -> str:
    """TOML tables for ``station.toml``, one per device, with a comment saying what it is."""
    lines: list[str] = []
    counters = {"scanner": 0, "printer": 0, "relay": 0}
    for device in devices:
        counters[device.role] += 1
        name = f"{device.role}-{counters[device.role]}"
        what = " ".join(x for x in (device.description, f"({device.usb_id})" if device.usb_id else "") if x)
        lines.append(f"# {what or device.path}{' -> ' + device.node if device.node != device.path else ''}")
        if device.note:
            lines.append(f"# NOTE: {device.note}")
        if not device.usable:
            lines.append("# not usable by this user as it is")
        table = device.config(name)
        if table is None:
            lines.append("")
            continue
        lines.append(f"[[{device.role}s]]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
        lines.append("")
    if not lines:
        return "# no scanners or printers found (is the user in groups input, dialout and lp?)\n"
    return "\n".join(lines)
