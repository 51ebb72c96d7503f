"""The evdev scanner's I/O side with fake input devices: grab, unplug, replug, two at once."""

from __future__ import annotations

# ruff: noqa: E402 - everything below needs evdev, which may be absent (no compiler)
import asyncio
import errno
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("evdev", reason="evdev is not installed (it needs gcc to build): pip install '.[hid]'")

from evdev import InputEvent, ecodes

from drivers.scanners.base import RawScan, ScannerState
from drivers.scanners.hid import HidScanner

TIMEOUT = 10.0


class FakeInputDevice:
    """Quacks like evdev.InputDevice for the calls HidScanner makes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.events: asyncio.Queue[InputEvent | OSError] = asyncio.Queue()
        self.grabbed = False
        self.closed = False

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        self.closed = True

    async def async_read_loop(self) -> AsyncIterator[InputEvent]:
        while True:
            item = await self.events.get()
            if isinstance(item, OSError):
                raise item
            yield item

    def type_text(self, text: str) -> None:
        for char in text:
            code = ecodes.ecodes[f"KEY_{char.upper()}"]
            for value in (1, 0):
                self.events.put_nowait(InputEvent(0, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70004))
                self.events.put_nowait(InputEvent(0, 0, ecodes.EV_KEY, code, value))
                self.events.put_nowait(InputEvent(0, 0, ecodes.EV_SYN, 0, 0))
        for value in (1, 0):
            self.events.put_nowait(InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_ENTER, value))

    def unplug(self) -> None:
        self.events.put_nowait(OSError(errno.ENODEV, "No such device"))


class FakeBus:
    """The /dev/input paths that exist right now; opening others fails like the kernel would."""

    def __init__(self) -> None:
        self.devices: dict[str, FakeInputDevice] = {}
        self.opened: list[FakeInputDevice] = []
        self.busy: set[str] = set()

    def plug(self, path: str) -> FakeInputDevice:
        self.devices[path] = FakeInputDevice(path)
        return self.devices[path]

    def unplug(self, path: str) -> None:
        self.devices.pop(path).unplug()

    def open(self, path: str) -> Any:
        if path not in self.devices:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        device = self.devices[path]
        if path in self.busy:

            def refuse() -> None:
                raise OSError(errno.EBUSY, "Device or resource busy")

            device.grab = refuse  # type: ignore[method-assign]
        self.opened.append(device)
        return device


PATH = "/dev/input/by-path/platform-xhci-hcd.0-usb-0:1.1:1.0-event-kbd"


async def wait_state(scanner: HidScanner, state: ScannerState) -> None:
    async def poll() -> None:
        while scanner.state is not state:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), TIMEOUT)


async def take(scans: AsyncIterator[RawScan]) -> RawScan:
    return await asyncio.wait_for(anext(scans), TIMEOUT)


@pytest.fixture
def bus() -> FakeBus:
    return FakeBus()


async def test_reads_and_grabs(bus: FakeBus) -> None:
    device = bus.plug(PATH)
    scanner = HidScanner("terminal", PATH, opener=bus.open)
    try:
        scans = scanner.scans()
        await wait_state(scanner, ScannerState.CONNECTED)
        assert device.grabbed
        device.type_text("abc123")
        scan = await take(scans)
        assert (scan.source, scan.data) == ("terminal", b"abc123")
    finally:
        scanner.close()
    assert device.closed and not device.grabbed


async def test_grab_false_leaves_device_shared(bus: FakeBus) -> None:
    device = bus.plug(PATH)
    scanner = HidScanner("terminal", PATH, grab=False, opener=bus.open)
    try:
        scanner.scans()
        await wait_state(scanner, ScannerState.CONNECTED)
        assert not device.grabbed
    finally:
        scanner.close()


async def test_missing_at_start_then_plugged(bus: FakeBus) -> None:
    scanner = HidScanner("terminal", PATH, opener=bus.open, retry_s=0.05)
    try:
        scans = scanner.scans()
        await asyncio.sleep(0.2)
        assert scanner.state is ScannerState.MISSING
        assert "No such file" in scanner.last_error
        device = bus.plug(PATH)
        await wait_state(scanner, ScannerState.CONNECTED)
        device.type_text("late")
        assert (await take(scans)).data == b"late"
    finally:
        scanner.close()


async def test_unplug_is_disconnected_and_replug_grabs_again(bus: FakeBus) -> None:
    first = bus.plug(PATH)
    scanner = HidScanner("terminal", PATH, opener=bus.open, retry_s=0.05)
    try:
        scans = scanner.scans()
        await wait_state(scanner, ScannerState.CONNECTED)
        bus.unplug(PATH)
        await wait_state(scanner, ScannerState.DISCONNECTED)
        assert scanner.last_error == "unplugged"
        assert first.closed
        second = bus.plug(PATH)  # same stable path, new device
        await wait_state(scanner, ScannerState.CONNECTED)
        assert second.grabbed
        second.type_text("back")
        assert (await take(scans)).data == b"back"
    finally:
        scanner.close()


async def test_device_grabbed_elsewhere_is_retried(bus: FakeBus) -> None:
    bus.plug(PATH)
    bus.busy.add(PATH)
    scanner = HidScanner("terminal", PATH, opener=bus.open, retry_s=0.05)
    try:
        scanner.scans()
        await asyncio.sleep(0.2)
        assert scanner.state is ScannerState.MISSING
        assert "cannot grab" in scanner.last_error
    finally:
        scanner.close()


async def test_two_scanners_tag_their_scans(bus: FakeBus) -> None:
    other = PATH.replace("1.1", "1.2")
    a, b = bus.plug(PATH), bus.plug(other)
    terminal = HidScanner("terminal", PATH, opener=bus.open)
    bay = HidScanner("bay-3", other, opener=bus.open)
    try:
        scans_a, scans_b = terminal.scans(), bay.scans()
        await wait_state(terminal, ScannerState.CONNECTED)
        await wait_state(bay, ScannerState.CONNECTED)
        a.type_text("one")
        b.type_text("two")
        got_a, got_b = await take(scans_a), await take(scans_b)
        assert (got_a.source, got_a.data, got_b.source, got_b.data) == ("terminal", b"one", "bay-3", b"two")
    finally:
        terminal.close()
        bay.close()


async def test_close_ends_iteration(bus: FakeBus) -> None:
    bus.plug(PATH)
    scanner = HidScanner("terminal", PATH, opener=bus.open)
    scans = scanner.scans()
    await wait_state(scanner, ScannerState.CONNECTED)
    scanner.close()
    with pytest.raises(StopAsyncIteration):
        await take(scans)


def test_bad_layout_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="KEY_NOPE"):
        HidScanner("t", PATH, layout_overrides={"KEY_NOPE": "x"})
