"""Serial and USB-CDC barcode scanners, read with pyserial in a thread.

This module owns the framing of a serial scanner's byte stream into scans and the
reconnect loop. pyserial is blocking, so one thread per scanner reads the port and hands
each finished scan to the asyncio side with ``loop.call_soon_threadsafe``.

Framing rule (documented for the dock lead, tested in ``tests/test_drivers_serial.py``):

* a scan is the bytes up to the terminator (CR by default); CR and LF around it are
  stripped, so a scanner programmed for CR LF works unchanged, and empty frames are ignored;
* a scanner sends a whole barcode in a few milliseconds. A partial buffer that has seen no
  new byte for ``idle_gap_s`` is a broken scan (a cable pulled mid-scan, a scanner reset):
  it is **dropped** and logged, never glued onto the next scan. The same happens to a
  partial buffer when the port goes away.

Hardware notes: a USB-CDC scanner's ``/dev/ttyACM0`` name can change on replug (it may come
back as ``ttyACM1``); configure a stable name (``/dev/serial/by-id/...``, ``/dev/serial/by-path/...``
or a ``/dev/station/...`` symlink from ``systemd/99-station.rules``). pyserial has no
reconnect of its own: we close and reopen in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import serial

from drivers.scanners.base import STOP, RawScan, Scanner, ScannerState, iterate_scans

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")


def frame_text(frame: bytes) -> bytes:
    """Strip CR/LF framing around one scan's bytes (the terminator is already removed)."""
    return frame.strip(b"\r\n")


class SerialFramer:
    """Split a byte stream into scans; pure, so the framing rule is tested without a port.

    ``feed`` returns the finished frames; ``expire`` drops a partial buffer that has been
    idle too long and returns what it dropped (for the log).
    """

    def __init__(self, terminator: bytes = b"\r", idle_gap_s: float = 1.0) -> None:
        if not terminator:
            raise ValueError("terminator must not be empty")
        self.terminator = terminator
        self.idle_gap_s = idle_gap_s
        self._buffer = bytearray()
        self._last_byte_at = 0.0

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)

    def feed(self, chunk: bytes, now: float) -> list[bytes]:
        if not chunk:
            return []
        # A stale partial must not be glued onto fresh bytes: expire it first.
        self.expire(now)
        self._buffer += chunk
        self._last_byte_at = now
        frames: list[bytes] = []
        while True:
            index = self._buffer.find(self.terminator)
            if index < 0:
                break
            frame = frame_text(bytes(self._buffer[:index]))
            del self._buffer[: index + len(self.terminator)]
            if frame:
                frames.append(frame)
        # With terminator CR and a scanner sending CR LF, the LF is left alone in the buffer.
        if not self._buffer.strip(b"\r\n"):
            self._buffer.clear()
        return frames

    def expire(self, now: float) -> bytes:
        if self._buffer and now - self._last_byte_at >= self.idle_gap_s:
            return self.reset()
        return b""

    def reset(self) -> bytes:
        dropped = bytes(self._buffer)
        self._buffer.clear()
        return dropped


