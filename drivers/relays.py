"""USB relay boards that switch a stack light or a buzzer at a loading bay.

Owns the two kinds of cheap relay module a hub can buy and their wire protocols:

* HID relay modules ("USBRelay1/2/4/8", USB id 16c0:05df): no driver, switched through the
  kernel's hidraw node with a 9-byte HID feature report: report id 0, then 0xFF (on) or 0xFD
  (off), then the relay number (1-8). The udev rule gives the node to the station's group.
* Serial relay modules (LCUS-1/2/4 and clones, a CH340 USB-serial chip, 9600 baud): four
  bytes per switch, 0xA0, the relay number, 1 (on) or 0 (off), and the sum of the first three.

Both open the device for each switch and close it again, so a board unplugged and plugged back
works at the next switch without a restart. A failure raises OSError with the reason: the
caller (the station's feedback) shows it and goes on; scanning never waits for a relay.
Protocol (the bytes) is split from I/O (``hid_relay_report``, ``serial_relay_frame``) so both
are tested without a board: a fake hidraw node with a recorded ioctl, and a pty.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, Protocol

import serial

log = logging.getLogger(__name__)
wire = logging.getLogger("station.wire")

HID_RELAY_USB_IDS = frozenset({(0x16C0, 0x05DF)})  # V-USB shared id of the "USBRelay" modules
HID_RELAY_NAMES = ("usbrelay", "hidrelay")  # the HID name the modules give (e.g. "www.dcttech.com USBRelay2")
_REPORT_LEN = 9


class RelayBoard(Protocol):
    """A relay board: ``switch`` one relay (numbered from 1) on or off; OSError when it fails."""

    name: str

    def switch(self, channel: int, on: bool) -> None: ...


def hidiocsfeature(length: int) -> int:
    """The HIDIOCSFEATURE(len) ioctl request: _IOC(_IOC_WRITE|_IOC_READ, 'H', 0x06, len)."""
    return (3 << 30) | (length << 16) | (ord("H") << 8) | 0x06


def hid_relay_report(channel: int, on: bool) -> bytes:
    if not 1 <= channel <= 8:
        raise ValueError(f"relay channel must be 1-8, got {channel}")
    return bytes([0x00, 0xFF if on else 0xFD, channel]) + bytes(_REPORT_LEN - 3)


def serial_relay_frame(channel: int, on: bool) -> bytes:
    if not 1 <= channel <= 8:
        raise ValueError(f"relay channel must be 1-8, got {channel}")
    head = [0xA0, channel, 1 if on else 0]
    return bytes([*head, sum(head) & 0xFF])


class HidRelayBoard:
    """A HID relay module through its hidraw node (``/dev/hidraw*`` or a udev name)."""

    def __init__(self, name: str, path: str, ioctl: Callable[[int, int, Any], Any] = fcntl.ioctl) -> None:
        self.name = name
        self.path = path
        self._ioctl = ioctl  # the seam the tests replace: a real hidraw node takes the feature report
        self._lock = threading.Lock()

    def switch(self, channel: int, on: bool) -> None:
        report = hid_relay_report(channel, on)
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                self._ioctl(fd, hidiocsfeature(len(report)), report)
            finally:
                os.close(fd)
        wire.debug("%s -> %s", self.name, report.hex(" "))


class SerialRelayBoard:
    """An LCUS-type serial relay module on ``port`` (a ``/dev/ttyUSB*`` or ``/dev/serial/by-id`` name)."""

    def __init__(self, name: str, port: str, baudrate: int = 9600) -> None:
        self.name = name
        self.port = port
        self.baudrate = baudrate
        self._lock = threading.Lock()

    def switch(self, channel: int, on: bool) -> None:
        frame = serial_relay_frame(channel, on)
        with self._lock:
            try:
                with serial.Serial(self.port, self.baudrate, timeout=1.0, write_timeout=1.0) as port:
                    port.write(frame)
                    port.flush()
            except (serial.SerialException, ValueError) as exc:
                raise OSError(str(exc)) from exc
        wire.debug("%s -> %s", self.name, frame.hex(" "))
