"""A real PostgreSQL server for the central server's tests and bench/central_load.py.

Where the server comes from, in order:

1. ``STATION_TEST_POSTGRES_URL`` (a superuser's URL, on database ``postgres``): a server someone
   else started, as .ci/run does. To stop and start it again (:meth:`PostgresServer.stopped`),
   ``STATION_TEST_POSTGRES_DATA`` must name its data directory: pg_ctl is run on it as the
   directory's owner (through ``runuser`` when we are root), with the binaries of the data
   directory's PG_VERSION.
2. Else ``initdb`` and ``pg_ctl`` found on PATH or in /usr/lib/postgresql/*/bin (Debian): a
   throwaway cluster in a temporary directory (:func:`start_cluster`), owned by ourselves, or
   by the ``postgres`` user when we are root (PostgreSQL refuses to run as root).
3. Else :class:`NoPostgres`, with the reason: tests/conftest.py skips, or fails when
   ``STATION_REQUIRE_POSTGRES=1`` (CI).

A throwaway cluster listens on 127.0.0.1 on a free port, with a Unix socket in its own
directory only. TCP connections need the superuser's password (scram-sha-256), not ``trust``:
any local user can reach 127.0.0.1, and a test of a wrong password must meet a server that
checks it. The Unix socket, reachable by its owner alone, trusts.

Nothing here imports pytest: the bench starts its cluster with the same code.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

URL_VARIABLE = "STATION_TEST_POSTGRES_URL"
DATA_VARIABLE = "STATION_TEST_POSTGRES_DATA"
REQUIRE_VARIABLE = "STATION_REQUIRE_POSTGRES"
SUPERUSER = "station_test"
# A test cluster lives as long as a test session; it need not survive a power cut. The bench's
# cluster keeps PostgreSQL's defaults (fsync on): its figures are for a durable server.
FAST_SETTINGS = {"fsync": "off", "full_page_writes": "off"}


class NoPostgres(Exception):
    """No PostgreSQL server can be had here; the message says why."""


def bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return debian[-1].parent if debian else None


def _run_as(owner: str | None, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program as ``owner`` (None: as ourselves), its output captured; from
    ``/``, a directory any owner may enter."""
    command = list(argv) if owner is None else ["runuser", "-u", owner, "--", *argv]
    return subprocess.run(command, check=False, capture_output=True, text=True, cwd="/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def with_database(url: str, database: str) -> str:
    """``url`` naming another database on the same server, as the same user."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


@dataclass
class PostgresServer:
    """A PostgreSQL server to test against: its superuser ``url`` (database ``postgres``) and,
    when we may stop and start it, its data directory, binaries and owner."""

    url: str
    data_dir: Path | None = None
    bin_dir: Path | None = None
    owner: str | None = None  # the user pg_ctl runs as (None: ourselves)
    base_dir: Path | None = None  # a throwaway cluster's temporary directory (removed by remove())
    databases: list[str] = field(default_factory=list)

    @property
    def restartable(self) -> bool:
        return self.data_dir is not None and self.bin_dir is not None

    def pg_ctl(self, *args: str) -> None:
        if self.data_dir is None or self.bin_dir is None:
            raise RuntimeError(
                f"cannot stop or start the PostgreSQL server of {URL_VARIABLE}: "
                f"set {DATA_VARIABLE} to its data directory"
            )
        log = self.data_dir / "pg_ctl.log"
        result = _run_as(self.owner, [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(log), *args])
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {result.stdout}{result.stderr}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends the sessions and shuts down cleanly, ``immediate``
        is a crash (recovery at the next start)."""
        self.pg_ctl("stop", "-m", mode, "-w")

    def start(self) -> None:
        """Start the server again and wait until it accepts connections."""
        self.pg_ctl("start", "-w", "-t", "60")
        wait_ready(self.url)

    @contextmanager
    def stopped(self, mode: str = "fast") -> Iterator[None]:
        """The server is down inside the block and up again after it (also when the block fails)."""
        self.stop(mode)
        try:
            yield
        finally:
            self.start()

    def restart(self, mode: str = "fast") -> None:
        with self.stopped(mode):
            pass

    def create_database(self) -> str:
        """A new, empty database with a unique name; returns its URL (same superuser)."""
        name = f"test_{uuid.uuid4().hex[:20]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.databases.append(name)
        return with_database(self.url, name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing whatever is still connected."""
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self.databases:
            self.databases.remove(name)

    def remove(self) -> None:
        """Stop a throwaway cluster and delete its directory (a server of the environment is left alone)."""
        if self.base_dir is None:
            return
        try:
            self.stop("fast")
        except RuntimeError:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def wait_ready(url: str, timeout_s: float = 30.0) -> None:
    """Wait until the server at ``url`` answers a query (a freshly started server may still be
    recovering)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise NoPostgres(f"PostgreSQL at {redact(url)} does not answer: {exc}") from None
            time.sleep(0.1)


def redact(url: str) -> str:
    """``url`` without its password (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def start_cluster(*, settings: dict[str, str] | None = None, max_connections: int = 200) -> PostgresServer:
    """initdb and start a throwaway cluster in a new temporary directory; :meth:`PostgresServer.remove`
    stops it and deletes the directory. Raises :class:`NoPostgres` when it cannot be done here."""
    binaries = bin_dir()
    if binaries is None:
        raise NoPostgres("initdb and pg_ctl are neither on PATH nor in /usr/lib/postgresql/*/bin")
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise NoPostgres("running as root and there is no postgres user to run PostgreSQL as") from None
    base = Path(tempfile.mkdtemp(prefix="station-pg-"))
    try:
        data, sockets = base / "data", base / "sockets"
        sockets.mkdir()
        password = secrets.token_urlsafe(18)
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        if owner is not None:
            for path in (base, sockets, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        owner_name = owner.pw_name if owner else None
        initdb = _run_as(
            owner_name,
            [
                str(binaries / "initdb"),
                "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
            ],
        )  # fmt: skip
        pwfile.unlink()
        if initdb.returncode != 0:
            raise NoPostgres(f"initdb failed: {initdb.stdout}{initdb.stderr}")
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{sockets}'",
            "max_connections": str(max_connections),
            **{k: f"'{v}'" for k, v in (settings or {}).items()},
        }
        server = PostgresServer(url="", data_dir=data, bin_dir=binaries, owner=owner_name, base_dir=base)
        for _attempt in range(5):  # the free port may be taken between finding it and listening on it
            port = _free_port()
            conf["port"] = str(port)
            with (data / "postgresql.conf").open("a", encoding="utf-8") as f:
                f.write("\n# station tests\n" + "".join(f"{k} = {v}\n" for k, v in conf.items()))
            server.url = f"postgresql://{SUPERUSER}:{quote(password, safe='')}@127.0.0.1:{port}/postgres"
            try:
                server.pg_ctl("start", "-w", "-t", "60")
            except RuntimeError as exc:
                if "could not bind" in (data / "pg_ctl.log").read_text(errors="replace"):
                    continue
                raise NoPostgres(str(exc)) from None
            wait_ready(server.url)
            return server
        raise NoPostgres("no free port for PostgreSQL on 127.0.0.1")
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def from_environment() -> PostgresServer | None:
    """The server .ci/run (or a developer) started, from ``STATION_TEST_POSTGRES_URL`` and
    ``STATION_TEST_POSTGRES_DATA``; None when the URL is not set."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        return None
    wait_ready(url, timeout_s=10)
    data = os.environ.get(DATA_VARIABLE)
    if not data:
        return PostgresServer(url=url)
    data_dir = Path(data)
    version = (data_dir / "PG_VERSION").read_text(encoding="utf-8").strip()
    binaries = Path(f"/usr/lib/postgresql/{version}/bin")
    if not (binaries / "pg_ctl").exists():
        binaries = bin_dir() or binaries
    owner_uid = data_dir.stat().st_uid
    owner = None if owner_uid == os.geteuid() else pwd.getpwuid(owner_uid).pw_name
    return PostgresServer(url=url, data_dir=data_dir, bin_dir=binaries, owner=owner)


def required() -> bool:
    """Whether a missing PostgreSQL must fail the tests instead of skipping them (CI)."""
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")
