"""A tiny sd_notify: tell systemd the station is ready and still alive. No dependency.

This module owns the service-manager protocol of ``systemd/station.service`` (``Type=notify``,
``WatchdogSec=``): one datagram of ``KEY=value`` lines to the socket named in
``$NOTIFY_SOCKET`` (sd_notify(3)). Outside systemd (a developer's terminal, the tests) there
is no such variable and every call is a no-op that returns False.

The station sends :func:`ready` once the screen and devices are up, then :func:`watchdog`
from its event loop at least every :func:`watchdog_interval` / 2 seconds: if the loop hangs,
the pings stop and systemd restarts the station. Ping from the event loop itself, not from a
thread, or a frozen screen would keep the watchdog happy.
"""

from __future__ import annotations

import os
import socket


def notify(*assignments: str) -> bool:
    """Send ``KEY=value`` lines to systemd; True if a notification socket took them."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not assignments:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    elif not address.startswith("/"):
        return False  # vsock and other transports: not on a Pi
    message = "\n".join(assignments).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError:
        return False
    return True


def ready(status: str = "") -> bool:
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def watchdog() -> bool:
    return notify("WATCHDOG=1")


def stopping() -> bool:
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """One line shown by ``systemctl status station`` (e.g. "3 labels waiting")."""
    return notify(f"STATUS={text.replace(chr(10), ' ')}")


def watchdog_interval() -> float | None:
    """Seconds of ``WatchdogSec=`` for this process, or None if no watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None
