"""A central server and a station config wired to it, for tests, the bench and the demo.

Shipped in the package (as httpx ships MockTransport) so every test file, the crash
test's child process and bench/sync.py start the same real server the same way.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from station.central.app import ServerLimits, create_app
from station.central.server import ServerThread
from station.central.storage import CentralStore
from station.config import Config, ServerConfig, load_config


def write_tokens(path: Path, station_ids: list[str]) -> dict[str, str]:
    """A tokens file for ``station central serve``; returns station id -> token."""
    tokens = write_tokens_dict(station_ids)
    path.write_text("".join(f"{sid} {tok}\n" for sid, tok in tokens.items()), encoding="utf-8")
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
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.thread.url


@contextmanager
def running_central(
    data_dir: Path,
    station_ids: list[str] | None = None,
    *,
    limits: ServerLimits | None = None,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
) -> Iterator[Central]:
    tokens = write_tokens_dict(station_ids or ["S1"])
    store = CentralStore.in_dir(data_dir)
    app = create_app(data_dir, {tok: sid for sid, tok in tokens.items()}, limits=limits, store=store)
    thread = ServerThread(app, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile).start()
    try:
        yield Central(thread, store, tokens)
    finally:
        thread.stop()
        store.close()


def write_tokens_dict(station_ids: list[str]) -> dict[str, str]:
    return {sid: secrets.token_urlsafe(24) for sid in station_ids}
