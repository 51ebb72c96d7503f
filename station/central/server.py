"""Starting the reference server: one command for a pilot, a thread for tests and the bench.

``serve`` is ``station central serve``; :class:`ServerThread` runs the same app under a
real uvicorn on a loopback socket bound before the thread starts (port 0 -> a free port,
no race between picking a port and listening on it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import multiprocessing
import os
import socket
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from station.central.app import ServerLimits, create_app
from station.central.tokens import read_tokens
from station.errors import StationError


def check_tls_files(certfile: Path | None, keyfile: Path | None) -> None:
    """Refuse half a TLS setup, or files that cannot be loaded, before binding the port."""
    if certfile is None and keyfile is None:
        return
    if certfile is None or keyfile is None:
        raise StationError("HTTPS needs both --certfile and --keyfile")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(certfile), str(keyfile))
    except FileNotFoundError as exc:
        raise StationError(f"cannot read {exc.filename}: no such file") from None
    except (OSError, ssl.SSLError) as exc:
        raise StationError(f"cannot load the certificate {certfile} with the key {keyfile}: {exc}") from None


# The settings a worker process builds its app from (uvicorn starts workers from an import string).
SETTINGS_ENV = "STATION_CENTRAL_SETTINGS"
# Tracking rests between chunks (3/4 of the time): under a burst (a hub's backlog after an
# outage) the pushes are taken first and statuses catch up right after, nothing skipped. Not
# by niceness: a niced process holding the database's write lock would hold up every push.
TRACKING_DUTY = 0.25


def check_database(database: str | None, data_dir: Path) -> None:
    """Connect and migrate once, before any worker starts: a wrong URL, a wrong password or a
    database newer than this code stops the server here with one line."""
    from station.central.db import DatabaseError
    from station.central.storage import CentralStore

    try:
        CentralStore.open(database, data_dir).close()
    except DatabaseError as exc:
        raise StationError(str(exc)) from None


def app_from_environment() -> Starlette:
    """A worker's app, from the settings :func:`serve` put in the environment."""
    settings = json.loads(os.environ[SETTINGS_ENV])
    return create_app(
        Path(settings["data_dir"]),
        read_tokens(Path(settings["tokens_file"])),
        limits=ServerLimits(**settings["limits"]),
        enable_fault_admin=settings["enable_fault_admin"],
        database=settings["database"],
        allow_private_webhooks=settings["allow_private_webhooks"],
        tracking_loop=settings["database"] is None,
        tracking_duty=TRACKING_DUTY,
    )


def run_tracking(settings: dict[str, Any]) -> None:
    """Tracking's own process: ingest what arrived and send the webhooks, until the server stops.

    Out of the HTTP processes so that deriving statuses (CPU-bound Python) never holds the
    GIL while a push waits; it finds new work by polling the database (pushes may land in
    any worker, or in another machine's), and leaves when the server process is gone."""
    from station.central.storage import CentralStore
    from station.central.tracking_store import TrackingStore
    from station.central.webhooks import Dispatcher

    logging.basicConfig(level=settings.get("log_level", "info").upper(), format="tracking: %(message)s")
    parent = os.getppid()
    store = CentralStore.open(settings["database"], Path(settings["data_dir"]))
    dispatcher = Dispatcher(
        TrackingStore(store.db, Path(settings["data_dir"]) / "photos", duty=TRACKING_DUTY),
        allow_private=settings["allow_private_webhooks"],
    )

    async def main() -> None:
        loop = asyncio.create_task(dispatcher.run())
        while os.getppid() == parent and not loop.done():
            await asyncio.sleep(1.0)
        loop.cancel()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


def serve(
    host: str,
    port: int,
    data_dir: Path,
    tokens_file: Path,
    *,
    database: str | None = None,
    workers: int = 1,
    enable_fault_admin: bool = False,
    limits: ServerLimits | None = None,
    log_level: str = "info",
    certfile: Path | None = None,
    keyfile: Path | None = None,
    allow_private_webhooks: bool = False,
) -> None:
    """Serve until stopped; HTTPS when a certificate and key are given.

    The tokens file, the TLS files and the database are checked first: a mistake in them is a
    :class:`StationError` naming the file (or URL) and the reason, and the port is never bound.
    ``workers`` processes answer HTTP (uvicorn's, from settings in the environment); on
    PostgreSQL one more runs tracking (:func:`run_tracking`), on SQLite the worker does. What
    they share is in the database (idempotency records, the webhook queue with its leases),
    nothing in one process.
    """
    read_tokens(tokens_file)
    check_tls_files(certfile, keyfile)
    check_database(database, data_dir)
    settings = {
        "data_dir": str(data_dir),
        "tokens_file": str(tokens_file),
        "limits": dataclasses.asdict(limits or ServerLimits()),
        "enable_fault_admin": enable_fault_admin,
        "database": database,
        "allow_private_webhooks": allow_private_webhooks,
        "log_level": log_level,
    }
    tls = {"ssl_certfile": str(certfile) if certfile else None, "ssl_keyfile": str(keyfile) if keyfile else None}
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": log_level == "debug",
        **tls,
    }
    # PostgreSQL: tracking in a process of its own, off the workers' GIL. SQLite (one worker):
    # in the worker, where its writes queue on the store's lock behind the pushes' instead of
    # polling for the file's lock from another process (SQLite's busy handler sleeps up to
    # 100 ms a try: pushes waited seconds behind tracking's writes).
    tracking = None
    if database is not None:
        tracking = multiprocessing.get_context("spawn").Process(
            target=run_tracking, args=(settings,), name="central-tracking", daemon=True
        )
        tracking.start()
    os.environ[SETTINGS_ENV] = json.dumps(settings)
    try:
        if workers <= 1:
            uvicorn.run(app_from_environment(), **common)
        else:
            uvicorn.run("station.central.server:app_from_environment", factory=True, workers=workers, **common)
    finally:
        if tracking is not None:
            tracking.terminate()
            tracking.join(timeout=10)


class ServerThread:
    """A real uvicorn serving ``app`` on 127.0.0.1 in a daemon thread (tests, bench, demo)."""

    def __init__(
        self,
        app: Starlette,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_certfile: Path | None = None,
        ssl_keyfile: Path | None = None,
    ) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.scheme = "https" if ssl_certfile else "http"
        config = uvicorn.Config(
            app,
            log_level="critical",
            access_log=False,
            timeout_graceful_shutdown=1,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the central server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> Any:
        self.stop()
