"""The PostgreSQL fixtures the central server's tests stand on (tests/postgres.py, tests/conftest.py)."""

from __future__ import annotations

import psycopg
import pytest

from tests.postgres import PostgresServer, redact, with_database


def test_each_test_database_is_fresh_and_its_own(postgres_cluster: PostgresServer) -> None:
    first, second = postgres_cluster.create_database(), postgres_cluster.create_database()
    try:
        assert first != second
        with psycopg.connect(first, autocommit=True) as conn:
            conn.execute("CREATE TABLE parcels (tracking_id text PRIMARY KEY)")
            conn.execute("INSERT INTO parcels VALUES ('1Z999AA10123456784')")
        with psycopg.connect(second) as conn:
            seen = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'parcels'")
            assert seen.fetchone() == (0,)
    finally:
        postgres_cluster.drop_database(first)
        postgres_cluster.drop_database(second)
    with psycopg.connect(postgres_cluster.url) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'test_%'").fetchall()
    assert (first.rsplit("/", 1)[1],) not in left


def test_a_database_is_dropped_even_while_a_connection_holds_it(postgres_cluster: PostgresServer) -> None:
    url = postgres_cluster.create_database()
    held = psycopg.connect(url)  # a server process a test forgot to close
    try:
        postgres_cluster.drop_database(url)
    finally:
        held.close()
    with psycopg.connect(postgres_cluster.url) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()]
    assert url.rsplit("/", 1)[1] not in names


def test_postgres_url_is_an_empty_database_of_the_server(postgres_url: str, postgres_server: str) -> None:
    assert postgres_url == with_database(postgres_server, postgres_url.rsplit("/", 1)[1])
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert tables.fetchone() == (0,)


def test_the_server_is_down_while_stopped_and_keeps_its_data_after(
    postgres_cluster: PostgresServer, postgres_url: str
) -> None:
    if not postgres_cluster.restartable:
        pytest.skip("the server came from STATION_TEST_POSTGRES_URL without STATION_TEST_POSTGRES_DATA")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE events (event_id text PRIMARY KEY)")
        conn.execute("INSERT INTO events VALUES ('e1')")
    held = psycopg.connect(postgres_url)
    with postgres_cluster.stopped():
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres_url, connect_timeout=2)
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")  # an open connection is cut, as a pool's would be
    held.close()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT event_id FROM events").fetchall() == [("e1",)]


def test_after_a_crash_the_server_recovers_what_it_committed(
    postgres_cluster: PostgresServer, postgres_url: str
) -> None:
    if not postgres_cluster.restartable:
        pytest.skip("the server came from STATION_TEST_POSTGRES_URL without STATION_TEST_POSTGRES_DATA")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE events (event_id text PRIMARY KEY)")
        conn.execute("INSERT INTO events VALUES ('e1')")
    postgres_cluster.restart(mode="immediate")
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@127.0.0.1:5432/db", "postgresql://u:***@127.0.0.1:5432/db"),
        ("postgresql://u@127.0.0.1/db", "postgresql://u@127.0.0.1/db"),
    ],
)
def test_messages_never_show_the_password(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_central_database_is_each_backend_once(central_database: str | None, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.id
    if backend == "sqlite":
        assert central_database is None
    else:
        assert backend == "postgresql"
        assert central_database is not None
        with psycopg.connect(central_database) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (central_database.rsplit("/", 1)[1],)
