"""Retry timing: full jitter under a capped exponential, Retry-After as a floor."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from station.sync.backoff import Backoff, parse_retry_after


@given(st.integers(min_value=0, max_value=2**31), st.integers(min_value=1, max_value=60))
def test_delays_stay_under_the_capped_exponential(seed: int, attempts: int) -> None:
    b = Backoff(base_s=0.5, cap_s=30.0, rng=random.Random(seed))
    for attempt in range(attempts):
        delay = b.next_delay()
        assert 0 <= delay <= min(30.0, 0.5 * 2**attempt)


@given(st.integers(min_value=0, max_value=2**31), st.floats(min_value=0, max_value=1e6))
def test_retry_after_is_a_floor_up_to_the_maximum(seed: int, retry_after: float) -> None:
    b = Backoff(rng=random.Random(seed), max_retry_after_s=600)
    assert b.next_delay(retry_after) >= min(retry_after, 600)


def test_jitter_spreads_and_reset_starts_over() -> None:
    b = Backoff(base_s=1, cap_s=100, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(8)]
    assert len(set(delays)) == 8
    b.reset()
    assert b.next_delay() <= 1


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
