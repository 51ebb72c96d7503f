"""What may carry the station's token, and for how long: https (http only to loopback), and a
total deadline per request that a server answering a byte at a time cannot stretch."""

from __future__ import annotations

import dataclasses
import threading
import tomllib
from pathlib import Path

import pytest

import station.sync  # noqa: F401
from station.central.testing import BadServer, station_config
from station.config import example_config_text, parse_config
from station.core import Station
from station.errors import ConfigError, SyncError
from station.sync.backoff import Backoff
from station.sync.connection import BearerToken
from station.sync.status import SyncState, SyncStatus
from station.sync.task import push_until_empty
from station.sync.urls import url_problem


@pytest.mark.parametrize(
    "url",
    [
        "https://central.example.com",
        "https://10.0.0.5:8700",
        "http://127.0.0.1:8700",
        "http://127.8.9.1",
        "http://localhost:8700/",
        "http://[::1]:8700",
    ],
)
def test_https_anywhere_and_http_to_this_machine_are_accepted(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://central.example.com", "unencrypted"),
        ("http://10.0.0.5:8700", "unencrypted"),
        ("http://0.0.0.0:8700", "unencrypted"),
        ("http://localhost.evil.example", "unencrypted"),
        ("http://127.0.0.1.nip.io", "unencrypted"),
        ("ftp://central.example.com", "expected an https:// URL"),
        ("https://", "expected an https:// URL"),
        ("central.example.com", "expected an https:// URL"),
        ("http://[::1", "is not a URL"),
    ],
)
def test_a_url_that_would_show_the_token_is_refused_with_why(url: str, why: str) -> None:
    problem = url_problem(url)
    assert problem is not None and why in problem


def test_the_config_refuses_plain_http_to_another_machine(tmp_path: Path) -> None:
    raw = tomllib.loads(example_config_text())
    raw["server"] = {"url": "http://central.example.com:8700"}
    with pytest.raises(ConfigError, match=r"server\.url: .*token would cross the network unencrypted"):
        parse_config(raw, tmp_path, source=None)
    raw["server"] = {"url": "http://127.0.0.1:8700"}
    assert parse_config(raw, tmp_path, source=None).server is not None


def test_the_token_is_never_attached_for_such_a_url(tmp_path: Path) -> None:
    config = station_config(tmp_path, "http://127.0.0.1:1", "secret")
    assert config.server is not None
    BearerToken(config.server)  # loopback: fine
    with pytest.raises(SyncError, match="unencrypted"):
        BearerToken(dataclasses.replace(config.server, url="http://192.0.2.7:8700"))


@pytest.mark.parametrize("mode", ["stall", "trickle"])
def test_a_push_ends_within_its_deadline_whatever_the_server_does(tmp_path: Path, mode: str) -> None:
    """A byte every 0.02 s never trips httpx's per-read timeout (0.5 s, 25 times longer even on a busy
    machine); the total deadline does."""
    with BadServer(mode, every_s=0.02) as server:
        config = station_config(tmp_path / "station", server.url, "secret", timeout_s=0.5)
        station = Station.open(config)
        station.scan("1Z999AA10123456784")
        done: list[tuple[SyncStatus, int]] = []

        def push() -> None:
            import asyncio

            done.append(
                asyncio.run(push_until_empty(station.store, config, max_failures=1, backoff=Backoff(0.01, 0.02)))
            )

        worker = threading.Thread(target=push, daemon=True)
        worker.start()
        worker.join(timeout=60)  # a hang, not a measurement: the old client never returned here
        assert not worker.is_alive(), "the push did not end while the server was still trickling"
        assert not server.released.is_set() and server.requests >= 1
        status, pushed = done[0]
        assert pushed == 0 and status.state is SyncState.RETRYING and "no answer within" in (status.reason or "")
        assert station.outbox_backlog() == 1  # kept for the next try
        station.close()
