"""The station's sync client against the reference server over loopback HTTP: refused
events quarantined (never deleted), sync stopping on 403 and TLS failures, 401 token
reload, 413 splitting, the token kept out of logs, the background task's status, and the
``station sync`` / ``station export`` commands."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import station.sync  # noqa: F401
from station.central.app import ServerLimits
from station.central.faults import Fault
from station.central.testing import Central, running_central, station_config
from station.config import Config
from station.core import Station
from station.sync.backoff import Backoff
from station.sync.connection import BearerToken, read_token
from station.sync.outbox import Outbox
from station.sync.status import SyncState, SyncStatus
from station.sync.task import push_until_empty, run_sync


@pytest.fixture
def central(tmp_path: Path, central_database: str | None) -> Iterator[Central]:
    with running_central(tmp_path / "central", ["S1", "S2"], database=central_database) as c:
        yield c


def make_station(tmp_path: Path, central: Central, *, token: str | None = None, **kw: object) -> tuple[Station, Config]:
    config = station_config(tmp_path / "station", central.url, token or central.tokens["S1"], **kw)  # type: ignore[arg-type]
    return Station.open(config), config


def scan_many(station: Station, n: int, prefix: str = "1ZSYNC") -> None:
    for i in range(n):
        station.scan(f"{prefix}{i:08d}")


def push(
    station: Station, config: Config, *, max_failures: int = 10, seen: list[SyncStatus] | None = None
) -> SyncStatus:
    status, _ = asyncio.run(
        push_until_empty(
            station.store,
            config,
            max_failures=max_failures,
            backoff=Backoff(0.01, 0.05, rng=random.Random(1)),
            status_cb=seen.append if seen is not None else None,
        )
    )
    return status


def corrupt(station: Station, seq: int, **changes: object) -> str:
    row = station.store.query("SELECT event_id, payload FROM outbox WHERE seq = ?", (seq,))[0]
    payload = json.loads(row["payload"])
    payload.update(changes)
    with station.store.write() as db:
        db.execute("UPDATE outbox SET payload = ? WHERE seq = ?", [json.dumps(payload), seq])
    return str(row["event_id"])


def test_refused_event_is_quarantined_with_its_reason_and_the_rest_delivered(tmp_path: Path, central: Central) -> None:
    station, config = make_station(tmp_path, central)
    scan_many(station, 30)
    bad = corrupt(station, 7, kind="teleported")
    status = push(station, config)
    assert status.state is SyncState.OK and status.backlog == 0
    assert status.quarantined == 1 and status.alert and "refused" in status.alert
    (q,) = Outbox(station.store).quarantined()
    assert q.event_id == bad and q.status_code == 422 and "teleported" in q.reason
    assert json.loads(q.payload)["kind"] == "teleported"  # kept whole, never deleted
    assert len(central.store.event_ids()) == 29
    assert station.store.scalar("SELECT count(*) FROM events") == 30


def test_unattributed_400_bisects_down_to_the_bad_event(tmp_path: Path, central: Central) -> None:
    station, config = make_station(tmp_path, central)
    scan_many(station, 20)
    with station.store.write() as db:  # a payload that breaks the whole body's JSON
        db.execute("UPDATE outbox SET payload = '{\"broken' WHERE seq = 13")
    status = push(station, config)
    assert status.backlog == 0 and status.quarantined == 1
    (q,) = Outbox(station.store).quarantined()
    assert q.seq == 13 and q.status_code == 400
    assert len(central.store.event_ids()) == 19


def test_403_stops_sync_and_keeps_the_backlog(tmp_path: Path, central: Central) -> None:
    station, config = make_station(tmp_path, central, token=central.tokens["S2"])  # S1 with S2's token
    scan_many(station, 5)
    status = push(station, config)
    assert status.state is SyncState.STOPPED and "403" in (status.reason or "")
    assert status.alert and status.backlog == 5
    assert central.store.event_ids() == []


def test_401_reloads_the_token_file_and_alerts(tmp_path: Path, central: Central) -> None:
    station, config = make_station(tmp_path, central, token="wrong-token")
    assert config.server is not None and config.server.token_file is not None
    token_file = config.server.token_file
    scan_many(station, 5)
    seen: list[SyncStatus] = []

    def fix_token(status: SyncStatus) -> None:
        seen.append(status)
        if status.alert and "token" in status.alert:
            token_file.write_text(central.tokens["S1"])  # the IT person replaces the file

    status, _ = asyncio.run(push_until_empty(station.store, config, backoff=Backoff(0.01, 0.05), status_cb=fix_token))
    assert status.state is SyncState.OK and status.backlog == 0
    assert any("replace the token file" in (s.alert or "") for s in seen)
    assert len(central.store.event_ids()) == 5


def test_token_never_logged_nor_repr(tmp_path: Path, central: Central, caplog: pytest.LogCaptureFixture) -> None:
    station, config = make_station(tmp_path, central)
    scan_many(station, 3)
    central.thread.app.state.faults.add(Fault("401"), Fault("500"), Fault("drop"))
    with caplog.at_level(logging.DEBUG):
        push(station, config)
    token = central.tokens["S1"]
    assert token not in caplog.text
    assert config.server is not None
    assert token not in repr(BearerToken(config.server))


def test_token_from_systemd_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from station.config import ServerConfig

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "station-token").write_text("s3cr3t\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert read_token(ServerConfig(url="https://x")) == "s3cr3t"


def test_413_splits_and_a_lone_oversized_event_is_quarantined(tmp_path: Path) -> None:
    with running_central(tmp_path / "central", limits=ServerLimits(500, 6_000)) as central:
        station, config = make_station(tmp_path, central, batch_size=100)
        scan_many(station, 60)
        big = corrupt(station, 30, reason="x" * 7_000)
        status = push(station, config)
        assert status.backlog == 0 and status.quarantined == 1
        (q,) = Outbox(station.store).quarantined()
        assert q.event_id == big and q.status_code == 413
        assert len(central.store.event_ids()) == 59


def _make_certs(d: Path) -> tuple[Path, Path, Path]:
    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Hub Test CA",
    )
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl(
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    )
    return d / "ca.pem", d / "srv.pem", d / "srv.key"


def test_tls_company_ca_is_trusted_and_an_unknown_certificate_stops_sync(tmp_path: Path) -> None:
    ca, cert, key = _make_certs(tmp_path)
    with running_central(tmp_path / "central", ssl_certfile=cert, ssl_keyfile=key) as central:
        assert central.url.startswith("https://")
        station, config = make_station(tmp_path, central)
        scan_many(station, 4)
        status = push(station, config)  # no ca_file: the system store does not know this CA
        assert status.state is SyncState.STOPPED and "TLS" in (status.reason or "")
        assert status.backlog == 4
        station.close()
        station, config = make_station(tmp_path, central, ca_file=ca)
        status = push(station, config)
        assert status.state is SyncState.OK and status.backlog == 0
        assert len(central.store.event_ids()) == 4


async def test_background_task_reports_backlog_and_last_good_sync(tmp_path: Path, central: Central) -> None:
    station, config = make_station(tmp_path, central)
    seen: list[SyncStatus] = []
    wake = asyncio.Event()
    task = asyncio.create_task(
        run_sync(station.store, config, seen.append, wake=wake, idle_s=5.0, backoff=Backoff(0.01, 0.05))
    )
    try:
        for _ in range(100):
            if seen and seen[-1].last_good_sync is not None:
                break
            await asyncio.sleep(0.02)
        scan_many(station, 10)
        wake.set()  # what the scan path may do: never awaits, never blocks
        for _ in range(200):
            if station.outbox_backlog() == 0 and seen[-1].backlog == 0:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
    assert seen[-1].state is SyncState.OK and seen[-1].backlog == 0 and seen[-1].last_good_sync
    assert len(central.store.event_ids()) == 10


def test_background_task_stops_on_403_but_keeps_reporting(tmp_path: Path, central: Central) -> None:
    station, config = make_station(tmp_path, central, token=central.tokens["S2"])
    scan_many(station, 3)
    seen: list[SyncStatus] = []

    async def scenario() -> None:
        task = asyncio.create_task(run_sync(station.store, config, seen.append, idle_s=0.05))
        for _ in range(100):
            if seen and seen[-1].state is SyncState.STOPPED:
                break
            await asyncio.sleep(0.02)
        task.cancel()

    asyncio.run(scenario())
    assert seen[-1].state is SyncState.STOPPED and seen[-1].backlog == 3
    assert seen[-1].label().startswith("stopped: station not allowed (403)")


# -- the commands ------------------------------------------------------------------


def write_config(data_dir: Path, url: str, token: str) -> None:
    from station.config import example_config_text

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "token").write_text(token)
    (data_dir / "station.toml").write_text(
        example_config_text() + f'\n[server]\nurl = "{url}"\ntoken_file = "{data_dir / "token"}"\ntimeout_s = 1.0\n'
    )


def test_sync_once_status_and_export_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from station.cli import main
    from station.config import load_config

    data = tmp_path / "st"
    with running_central(tmp_path / "central", ["dock-1"]) as central:
        write_config(data, central.url, central.tokens["dock-1"])
        station = Station.open(load_config(None, data))
        scan_many(station, 12)
        station.close()

        assert main(["sync", "--status", "--json", "--data-dir", str(data)]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["backlog"] == 12 and status["last_good_sync"] is None

        assert main(["sync", "--once", "--data-dir", str(data)]) == 0
        assert "0 left" in capsys.readouterr().out
        assert len(central.store.event_ids("dock-1")) == 12

        assert main(["sync", "--status", "--data-dir", str(data)]) == 0
        assert "backlog: 0 events" in capsys.readouterr().out

    assert main(["export", "--epcis", "--data-dir", str(data)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["type"] == "EPCISDocument" and len(doc["epcisBody"]["eventList"]) == 12


def test_sync_once_exits_non_zero_when_something_is_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from station.cli import main
    from station.config import load_config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "st"
    write_config(data, f"http://127.0.0.1:{port}", "tok")
    station = Station.open(load_config(None, data))
    scan_many(station, 2)
    station.close()
    assert main(["sync", "--once", "--max-failures", "0", "--data-dir", str(data)]) == 1
    assert "offline" in capsys.readouterr().out


def test_only_certificate_and_tls_config_failures_stop_sync() -> None:
    import ssl

    import httpx

    from station.sync.connection import is_tls_error

    def wrapped(cause: BaseException) -> httpx.ConnectError:
        exc = httpx.ConnectError("connect failed")
        exc.__cause__ = cause
        return exc

    assert is_tls_error(wrapped(ssl.SSLCertVerificationError(1, "certificate verify failed")))
    assert is_tls_error(wrapped(ssl.SSLError(1, "wrong version number")))
    # A handshake cut by the Wi-Fi is the network, not the config: retried.
    assert not is_tls_error(wrapped(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")))
    assert not is_tls_error(wrapped(ConnectionRefusedError()))
