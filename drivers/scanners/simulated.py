"""A simulated scanner that goes through the real serial code path.

This module owns the demo's scanner. It opens a pseudo-terminal pair, points a
:class:`~drivers.scanners.serial.SerialScanner` at the slave side (through a symlink, the
way udev gives a real scanner a stable ``/dev/station/...`` name) and writes barcodes plus
terminator into the master side, so framing, wire logging, states and reconnects are the
production ones. Codes come from an iterable or async iterable at a dock worker's pace
(``interval_s`` plus or minus ``jitter_s``), or one at a time with :meth:`SimulatedScanner.feed`.
:meth:`~SimulatedScanner.unplug` and :meth:`~SimulatedScanner.replug` exercise hot-plug.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import tempfile
import tty
from collections.abc import AsyncIterable, AsyncIterator, Iterable

from drivers.scanners.base import RawScan, Scanner, ScannerState
from drivers.scanners.serial import SerialScanner


class _Pty:
    """One pseudo-terminal pair, slave in raw mode."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        # Raw at once: the default line discipline would turn CR into LF (ICRNL) and echo
        # every byte back to the master, for bytes written before pyserial opens the slave.
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class SimulatedScanner(Scanner):
    """A scanner fed by the program itself, read through :class:`SerialScanner`.

    ``codes`` is played once (or forever with ``repeat=True``) after the first
    :meth:`scans` call; :meth:`pause` and :meth:`resume` hold and release that playback.
    """

    def __init__(
        self,
        name: str = "simulated",
        codes: Iterable[str] | AsyncIterable[str] = (),
        interval_s: float = 2.0,
        jitter_s: float = 0.5,
        terminator: bytes = b"\r",
        repeat: bool = False,
        seed: int | None = None,
        retry_s: float = 0.2,
    ) -> None:
        self.name = name
        self.codes = codes
        self.interval_s = interval_s
        self.jitter_s = jitter_s
        self.terminator = terminator
        self.repeat = repeat
        self._random = random.Random(seed)
        self._dir = tempfile.mkdtemp(prefix="station-sim-")
        self.port = os.path.join(self._dir, "scanner")  # stable name, like a udev symlink
        self._pty: _Pty | None = None
        self.replug()
        self._reader = SerialScanner(name, self.port, terminator=terminator, timeout=0.1, retry_s=retry_s)
        self._running = asyncio.Event()
        self._running.set()
        self._player: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def state(self) -> ScannerState:  # type: ignore[override]  # the reader's state is the truth
        return self._reader.state

    @property
    def last_error(self) -> str:  # type: ignore[override]
        return self._reader.last_error

    # -- playback -----------------------------------------------------------------

    def feed(self, code: str) -> None:
        """Send one barcode now (the demo's "scan" key).

        Lost, like a real scan, while unplugged or before the reader is connected.
        """
        if self._pty is None:
            return
        os.write(self._pty.master, code.encode() + self.terminator)

    async def feed_all(self, codes: Iterable[str] | AsyncIterable[str]) -> None:
        """Send ``codes`` at a worker's pace, honouring :meth:`pause`."""
        if isinstance(codes, AsyncIterable):
            async for code in codes:
                await self._paced(code)
        else:
            for code in codes:
                await self._paced(code)

    async def _paced(self, code: str) -> None:
        await self._running.wait()
        # pyserial flushes input on open: a code written before the reader is connected
        # would be lost, which no worker's scanner does to them.
        while self._reader.state is not ScannerState.CONNECTED:
            await asyncio.sleep(0.05)
        self.feed(code)
        delay = self.interval_s + self._random.uniform(-self.jitter_s, self.jitter_s)
        await asyncio.sleep(max(0.0, delay))

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    async def _play(self) -> None:
        while True:
            await self.feed_all(self.codes)
            if not self.repeat or isinstance(self.codes, AsyncIterable):
                return

    # -- hot-plug -----------------------------------------------------------------

    def unplug(self) -> None:
        """Pull the cable: the far end closes and the stable name disappears."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port)
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    def replug(self) -> None:
        """Plug it back: a new pseudo-terminal behind the same stable name."""
        if self._pty is not None:
            return
        self._pty = _Pty()
        tmp = self.port + ".new"
        os.symlink(self._pty.path, tmp)
        os.replace(tmp, self.port)

    # -- Scanner ------------------------------------------------------------------

    def scans(self) -> AsyncIterator[RawScan]:
        """Start the reader and the playback of ``codes``; call from the event loop."""
        stream = self._reader.scans()
        if self._player is None and not self._closed:
            self._player = asyncio.get_running_loop().create_task(self._play())
        return stream

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._player is not None:
            self._player.cancel()
        self._reader.close()
        self.unplug()
        shutil.rmtree(self._dir, ignore_errors=True)
