"""USB HID keyboard-wedge scanners through evdev: open, grab, read, survive unplugging.

This module owns the device side of a keyboard-wedge scanner: opening its event device by
a stable path, taking it exclusively, reading key events with evdev's ``async_read_loop``
on the station's event loop, and the hot-plug state machine::

    MISSING --open ok--> CONNECTED --read fails (errno 19, unplugged)--> DISCONNECTED
       ^ open fails, retry                                 open ok, grab again |
       +----------------------------------------------------------------------+

Decoding key events into text is ``drivers.scanners.wedge`` (pure, tested on recorded
events).

Where the hardware bites:

* **A grab locks the keyboard.** While grabbed, the device's keys reach nobody else: not
  the console, not the screen's input field. That is the point for a scanner, and a
  disaster if ``path`` names the real keyboard: the only way back is to stop the station or
  unplug the keyboard. Point ``path`` at the scanner (``station devices`` lists them).
* Identical scanners share a ``/dev/input/by-id`` name; use ``/dev/input/by-path`` (the USB
  port) or a udev symlink from ``systemd/99-station.rules``. ``/dev/input/eventN`` numbers
  change on replug.
* After an unplug, reads fail with ``OSError`` errno 19 (ENODEV) at once, so the state turns
  DISCONNECTED well within two seconds; the path is tried again every ``retry_s``.
* The user needs read access to the event device: group ``input``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from drivers.scanners.base import STOP, RawScan, Scanner, ScannerState, iterate_scans
from drivers.scanners.wedge import Terminator, WedgeDecoder, make_layout

__all__ = ["HidScanner", "Terminator"]

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")

EV_KEY = 0x01


def _open_evdev(path: str) -> Any:
    import evdev  # imported here so that a station without evdev can still use other scanners

    return evdev.InputDevice(path)


class HidScanner(Scanner):
    """A keyboard-wedge scanner at ``path``; see the module docstring before setting ``grab``.

    ``opener`` (path -> device) is for tests: the device needs ``grab``, ``ungrab``,
    ``close`` and ``async_read_loop`` like ``evdev.InputDevice``.
    """

    def __init__(
        self,
        name: str,
        path: str,
        grab: bool = True,
        terminator: Terminator = Terminator.ENTER,
        idle_gap_s: float = 0.0,
        layout_overrides: Mapping[str, str] | None = None,
        retry_s: float = 1.0,
        opener: Callable[[str], Any] = _open_evdev,
    ) -> None:
        self.name = name
        self.path = path
        self.grab = grab
        self.retry_s = retry_s
        self.state = ScannerState.MISSING
        self.last_error = ""
        # Built now so that a bad layout or terminator is a config error at start.
        self.decoder = WedgeDecoder(make_layout(layout_overrides), terminator, idle_gap_s)
        self._opener = opener
        self._device: Any = None
        self._queue: asyncio.Queue[Any] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    def scans(self) -> AsyncIterator[RawScan]:
        """Start reading now (call from the event loop) and return the stream of scans."""
        if self._queue is None:
            if self._closed:
                raise RuntimeError(f"scanner {self.name} is closed")
            self._queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._run()), loop.create_task(self._tick())]
        return iterate_scans(self._queue)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        self._release()
        if self._queue is not None:
            self._queue.put_nowait(STOP)

    # -- state machine --------------------------------------------------------------

    def _set_state(self, state: ScannerState, why: str = "") -> None:
        if state is not self.state:
            self.last_error = why
            if state is ScannerState.CONNECTED:
                log.info("scanner %s connected on %s%s", self.name, self.path, " (grabbed)" if self.grab else "")
            else:
                log.warning("scanner %s %s (%s): %s", self.name, state.value, self.path, why)
            self.state = state

    def _lost(self, why: str) -> None:
        # Never seen -> stays MISSING (a warning on screen); seen before -> DISCONNECTED.
        if self.state is ScannerState.CONNECTED:
            self._set_state(ScannerState.DISCONNECTED, why)
        else:
            self.last_error = why

    def _release(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        with contextlib.suppress(OSError):
            if self.grab:
                device.ungrab()
        with contextlib.suppress(OSError):
            device.close()

    def _emit(self, data: bytes | None) -> None:
        if data is not None and self._queue is not None:
            self._queue.put_nowait(RawScan(source=self.name, data=data))

    async def _run(self) -> None:
        while not self._closed:
            try:
                device = self._opener(self.path)
            except OSError as exc:
                self._lost(f"cannot open: {exc.strerror or exc}")
                await asyncio.sleep(self.retry_s)
                continue
            self._device = device
            if self.grab:
                try:
                    device.grab()
                except OSError as exc:
                    # EBUSY: another program (or a second station) holds it.
                    self._release()
                    self._lost(f"cannot grab: {exc.strerror or exc}")
                    await asyncio.sleep(self.retry_s)
                    continue
            dropped = self.decoder.reset()
            if dropped:
                log.warning("scanner %s: dropped partial scan %r (reconnected)", self.name, dropped)
            self._set_state(ScannerState.CONNECTED)
            try:
                async for event in device.async_read_loop():
                    if event.type != EV_KEY:
                        continue
                    wire.debug("%s <- key %d value %d", self.name, event.code, event.value)
                    for scan in self.decoder.feed(event.code, event.value, time.monotonic()):
                        self._emit(scan)
                    self._log_dropped()
            except OSError as exc:
                why = "unplugged" if exc.errno == errno.ENODEV else (exc.strerror or str(exc))
                self._set_state(ScannerState.DISCONNECTED, why)
            finally:
                self._release()
            if not self._closed:
                await asyncio.sleep(self.retry_s)

    async def _tick(self) -> None:
        # Idle gaps end (or drop) a scan without a key to notice them: check a few times a second.
        while True:
            await asyncio.sleep(0.1)
            self._emit(self.decoder.expire(time.monotonic()))
            self._log_dropped()

    def _log_dropped(self) -> None:
        while self.decoder.dropped:
            log.warning("scanner %s: dropped partial scan %r (idle gap)", self.name, self.decoder.dropped.pop(0))
