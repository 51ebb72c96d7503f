"""Build scanners and printers from config tables.

This module owns the mapping from a config table (one ``[[scanners]]`` or ``[[printers]]``
entry of ``station.toml``, already parsed into a mapping) to a driver object, and the
validation of that table's keys. The keys are documented in ``docs/devices.md``; a test
keeps that page and :data:`SCANNER_KEYS` / :data:`PRINTER_KEYS` in step.

Every mistake raises :class:`ValueError` whose message names the device and the key, e.g.
``scanner 'terminal': key 'baud' must be an integer, got 'fast'``. Driver modules are
imported lazily so that a station without evdev or pyusb can still run the other kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers.printers.base import Printer
from drivers.relays import RelayBoard
from drivers.scanners.base import Scanner

# kind -> allowed keys (besides "kind" and "name"); the first line of each docs table.
SCANNER_KEYS: dict[str, frozenset[str]] = {
    "serial": frozenset({"port", "baud", "terminator", "timeout_s", "idle_gap_s", "good_command", "bad_command"}),
    "evdev": frozenset({"path", "grab", "terminator", "idle_gap_s", "layout"}),
    "simulated": frozenset({"codes", "interval_s", "jitter_s", "terminator", "repeat"}),
}
PRINTER_KEYS: dict[str, frozenset[str]] = {
    "file": frozenset({"directory"}),
    "tcp": frozenset({"host", "port", "timeout_s"}),
    "usb": frozenset({"vendor_id", "product_id", "serial_number", "timeout_s"}),
    "lp": frozenset({"path", "timeout_s"}),
    "serial": frozenset({"port", "baud", "timeout_s"}),
}

# Relay boards (a stack light or buzzer per bay): the driver's keys; the station reads "lane"
# and "channel" itself.
RELAY_KEYS: dict[str, frozenset[str]] = {
    "hidraw": frozenset({"path"}),
    "serial": frozenset({"port", "baud"}),
}

_REQUIRED = object()

# Keyboard-wedge scan endings (drivers.scanners.hid.Terminator values).
HID_TERMINATORS = ("enter", "tab", "none")

_TERMINATOR_NAMES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t"}


class _Spec:
    """Typed reads of one config table, remembering which keys were used."""

    def __init__(self, what: str, spec: Mapping[str, Any], kinds: Mapping[str, frozenset[str]]) -> None:
        if not isinstance(spec, Mapping):
            raise ValueError(f"{what}: expected a table, got {type(spec).__name__}")
        self.spec = spec
        kind = spec.get("kind")
        name = spec.get("name", kind)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what}: key 'name' must be a non-empty string, got {name!r}")
        self.what = f"{what} {name!r}"
        if kind is None:
            raise ValueError(f"{self.what}: key 'kind' is missing (one of {', '.join(kinds)})")
        if kind not in kinds:
            raise ValueError(f"{self.what}: key 'kind' must be one of {', '.join(kinds)}, got {kind!r}")
        self.name: str = name
        self.kind: str = kind
        unknown = sorted(set(spec) - kinds[kind] - {"kind", "name"})
        if unknown:
            allowed = ", ".join(sorted(kinds[kind] | {"kind", "name"}))
            raise ValueError(f"{self.what}: unknown key {unknown[0]!r} for kind {kind!r} (allowed: {allowed})")

    def _get(self, key: str, default: Any) -> Any:
        if key in self.spec:
            return self.spec[key]
        if default is _REQUIRED:
            raise ValueError(f"{self.what}: key {key!r} is required for kind {self.kind!r}")
        return default

    def _bad(self, key: str, expected: str, value: Any) -> ValueError:
        return ValueError(f"{self.what}: key {key!r} must be {expected}, got {value!r}")

    def get_str(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is not default and (not isinstance(value, str) or not value):
            raise self._bad(key, "a non-empty string", value)
        return value

    def get_int(self, key: str, default: Any = _REQUIRED, lo: int = 0, hi: int = 2**31) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, str):  # USB ids are usually written in hex: "0x0a5f" or "0a5f"
            try:
                value = int(value, 16)
            except ValueError:
                raise self._bad(key, "an integer", value) from None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self._bad(key, f"an integer from {lo} to {hi}", value)
        return value

    def get_float(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self._bad(key, "a number of seconds >= 0", value)
        return float(value)

    def get_bool(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false", value)
        return value

    def terminator(self, key: str, default: bytes) -> bytes:
        value = self._get(key, None)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            raise self._bad(key, 'a non-empty string such as "\\r" or "crlf"', value)
        return _TERMINATOR_NAMES.get(value.lower(), value.encode())

    def get_str_list(self, key: str) -> list[str]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings", value)
        return list(value)

    def get_bytes(self, key: str) -> bytes:
        """Bytes as a manual prints them: a string ("\u001b7,": one byte per character up to
        U+00FF) or an array of numbers 0-255 ([0x1b, 0x37, 0x2c]). Empty when absent."""
        value = self._get(key, "")
        if isinstance(value, str):
            try:
                return value.encode("latin-1")
            except UnicodeEncodeError:
                raise self._bad(key, "characters up to \\u00ff (one byte each)", value) from None
        if isinstance(value, list) and all(isinstance(b, int) and not isinstance(b, bool) for b in value):
            if all(0 <= b <= 255 for b in value):
                return bytes(value)
        raise self._bad(key, "a string or an array of byte values 0-255", value)

    def get_str_map(self, key: str) -> dict[str, str]:
        value = self._get(key, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._bad(key, "a table of key name = character", value)
        return dict(value)


def make_relay(spec: Mapping[str, Any]) -> RelayBoard:
    """Build a relay board from one ``[[relays]]`` table; raise ValueError naming the bad key."""
    s = _Spec("relay", spec, RELAY_KEYS)
    from drivers.relays import HidRelayBoard, SerialRelayBoard

    if s.kind == "hidraw":
        return HidRelayBoard(s.name, s.get_str("path"))
    return SerialRelayBoard(s.name, s.get_str("port"), baudrate=s.get_int("baud", 9600, lo=50, hi=4_000_000))


def make_scanner(spec: Mapping[str, Any]) -> Scanner:
    """Build a scanner from one ``[[scanners]]`` table; raise ValueError naming the bad key."""
    s = _Spec("scanner", spec, SCANNER_KEYS)
    if s.kind == "serial":
        from drivers.scanners.serial import SerialScanner

        return SerialScanner(
            s.name,
            s.get_str("port"),
            baudrate=s.get_int("baud", 9600, lo=50, hi=4_000_000),
            terminator=s.terminator("terminator", b"\r"),
            timeout=s.get_float("timeout_s", 0.2),
            idle_gap_s=s.get_float("idle_gap_s", 1.0),
            good_command=s.get_bytes("good_command"),
            bad_command=s.get_bytes("bad_command"),
        )
    if s.kind == "evdev":
        path, grab = s.get_str("path"), s.get_bool("grab", True)
        terminator = s.get_str("terminator", "enter")
        if terminator.lower() not in HID_TERMINATORS:
            raise s._bad("terminator", f"one of {', '.join(HID_TERMINATORS)}", terminator)
        idle_gap_s, layout = s.get_float("idle_gap_s", 0.0), s.get_str_map("layout")
        if terminator.lower() == "none" and idle_gap_s <= 0:
            raise s._bad("idle_gap_s", 'above 0 when terminator = "none"', idle_gap_s)
        try:
            from drivers.scanners.hid import HidScanner, Terminator
        except ImportError as exc:  # evdev is an extra: it must be compiled (gcc, kernel headers)
            raise ValueError(
                f"{s.what}: kind 'evdev' needs the evdev package, which is not installed "
                f"({exc}); install the station with its [hid] extra"
            ) from None
        try:
            return HidScanner(
                s.name,
                path,
                grab=grab,
                terminator=Terminator(terminator.lower()),
                idle_gap_s=idle_gap_s,
                layout_overrides=layout,
            )
        except ValueError as exc:  # only the layout table can still be wrong here
            raise ValueError(f"{s.what}: key 'layout': {exc}") from None
    from drivers.scanners.simulated import SimulatedScanner

    return SimulatedScanner(
        s.name,
        codes=s.get_str_list("codes"),
        interval_s=s.get_float("interval_s", 2.0),
        jitter_s=s.get_float("jitter_s", 0.5),
        terminator=s.terminator("terminator", b"\r"),
        repeat=s.get_bool("repeat", False),
    )


def make_printer(spec: Mapping[str, Any]) -> Printer:
    """Build a printer from one ``[[printers]]`` table; raise ValueError naming the bad key."""
    s = _Spec("printer", spec, PRINTER_KEYS)
    # Read every key before importing the driver: a bad table is reported the same way
    # whether or not the driver's library (pyusb, pyserial) is installed.
    if s.kind == "file":
        from drivers.printers.file import FilePrinter

        return FilePrinter(s.name, s.get_str("directory"))
    if s.kind == "tcp":
        host, port = s.get_str("host"), s.get_int("port", 9100, lo=1, hi=65535)
        timeout_s = s.get_float("timeout_s", 3.0)
        from drivers.printers.tcp import TcpPrinter

        return TcpPrinter(s.name, host, port=port, timeout_s=timeout_s)
    if s.kind == "usb":
        vendor_id = s.get_int("vendor_id", lo=0, hi=0xFFFF)
        product_id = s.get_int("product_id", lo=0, hi=0xFFFF)
        serial_number, timeout_s = s.get_str("serial_number", None), s.get_float("timeout_s", 5.0)
        from drivers.printers.usb import UsbPrinter

        return UsbPrinter(s.name, vendor_id, product_id, serial_number=serial_number, timeout_s=timeout_s)
    if s.kind == "lp":
        path, timeout_s = s.get_str("path"), s.get_float("timeout_s", 5.0)
        from drivers.printers.lp import LpPrinter

        return LpPrinter(s.name, path, timeout_s=timeout_s)
    port, baud = s.get_str("port"), s.get_int("baud", 9600, lo=50, hi=4_000_000)
    timeout_s = s.get_float("timeout_s", 3.0)
    from drivers.printers.serial import SerialPrinter

    return SerialPrinter(s.name, port, baudrate=baud, timeout_s=timeout_s)
