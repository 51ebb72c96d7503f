"""The central server's database: one small interface, two backends (SQLite and PostgreSQL).

Owns connections, transactions and what "unavailable" means. The stores
(:mod:`.storage`, :mod:`.tracking_store`) write their SQL once, in the subset both engines
speak (``?`` placeholders, ``ON CONFLICT``, ``RETURNING``, ``IS [NOT] DISTINCT FROM``), and
run it through :meth:`Database.transaction` (a write transaction) or :meth:`Database.read`.

- SQLite (a pilot, the tests): the file ``central.db`` in the data dir, WAL, synchronous=FULL
  (an answer of 200 promises the events are on disk). Writers are serialised by a lock in
  the process and by ``BEGIN IMMEDIATE`` across processes; each thread reads through its own
  connection, so a tracking page never waits for a push's fsync.
- PostgreSQL (a company): psycopg 3 and its connection pool. Exactly-once holds across
  server processes through unique constraints and transactions; what must happen one at a
  time across processes (listing a manifest's parcels, claiming webhook messages) takes a
  transaction-scoped advisory lock (:meth:`Transaction.serialise`).

A lost database (PostgreSQL restarting, a locked SQLite file) is :class:`StoreUnavailable`,
which the HTTP side answers with 503 and Retry-After; a wrong URL or password at start is
:class:`DatabaseError` with a message for the operator.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

Dialect = Literal["sqlite", "postgresql"]
AUTOCHECKPOINT_PAGES = 25_000  # ~100 MB of WAL
WRITER_CACHE_KIB = 65_536


class DatabaseError(Exception):
    """The database cannot be used at all (wrong URL, password, newer schema): stop, and say why."""


class StoreUnavailable(Exception):
    """The database cannot answer now; the request may be retried later (HTTP 503)."""


class Cursor(Protocol):
    """What both drivers' cursors give: the rows of the last statement and how many it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Transaction(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run ``sql`` once per row; the number of rows changed in all."""
        ...

    def serialise(self, name: str) -> None:
        """Wait until no other transaction holding ``name`` runs, in any server process."""
        ...


class Database(Protocol):
    dialect: Dialect
    where: str  # for messages and logs, never with a password

    def transaction(self) -> Any:
        """``with db.transaction() as tx``: committed at the end, rolled back on an exception."""
        ...

    def read(self) -> Any:
        """``with db.read() as tx``: statements that only read (no lock, no fsync)."""
        ...

    def checkpoint(self) -> None:
        """Between rounds of background work: fold the log into the database (SQLite's WAL)."""
        ...

    def close(self) -> None: ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock`` (the same in every process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


# -- SQLite ------------------------------------------------------------------------------------


class _SqliteTransaction:
    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        return self.conn.executemany(sql, rows).rowcount

    def serialise(self, name: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the one write lock of the file."""


def _sqlite_errors(exc: sqlite3.OperationalError) -> Exception:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreUnavailable(f"the database is busy: {text}")
    return exc


class SqliteDatabase:
    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.where = str(path)
        self._writer = self._connect()
        # Events arrive with random keys (uuids): the indexes' pages are touched all over, and
        # SQLite's default 2 MB cache made every insert a read.
        self._writer.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            # A checkpoint after a commit waits on the readers' snapshots and starts again at
            # every commit while they last: under a burst of pushes it cost more than the
            # pushes. Tracking's loop checkpoints (:meth:`checkpoint`); this is the backstop.
            conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open {self.path}: {exc}") from None
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._write_lock:
            conn = self._writer
            try:
                # IMMEDIATE: these transactions read then write; a deferred one fails at once with
                # "database is locked" when another writer holds the lock, instead of waiting.
                conn.execute("BEGIN IMMEDIATE")
                yield _SqliteTransaction(conn)
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise _sqlite_errors(exc) from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database file, without waiting for anyone."""
        try:
            self._reader().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.OperationalError as exc:
            raise _sqlite_errors(exc) from exc

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        conn = self._reader()
        try:
            # One snapshot for the whole read: a status derived from several queries is consistent.
            conn.execute("BEGIN")
            yield _SqliteTransaction(conn)
        except sqlite3.OperationalError as exc:
            raise _sqlite_errors(exc) from exc
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()


# -- PostgreSQL --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (no statement of ours has a literal ``?`` or ``%``)."""
    return sql.replace("?", "%s")


class _PostgresTransaction:
    dialect: Dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor: Cursor = self.conn.execute(_pg_sql(sql), params)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.conn.cursor() as cur:
            cur.executemany(_pg_sql(sql), rows)
            return int(cur.rowcount)

    def serialise(self, name: str) -> None:
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(name),))


class PostgresDatabase:
    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 10, connect_timeout_s: float = 10.0) -> None:
        import psycopg
        import psycopg_pool

        self._psycopg = psycopg
        self._pool_timeout = psycopg_pool.PoolTimeout
        self.where = redacted(url)
        # Tried once, directly, first: a wrong host, database or password is told now, in one line,
        # instead of as a pool that keeps retrying in the background.
        try:
            psycopg.connect(url, connect_timeout=int(max(1, connect_timeout_s))).close()
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise DatabaseError(f"cannot connect to {self.where}: {reason}") from None
        self.pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            # A connection that died with a PostgreSQL restart is replaced, not handed out.
            check=psycopg_pool.ConnectionPool.check_connection,
            timeout=5.0,
            open=True,
            name="central",
        )

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Transaction]:
        psycopg = self._psycopg
        try:
            with self.pool.connection() as conn:
                if write:
                    with conn.transaction():
                        yield _PostgresTransaction(conn)
                else:
                    with conn.transaction():
                        conn.execute("SET TRANSACTION READ ONLY")
                        yield _PostgresTransaction(conn)
        except self._pool_timeout as exc:
            raise StoreUnavailable(f"no database connection: {exc}") from exc
        except psycopg.OperationalError as exc:  # a restart (AdminShutdown), a lost connection
            raise StoreUnavailable(f"the database is unavailable: {exc}") from exc
        except psycopg.errors.SerializationFailure as exc:
            raise StoreUnavailable(f"a concurrent change: {exc}") from exc

    def checkpoint(self) -> None:
        """PostgreSQL checkpoints on its own."""

    def transaction(self) -> Any:
        return self._connection(write=True)

    def read(self) -> Any:
        return self._connection(write=False)

    def close(self) -> None:
        self.pool.close()


def open_database(url: str | None, data_dir: Path) -> SqliteDatabase | PostgresDatabase:
    """PostgreSQL for a ``postgresql://`` URL, else the SQLite file ``central.db`` in ``data_dir``."""
    if url is None:
        return SqliteDatabase(Path(data_dir) / "central.db")
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url)
    if scheme == "sqlite":
        return SqliteDatabase(Path(urlsplit(url).path))
    raise DatabaseError(f"--database {redacted(url)}: use postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
