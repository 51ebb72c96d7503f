"""Faults the reference server injects on demand, so tests can make the network misbehave.

A queue of :class:`Fault`; each request to a matching route takes the next one. Tests put
faults in programmatically (``app.state.faults.add(...)``) or over HTTP with
``POST /_faults`` when the server was started with faults enabled (never by default).

Kinds: ``500``, ``503`` and ``429`` (with Retry-After), ``413``, ``401``, ``slow``
(answer after ``delay_s``, past the client's timeout; the write is still applied when the
delay ends), ``drop`` (the connection is closed before the request is applied) and
``lost_answer`` (the write is applied, then the connection is closed: the client never
learns it succeeded).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

KINDS = ("500", "503", "429", "413", "401", "slow", "drop", "lost_answer")


@dataclass(frozen=True)
class Fault:
    kind: str
    route: str = "push"  # push, limits, manifest, plan, epcis, or "*"
    retry_after: int | None = None
    delay_s: float = 2.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; known: {', '.join(KINDS)}")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        return cls(
            kind=str(data["kind"]),
            route=str(data.get("route", "push")),
            retry_after=None if data.get("retry_after") is None else int(data["retry_after"]),
            delay_s=float(data.get("delay_s", 2.0)),
        )


class FaultQueue:
    """Thread-safe: tests add faults from their own thread while uvicorn serves."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._queue.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def take(self, route: str) -> Fault | None:
        with self._lock:
            if self._queue and self._queue[0].route in (route, "*"):
                fault = self._queue.popleft()
                self.injected[fault.kind] = self.injected.get(fault.kind, 0) + 1
                return fault
        return None
