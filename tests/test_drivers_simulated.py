"""The simulated scanner: codes go through a pseudo-terminal and the real serial reader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from drivers.scanners.base import RawScan, ScannerState
from drivers.scanners.simulated import SimulatedScanner

TIMEOUT = 10.0


async def take(scans: AsyncIterator[RawScan], n: int) -> list[RawScan]:
    async def collect() -> list[RawScan]:
        return [await anext(scans) for _ in range(n)]

    return await asyncio.wait_for(collect(), TIMEOUT)


async def wait_state(scanner: SimulatedScanner, state: ScannerState) -> None:
    async def poll() -> None:
        while scanner.state is not state:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), TIMEOUT)


async def test_plays_codes_in_order_through_the_serial_path() -> None:
    codes = ["1Z999AA10123456784", "00123456789012345675", "JJD000390007802938"]
    scanner = SimulatedScanner("sim", codes, interval_s=0.01, jitter_s=0.005, seed=1)
    try:
        scans = await take(scanner.scans(), 3)
        assert [s.data.decode() for s in scans] == codes
        assert {s.source for s in scans} == {"sim"}
        assert scanner.state is ScannerState.CONNECTED
    finally:
        scanner.close()


async def test_async_source_of_codes() -> None:
    async def source() -> AsyncIterator[str]:
        for code in ["A1", "B2"]:
            yield code

    scanner = SimulatedScanner("sim", source(), interval_s=0.0, jitter_s=0.0)
    try:
        assert [s.data for s in await take(scanner.scans(), 2)] == [b"A1", b"B2"]
    finally:
        scanner.close()


async def test_feed_on_demand() -> None:
    scanner = SimulatedScanner("sim")
    try:
        scans = scanner.scans()
        await wait_state(scanner, ScannerState.CONNECTED)
        scanner.feed("VAN-07")
        assert (await take(scans, 1))[0].data == b"VAN-07"
    finally:
        scanner.close()


async def test_pause_holds_playback_until_resume() -> None:
    scanner = SimulatedScanner("sim", ["P1", "P2"], interval_s=0.0, jitter_s=0.0)
    scanner.pause()
    try:
        scans = scanner.scans()
        pending = asyncio.ensure_future(take(scans, 1))
        await wait_state(scanner, ScannerState.CONNECTED)
        await asyncio.sleep(0.3)
        assert not pending.done()
        scanner.resume()
        assert (await pending)[0].data == b"P1"
    finally:
        scanner.close()


async def test_unplug_and_replug_go_through_reconnect() -> None:
    scanner = SimulatedScanner("sim", retry_s=0.05)
    try:
        scans = scanner.scans()
        await wait_state(scanner, ScannerState.CONNECTED)
        scanner.unplug()
        await wait_state(scanner, ScannerState.DISCONNECTED)
        scanner.replug()
        await wait_state(scanner, ScannerState.CONNECTED)
        scanner.feed("BACK")
        assert (await take(scans, 1))[0].data == b"BACK"
    finally:
        scanner.close()