class SerialScanner(Scanner):
    """A scanner on a serial port (RS-232 or USB-CDC ``/dev/ttyACM*``).

    The port is opened in a daemon thread started by the first :meth:`scans` call. A port
    that does not exist at start leaves ``state`` at MISSING and is retried every
    ``retry_s``; a port that goes away turns DISCONNECTED and is reopened when it is back.
    """

    def __init__(
        self,
        name: str,
        port: str,
        baudrate: int = 9600,
        terminator: bytes = b"\r",
        timeout: float = 0.2,
        idle_gap_s: float = 1.0,
        retry_s: float = 1.0,
        good_command: bytes = b"",
        bad_command: bytes = b"",
    ) -> None:
        self.name = name
        self.port = port
        self.baudrate = baudrate
        self.terminator = terminator
        self.timeout = timeout  # how long one read blocks: bounds how fast close() is noticed
        self.idle_gap_s = idle_gap_s
        self.retry_s = retry_s
        # Host commands from the scanner's manual: its good-read / error indication, sent back
        # after each decision so the loader hears the verdict in his hand (docs/devices.md).
        self.good_command = good_command
        self.bad_command = bad_command
        self._port: serial.Serial | None = None  # while CONNECTED: acknowledge() writes to it
        self._write_lock = threading.Lock()
        self.state = ScannerState.MISSING
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- asyncio side ---------------------------------------------------------------

    def scans(self) -> AsyncIterator[RawScan]:
        """Start reading now (call from the event loop) and return the stream of scans.

        pyserial flushes the port's input buffer when it opens it: bytes sent before the
        port is CONNECTED are lost, like keystrokes typed into a closed window.
        """
        self._start()
        assert self._queue is not None
        return iterate_scans(self._queue)

    def _start(self) -> None:
        if self._thread is not None:
            return
        if self._stop.is_set():
            raise RuntimeError(f"scanner {self.name} is closed")
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._deliver(STOP)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reader thread to end (after :meth:`close`); for tests and shutdown."""
        if self._thread is not None:
            self._thread.join(timeout)

    def acknowledge(self, good: bool) -> bool:
        """Send the good or bad host command; False when none is configured.

        Call it off the event loop (a write can block for as long as the port's flow control
        holds it). Raises OSError when the scanner is not connected or the write fails.
        """
        command = self.good_command if good else self.bad_command
        if not command:
            return False
        with self._write_lock:
            port = self._port
            if port is None:
                raise OSError(f"scanner {self.name} is not connected")
            try:
                port.write(command)
                port.flush()
            except serial.SerialException as exc:
                raise OSError(str(exc)) from exc
        wire.debug("%s -> %r", self.name, command)
        return True

    def _deliver(self, item: object) -> None:
        loop, queue = self._loop, self._queue
        if loop is None or queue is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, item)

    # -- reader thread ----------------------------------------------------------------

    def _set_state(self, state: ScannerState, why: str = "") -> None:
        if state is not self.state:
            self.last_error = why
            if state is ScannerState.CONNECTED:
                log.info("scanner %s connected on %s", self.name, self.port)
            else:
                log.warning("scanner %s %s (%s): %s", self.name, state.value, self.port, why)
            self.state = state

    def _open(self) -> serial.Serial:
        return serial.Serial(self.port, self.baudrate, timeout=self.timeout)

    def _run(self) -> None:
        framer = SerialFramer(self.terminator, self.idle_gap_s)
        while not self._stop.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                # Never seen -> MISSING; seen before -> DISCONNECTED. Both are retried.
                if self.state is ScannerState.CONNECTED:
                    self._set_state(ScannerState.DISCONNECTED, str(exc))
                elif self.state is ScannerState.MISSING:
                    self.last_error = str(exc)
                self._stop.wait(self.retry_s)
                continue
            self._set_state(ScannerState.CONNECTED)
            self._port = port
            try:
                self._read_port(port, framer)
            except (serial.SerialException, OSError) as exc:
                if not self._stop.is_set():  # on close the far end may vanish first: not news
                    self._set_state(ScannerState.DISCONNECTED, str(exc))
            finally:
                with self._write_lock:
                    self._port = None
                dropped = framer.reset()
                if dropped:
                    log.warning("scanner %s: dropped partial scan %r (port closed)", self.name, dropped)
                with contextlib.suppress(Exception):
                    port.close()
            if not self._stop.is_set():
                self._stop.wait(self.retry_s)

    def _read_port(self, port: serial.Serial, framer: SerialFramer) -> None:
        while not self._stop.is_set():
            # Blocks at most `timeout` for the first byte, then takes what is already there.
            chunk: bytes = port.read(max(1, port.in_waiting))
            now = time.monotonic()
            if not chunk:
                dropped = framer.expire(now)
                if dropped:
                    log.warning("scanner %s: dropped partial scan %r (idle gap)", self.name, dropped)
                continue
            wire.debug("%s <- %r", self.name, chunk)
            for frame in framer.feed(chunk, now):
                self._deliver(RawScan(source=self.name, data=frame))
