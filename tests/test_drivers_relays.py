"""Relay boards at their seams: a fake hidraw node with the ioctl recorded, a pty for a serial board."""

from __future__ import annotations

import os
import select
import tty
from pathlib import Path
from typing import Any

import pytest

from drivers.factory import make_relay
from drivers.relays import (
    HidRelayBoard,
    SerialRelayBoard,
    hid_relay_report,
    hidiocsfeature,
    serial_relay_frame,
)


class RecordedIoctl:
    """Stands in for fcntl.ioctl on a hidraw node: keeps which node got which feature report."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bytes]] = []

    def __call__(self, fd: int, request: int, arg: Any) -> int:
        self.calls.append((os.readlink(f"/proc/self/fd/{fd}"), request, bytes(arg)))
        return 0


def test_the_hid_relay_reports_are_the_modules_protocol() -> None:
    assert hid_relay_report(1, True) == bytes([0, 0xFF, 1, 0, 0, 0, 0, 0, 0])
    assert hid_relay_report(2, False) == bytes([0, 0xFD, 2, 0, 0, 0, 0, 0, 0])
    assert hidiocsfeature(9) == 0xC0094806  # HIDIOCSFEATURE(9) from linux/hidraw.h
    with pytest.raises(ValueError):
        hid_relay_report(9, True)


def test_a_hid_board_sends_the_feature_report_to_its_node(tmp_path: Path) -> None:
    node = tmp_path / "hidraw3"
    node.touch()
    ioctl = RecordedIoctl()
    board = HidRelayBoard("bay-3-light", str(node), ioctl=ioctl)
    board.switch(2, True)
    board.switch(2, False)
    assert ioctl.calls == [
        (str(node), hidiocsfeature(9), hid_relay_report(2, True)),
        (str(node), hidiocsfeature(9), hid_relay_report(2, False)),
    ]


def test_an_unplugged_hid_board_raises_oserror_and_works_when_back(tmp_path: Path) -> None:
    node = tmp_path / "hidraw3"
    ioctl = RecordedIoctl()
    board = HidRelayBoard("bay-3-light", str(node), ioctl=ioctl)
    with pytest.raises(OSError):
        board.switch(1, True)
    node.touch()  # plugged back: the next switch opens it again
    board.switch(1, True)
    assert len(ioctl.calls) == 1


def read_exactly(fd: int, n: int) -> bytes:
    got = b""
    while len(got) < n:
        ready, _, _ = select.select([fd], [], [], 10.0)  # a guard against a hang, not a timing
        assert ready, f"only {got!r} arrived"
        got += os.read(fd, n - len(got))
    return got


def test_the_serial_relay_frames_carry_their_checksum() -> None:
    assert serial_relay_frame(1, True) == bytes.fromhex("A0 01 01 A2")
    assert serial_relay_frame(1, False) == bytes.fromhex("A0 01 00 A1")
    assert serial_relay_frame(4, True) == bytes.fromhex("A0 04 01 A5")


def test_a_serial_board_writes_its_frame_to_the_port() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        board = SerialRelayBoard("bay-5-light", os.ttyname(slave))
        board.switch(1, True)
        board.switch(3, False)
        want = serial_relay_frame(1, True) + serial_relay_frame(3, False)
        assert read_exactly(master, len(want)) == want
    finally:
        os.close(master)
        os.close(slave)


def test_a_missing_serial_board_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        SerialRelayBoard("bay-5-light", str(tmp_path / "ttyUSB9")).switch(1, True)


def test_relay_tables_are_checked_by_kind() -> None:
    assert isinstance(make_relay({"name": "l", "kind": "hidraw", "path": "/dev/hidraw0"}), HidRelayBoard)
    board = make_relay({"name": "l", "kind": "serial", "port": "/dev/ttyUSB0", "baud": 19200})
    assert isinstance(board, SerialRelayBoard) and board.baudrate == 19200
    with pytest.raises(ValueError, match="unknown key 'port' for kind 'hidraw'"):
        make_relay({"name": "l", "kind": "hidraw", "port": "/dev/hidraw0"})
    with pytest.raises(ValueError, match="key 'path' is required"):
        make_relay({"name": "l", "kind": "hidraw"})


def test_station_devices_lists_a_hid_relay_board_as_a_relays_table(tmp_path: Path) -> None:
    from drivers import discovery

    dev, sys = tmp_path / "dev", tmp_path / "sys"
    relay = sys / "class" / "hidraw" / "hidraw1" / "device"
    relay.mkdir(parents=True)
    (relay / "uevent").write_text("HID_ID=0003:000016C0:000005DF\nHID_NAME=www.dcttech.com USBRelay2\n")
    dev.mkdir()
    (dev / "hidraw1").touch()
    found = discovery.discover(dev, sys, comports=list, usb_devices=list)
    assert [(d.role, d.kind, d.path, d.usb_id) for d in found] == [
        ("relay", "hidraw", str(dev / "hidraw1"), "16c0:05df")
    ]
    text = discovery.render_config(found)
    assert "[[relays]]" in text and 'kind = "hidraw"' in text and "lane = 0" in text
    assert "set lane to the bay" in text
