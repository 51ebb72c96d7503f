"""What the screen and ``station sync --status`` show about sync: one small value object.

The pusher builds a new :class:`SyncStatus` whenever something changes and hands it to a
callback; the screen only ever reads it, so it never has to know about HTTP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any


class SyncState(enum.StrEnum):
    OK = "ok"  # the server answered the last request; the backlog is draining or empty
    RETRYING = "retrying"  # the server is reachable but busy or failing (5xx, 429, timeouts)
    OFFLINE = "offline"  # the server cannot be reached (no network, connection refused)
    STOPPED = "stopped"  # a person must act (403, TLS failure, no token): nothing is sent


@dataclass(frozen=True)
class SyncStatus:
    state: SyncState
    backlog: int
    quarantined: int
    last_good_sync: datetime | None
    reason: str | None = None  # why retrying / offline / stopped, in words for a hub lead
    alert: str | None = None  # something a person should look at (token refused, ...)

    def label(self) -> str:
        """``ok``, ``retrying: server busy (503)``, ``stopped: token refused (403)``..."""
        return f"{self.state.value}: {self.reason}" if self.reason else self.state.value

    def evolve(self, **changes: Any) -> SyncStatus:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "label": self.label(),
            "backlog": self.backlog,
            "quarantined": self.quarantined,
            "last_good_sync": self.last_good_sync.isoformat() if self.last_good_sync else None,
            "reason": self.reason,
            "alert": self.alert,
        }
