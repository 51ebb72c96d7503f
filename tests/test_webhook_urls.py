"""Which webhook URLs the server will call (station.central.webhooks.check_url) and the
retry schedule: no way into the hub's own network unless the operator allows it."""

from __future__ import annotations

import random

import pytest

from station.central.webhooks import UrlRefused, WebhookPolicy, check_url


@pytest.mark.parametrize(
    "url, why",
    [
        ("ftp://example.com/x", "http"),
        ("file:///etc/passwd", "http"),
        ("javascript:alert(1)", "http"),
        ("http:///nohost", "no host"),
        ("http://user:pw@93.184.215.14/", "user name"),
        ("http://127.0.0.1:8080/hook", "loopback or private"),
        ("http://localhost/hook", "loopback or private"),
        ("http://10.1.2.3/hook", "loopback or private"),
        ("http://192.168.1.20/hook", "loopback or private"),
        ("http://172.16.0.1/hook", "loopback or private"),
        ("http://169.254.169.254/latest/meta-data", "loopback or private"),
        ("http://100.64.0.1/", "loopback or private"),
        ("http://[::1]/hook", "loopback or private"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback or private"),
        ("http://[fd00::1]/hook", "loopback or private"),
        ("http://0.0.0.0/hook", "loopback or private"),
        ("http://example.com:99999/", "port"),
        (42, "text"),
    ],
)
def test_refused_urls_say_why(url: object, why: str) -> None:
    with pytest.raises(UrlRefused, match=why):
        check_url(url, allow_private=False)


def test_a_public_address_is_allowed_without_a_lookup_on_the_network() -> None:
    check_url("https://93.184.215.14/hooks/parcels", allow_private=False)  # a literal: no DNS asked


def test_private_addresses_only_with_the_flag() -> None:
    check_url("http://127.0.0.1:9999/hook", allow_private=True)
    with pytest.raises(UrlRefused, match="http"):
        check_url("gopher://127.0.0.1/", allow_private=True)


def test_backoff_grows_is_capped_never_zero_and_honours_retry_after() -> None:
    policy = WebhookPolicy(base_s=2, cap_s=60)
    rng = random.Random(7)
    delays = [policy.delay(n, rng=rng) for n in range(1, 12)]
    assert all(d > 0 for d in delays)
    assert delays[0] <= 2 and delays[3] >= 8  # 2·2^3 / 2
    assert max(delays) <= 60
    assert policy.delay(1, retry_after=30, rng=rng) >= 30
    assert policy.delay(1, retry_after=10_000, rng=rng) <= 60
