"""A central server and a station config wired to it, for tests, the bench and the demo.

Shipped in the package (as httpx ships MockTransport) so every test file, the crash
test's child process and bench/sync.py start the same real server the same way.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from station.central.app import ServerLimits, create_app
from station.central.server import ServerThread
from station.central.storage import CentralStore
from station.central.tokens import DriverRole, Holder, StationRole, SystemRole, Tokens, add_token, hash_token
from station.central.webhooks import WebhookPolicy
from station.config import Config, ServerConfig, load_config
from station.model import Parcel

# The hub of the example config (station/example-config.toml): a test station's hub.
DEMO_HUB = "Lyon Gerland"
SYSTEM = "tms"


def write_tokens(path: Path, stations: dict[str, str], systems: Sequence[str] = ()) -> dict[str, str]:
    """A tokens file for ``station central serve`` (station id -> hub, system names);
    returns station id or system name -> its token."""
    tokens = {sid: add_token(path, station=sid, hub=hub) for sid, hub in stations.items()}
    tokens.update({name: add_token(path, system=name) for name in systems})
    return tokens


def station_config(
    data_dir: Path,
    url: str,
    token: str,
    *,
    station_id: str = "S1",
    timeout_s: float = 2.0,
    batch_size: int = 500,
    ca_file: Path | None = None,
) -> Config:
    """The demo config of a station in ``data_dir`` whose [server] points at ``url``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    token_file = data_dir / "station-token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    base = load_config(None, data_dir)
    server = ServerConfig(url=url, token_file=token_file, ca_file=ca_file, timeout_s=timeout_s, batch_size=batch_size)
    return dataclasses.replace(base, station_id=station_id, server=server)


@dataclasses.dataclass
class Central:
    thread: ServerThread
    store: CentralStore
    tokens: dict[str, str]  # station id -> token
    hubs: dict[str, str]  # station id -> hub
    system_token: str  # the company system's (SYSTEM): it writes manifests
    data_dir: Path
    driver_tokens: dict[str, str] = dataclasses.field(default_factory=dict)  # driver id -> token

    @property
    def url(self) -> str:
        return self.thread.url

    def system_server(self, ca_file: Path | None = None) -> ServerConfig:
        """[server] settings carrying the company system's token (for publish_manifest)."""
        token_file = self.data_dir / "system-token"
        token_file.write_text(self.system_token, encoding="utf-8")
        return ServerConfig(url=self.url, token_file=token_file, ca_file=ca_file)

    def publish_manifest(self, hub: str, day: str, parcels: list[Parcel], ca_file: Path | None = None) -> int:
        """Upload a day's manifest as the company's system does."""
        from station.sync.pull import publish_manifest

        return publish_manifest(self.system_server(ca_file), hub, day, parcels)


@contextmanager
def running_central(
    data_dir: Path,
    station_ids: list[str] | dict[str, str] | None = None,
    *,
    limits: ServerLimits | None = None,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    drivers: Sequence[str] = (),
    allow_private_webhooks: bool = False,
    webhook_policy: WebhookPolicy | None = None,
    database: str | None = None,
) -> Iterator[Central]:
    """A real server on loopback. Stations are given as ids (all of the demo hub) or as
    station id -> hub; one company system (:data:`SYSTEM`) is always there; ``drivers``
    get driver tokens (proof of delivery). ``database``: a PostgreSQL URL (default: SQLite
    in ``data_dir``)."""
    if isinstance(station_ids, dict):
        hubs = dict(station_ids)
    else:
        hubs = dict.fromkeys(station_ids or ["S1"], DEMO_HUB)
    tokens = {sid: secrets.token_urlsafe(24) for sid in hubs}
    system_token = secrets.token_urlsafe(24)
    data_dir.mkdir(parents=True, exist_ok=True)  # photos and the system's token file live here on any backend
    store = CentralStore.open(database, data_dir)
    driver_tokens = {did: secrets.token_urlsafe(24) for did in drivers}
    roles: dict[str, Holder] = {hash_token(tokens[sid]): StationRole(sid, hub) for sid, hub in hubs.items()}
    roles[hash_token(system_token)] = SystemRole(SYSTEM)
    roles.update({hash_token(tok): DriverRole(did) for did, tok in driver_tokens.items()})
    app = create_app(
        data_dir,
        Tokens(roles),
        limits=limits,
        store=store,
        allow_private_webhooks=allow_private_webhooks,
        webhook_policy=webhook_policy,
    )
    thread = ServerThread(app, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile).start()
    try:
        yield Central(thread, store, tokens, hubs, system_token, data_dir, driver_tokens)
    finally:
        thread.stop()
        store.close()


def free_port() -> int:
    """A loopback port free now (for a server started as a separate process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_serving(
    url: str, process: subprocess.Popen[Any], *, timeout_s: float = 60.0, verify: ssl.SSLContext | bool = True
) -> None:
    """Wait until the server ``process`` answers ``url``/healthz; RuntimeError if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the central server exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the central server did not answer within {timeout_s:g} s")
        time.sleep(0.1)


def make_test_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (openssl CLI):
    returns (ca.pem, server.pem, server.key). EC keys: made in milliseconds."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Hub Test CA")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext",
    )  # fmt: skip
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


class BadServer:
    """A loopback server that accepts and never answers (``mode="stall"``) or answers a
    byte at a time (``mode="trickle"``, one byte every ``every_s``), until :meth:`release`.

    What a hung proxy or a dying link looks like from the station: httpx's per-read
    timeout never trips on the trickle. ``requests`` counts the connections it holds.
    """

    def __init__(self, mode: str, *, every_s: float = 0.2) -> None:
        import threading

        self.mode = mode
        self.every_s = every_s
        self.released = threading.Event()
        self.requests = 0
        self.got_request = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BadServer:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        self.released.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _serve(self) -> None:
        import threading

        while not self.released.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._hold, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.05)
            try:
                conn.recv(65_536)
            except OSError:
                pass
            self.requests += 1
            self.got_request.set()
            if self.mode == "trickle":
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                except OSError:
                    return
            while not self.released.wait(self.every_s):
                if self.mode == "trickle":
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        return
