"""When to try again: capped exponential backoff with full jitter and a Retry-After floor.

Full jitter (a uniform draw between 0 and the capped exponential) keeps a hub's stations
from retrying in lock-step after the Wi-Fi comes back. A server's ``Retry-After`` is a
floor, not a suggestion: a 503 that says "come back in 30 s" is not asked again sooner.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class Backoff:
    base_s: float = 0.5
    cap_s: float = 60.0
    # A server asking for more than this is obeyed only up to it: a typo'd Retry-After
    # must not park a station for a day.
    max_retry_after_s: float = 600.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after_s))
        return delay

    def reset(self) -> None:
        self.attempt = 0
