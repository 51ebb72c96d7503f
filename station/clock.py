"""The station's clock: UTC time for events, and whether it can be trusted.

A Raspberry Pi has no real-time clock: after a power cut it may boot with a wrong time
and no network. Every event therefore records whether the system clock was synchronised
(NTP) when it was taken, and a per-station sequence number orders events regardless.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time as _time
from datetime import UTC, datetime
from pathlib import Path

# systemd-timesyncd touches this file once the clock is synchronised.
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
_STA_UNSYNC = 0x0040
_CACHE_S = 30.0


class _Timex(ctypes.Structure):
    # struct timex (linux/timex.h): mode, then longs; only `status` matters here.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_long * 24),
    ]


def _kernel_says_synced() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return False
    # TIME_ERROR (5) means unsynchronised, as does the STA_UNSYNC status bit.
    return state != 5 and not (tx.status & _STA_UNSYNC)


class Clock:
    """UTC now, plus a cached answer to "is the clock synchronised?"."""

    def __init__(self) -> None:
        self._checked_at = -_CACHE_S
        self._synced = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def synced(self) -> bool:
        mono = _time.monotonic()
        if mono - self._checked_at >= _CACHE_S:
            self._synced = TIMESYNC_FLAG.exists() or _kernel_says_synced()
            self._checked_at = mono
        return self._synced


class FixedClock(Clock):
    """A clock for tests and replays: always the given time, synchronised or not as told."""

    def __init__(self, at: datetime, synced: bool = True) -> None:
        super().__init__()
        self.at = at
        self._fixed_synced = synced

    def now(self) -> datetime:
        return self.at

    def synced(self) -> bool:
        return self._fixed_synced
