"""The serial scanner on pseudo-terminals: framing, partial scans, unplug and replug."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scanners.base import RawScan, ScannerState
from drivers.scanners.serial import SerialFramer, SerialScanner

TIMEOUT = 10.0  # generous: only a hung reader should ever reach it


# -- the pure framer ----------------------------------------------------------------


def test_framer_splits_on_terminator_and_strips_crlf() -> None:
    framer = SerialFramer(b"\r")
    assert framer.feed(b"ABC\r\nDE", now=0.0) == [b"ABC"]
    assert framer.feed(b"F\r", now=0.01) == [b"DEF"]
    assert framer.pending == b""


def test_framer_ignores_empty_frames() -> None:
    assert SerialFramer(b"\r").feed(b"\r\r\n\rX\r", now=0.0) == [b"X"]


def test_framer_drops_partial_after_idle_gap_instead_of_gluing() -> None:
    framer = SerialFramer(b"\r", idle_gap_s=0.5)
    assert framer.feed(b"12345", now=0.0) == []
    # The rest of that broken scan never came; a new scan starts after the gap.
    assert framer.feed(b"ABC\r", now=2.0) == [b"ABC"]


def test_framer_keeps_partial_within_idle_gap() -> None:
    framer = SerialFramer(b"\r", idle_gap_s=0.5)
    framer.feed(b"123", now=0.0)
    assert framer.expire(0.2) == b""
    assert framer.feed(b"45\r", now=0.3) == [b"12345"]


def test_framer_expire_returns_dropped_bytes() -> None:
    framer = SerialFramer(b"\r", idle_gap_s=0.5)
    framer.feed(b"123", now=0.0)
    assert framer.expire(1.0) == b"123"
    assert framer.pending == b""


def test_framer_multibyte_terminator() -> None:
    assert SerialFramer(b"\r\n").feed(b"A\r\nB\rC\r\n", now=0.0) == [b"A", b"B\rC"]


@given(
    st.lists(
        st.binary(min_size=1, max_size=20).filter(
            lambda b: b.strip(b"\r\n") == b and b"\r" not in b and b"\n" not in b
        ),
        max_size=10,
    ),
    st.data(),
)
def test_framer_any_chunking_gives_the_same_scans(codes: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(code + b"\r" for code in codes)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    framer = SerialFramer(b"\r")
    out: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        out += framer.feed(stream[start:cut], now=0.0)
        start = cut
    assert out == codes


# -- the reader on a pseudo-terminal --------------------------------------------------


class Pty:
    """A far end that tests write into, behind a stable symlink like a udev name."""

    def __init__(self, link: Path) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.link = link
        tmp = link.with_suffix(".tmp")
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, link)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        os.close(self.master)
        os.close(self.slave)


async def next_scan(scans: AsyncIterator[RawScan]) -> RawScan:
    return await asyncio.wait_for(anext(scans), TIMEOUT)


async def wait_state(scanner: SerialScanner, state: ScannerState) -> None:
    async def poll() -> None:
        while scanner.state is not state:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), TIMEOUT)


@pytest.fixture
def link(tmp_path: Path) -> Path:
    return tmp_path / "scanner"


async def test_reads_scans_tagged_with_source(link: Path) -> None:
    far = Pty(link)
    scanner = SerialScanner("terminal", str(link), timeout=0.05)
    scans = scanner.scans()
    try:
        await wait_state(scanner, ScannerState.CONNECTED)
        far.write(b"1Z999AA10123456784\r")
        far.write(b"00123456789012345675\r\n")
        first, second = await next_scan(scans), await next_scan(scans)
        assert (first.source, first.data) == ("terminal", b"1Z999AA10123456784")
        assert second.data == b"00123456789012345675"
        assert scanner.state is ScannerState.CONNECTED
    finally:
        scanner.close()
        far.unplug()


async def test_scan_split_across_writes_is_one_scan(link: Path) -> None:
    far = Pty(link)
    scanner = SerialScanner("terminal", str(link), timeout=0.05)
    scans = scanner.scans()
    try:
        await wait_state(scanner, ScannerState.CONNECTED)
        far.write(b"ABC")
        await asyncio.sleep(0.1)
        far.write(b"DEF\r")
        assert (await next_scan(scans)).data == b"ABCDEF"
    finally:
        scanner.close()
        far.unplug()


async def test_partial_then_idle_gap_is_dropped(link: Path) -> None:
    far = Pty(link)
    scanner = SerialScanner("terminal", str(link), timeout=0.05, idle_gap_s=0.2)
    scans = scanner.scans()
    try:
        await wait_state(scanner, ScannerState.CONNECTED)
        far.write(b"BROKEN")
        await asyncio.sleep(0.6)
        far.write(b"GOOD\r")
        assert (await next_scan(scans)).data == b"GOOD"
    finally:
        scanner.close()
        far.unplug()


async def test_missing_port_at_start_is_retried_not_a_crash(link: Path) -> None:
    scanner = SerialScanner("bay-3", str(link), timeout=0.05, retry_s=0.05)
    scans = scanner.scans()
    task = asyncio.ensure_future(next_scan(scans))
    try:
        await asyncio.sleep(0.3)
        assert scanner.state is ScannerState.MISSING
        assert not task.done()
        far = Pty(link)  # plugged in late
        await wait_state(scanner, ScannerState.CONNECTED)
        far.write(b"LATE\r")
        assert (await task).data == b"LATE"
    finally:
        scanner.close()
        far.unplug()


async def test_far_end_closed_mid_scan_then_reopened(link: Path) -> None:
    far = Pty(link)
    scanner = SerialScanner("terminal", str(link), timeout=0.05, retry_s=0.05)
    scans = scanner.scans()
    try:
        await wait_state(scanner, ScannerState.CONNECTED)
        far.write(b"HALF-A-SC")
        await asyncio.sleep(0.2)
        far.unplug()  # cable pulled mid-scan
        await wait_state(scanner, ScannerState.DISCONNECTED)
        far = Pty(link)  # same stable name comes back
        await wait_state(scanner, ScannerState.CONNECTED)
        far.write(b"AFTER\r")
        # The half scan from before the unplug is not glued onto the new one.
        assert (await next_scan(scans)).data == b"AFTER"
    finally:
        scanner.close()
        far.unplug()


async def test_close_ends_the_iterator(link: Path) -> None:
    far = Pty(link)
    scanner = SerialScanner("terminal", str(link), timeout=0.05)
    try:
        received: list[bytes] = []

        async def consume() -> None:
            async for scan in scanner.scans():
                received.append(scan.data)

        task = asyncio.ensure_future(consume())
        await wait_state(scanner, ScannerState.CONNECTED)
        far.write(b"ONE\r")
        while not received:
            await asyncio.sleep(0.02)
        scanner.close()
        await asyncio.wait_for(task, TIMEOUT)
        assert received == [b"ONE"]
        scanner.join(TIMEOUT)
    finally:
        far.unplug()
