"""The tokens file, `station central token`, and `station central serve` over HTTPS.

A malformed tokens file stops the server with the file, the line and the reason (never a
traceback); a token is printed once and only its SHA-256 is kept; HTTPS is verified
against a throwaway CA made for the test.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from station.central.testing import DEMO_HUB, make_test_certs
from station.central.tokens import (
    StationRole,
    SystemRole,
    TokensError,
    add_token,
    hash_token,
    parse_tokens,
    read_tokens,
)

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
STATION = [sys.executable, "-m", "station"]
H = "a" * 64


def test_a_good_file_gives_each_token_its_role() -> None:
    tokens = parse_tokens(
        f"""
# two stations of two hubs and the TMS
[[stations]]
id = "dock-1"
hub = "Lyon Gerland"
token_sha256 = "{hash_token("one")}"

[[stations]]
id = "pn-1"
hub = "Paris Nord"
token_sha256 = "{hash_token("two")}"

[[systems]]
name = "tms"
token_sha256 = "{hash_token("three")}"
"""
    )
    assert tokens.role_for("one") == StationRole("dock-1", "Lyon Gerland")
    assert tokens.role_for("two") == StationRole("pn-1", "Paris Nord")
    assert tokens.role_for("three") == SystemRole("tms")
    assert tokens.role_for(hash_token("one")) is None


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ('[[stations]]\nid = "a"\nhub = "H"\ntoken_sha256 = "abc\n', "line 4", "not valid TOML"),
        ("dock-1 secret-token\n", "line 1", "not valid TOML"),  # the old format
        (f'[[stations]]\nid = "a"\ntoken_sha256 = "{H}"\n', ":1:", "missing hub"),
        ('[[stations]]\nid = "a"\nhub = "H"\ntoken_sha256 = "secret"\n', ":1:", "64 lower-case hex digits"),
        (f'\n\n[[systems]]\nname = "tms"\ntoken_sha256 = "{H}"\ncolour = 1\n', ":3:", "unknown key(s) colour"),
        (
            f'[[stations]]\nid = "a"\nhub = "H"\ntoken_sha256 = "{H}"\n\n'
            f'[[stations]]\nid = "a"\nhub = "H"\ntoken_sha256 = "{"b" * 64}"\n',
            ":6:",
            "station a is listed twice",
        ),
        (
            f'[[stations]]\nid = "a"\nhub = "H"\ntoken_sha256 = "{H}"\n\n'
            f'[[systems]]\nname = "t"\ntoken_sha256 = "{H}"\n',
            ":6:",
            "already given to station a of hub H",
        ),
        (f'[[stations]]\nid = ""\nhub = "H"\ntoken_sha256 = "{H}"\n', ":1:", "id must be a non-empty string"),
        (f'[[stations]]\nid = 5\nhub = "H"\ntoken_sha256 = "{H}"\n', ":1:", "id must be a non-empty string"),
        ('[stations]\nid = "a"\n', "", "must be an array of tables"),
        ('[[hubs]]\nname = "a"\n', "", "unknown table(s) hubs"),
    ],
)
def test_a_malformed_file_is_refused_with_the_line_and_reason(
    tmp_path: Path, text: str, where: str, reason: str
) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(text)
    with pytest.raises(TokensError) as caught:
        read_tokens(path)
    message = str(caught.value)
    assert str(path) in message and where in message and reason in message, message


def test_the_token_command_appends_and_prints_the_token_once(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"

    def token(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*STATION, "central", "token", "--tokens", str(path), *args], env=ENV, capture_output=True, text=True
        )

    first = token("--station", "dock-1", "--hub", "Lyon Gerland")
    tms = token("--system", "tms")
    assert first.returncode == tms.returncode == 0, first.stderr + tms.stderr
    t1, t2 = first.stdout.split()[-1], tms.stdout.split()[-1]
    text = path.read_text()
    assert t1 not in text and t2 not in text and hash_token(t1) in text
    assert path.stat().st_mode & 0o077 == 0
    tokens = read_tokens(path)
    assert tokens.role_for(t1) == StationRole("dock-1", "Lyon Gerland") and tokens.role_for(t2) == SystemRole("tms")
    again = token("--station", "dock-1", "--hub", "Paris Nord")
    assert again.returncode != 0 and "already has a token" in again.stderr and "Traceback" not in again.stderr
    assert path.read_text() == text
    no_hub = token("--station", "dock-2")
    assert no_hub.returncode != 0 and "--hub" in no_hub.stderr and "Traceback" not in no_hub.stderr


def test_add_token_quotes_names_safely(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    token = add_token(path, station='dock "1"', hub="Saint-Étienne \\ Nord")
    assert read_tokens(path).role_for(token) == StationRole('dock "1"', "Saint-Étienne \\ Nord")
    with pytest.raises(TokensError):
        add_token(path, station="dock\n2", hub="H")
    assert read_tokens(path).role_for(token) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, tokens: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    cmd = [*STATION, "central", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(
        [*cmd, "--tokens", str(tokens), "--log-level", "warning", *extra],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_serve_stops_on_a_malformed_tokens_file_with_line_and_reason(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'[[stations]]\nid = "dock-1"\nhub = "H"\ntoken_sha256 = "{H}"\n\n[[stations]]\nid = "dock-2"\n')
    with serving(tmp_path, tokens) as (proc, _):
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert f"{tokens}:6: [[stations]] entry 2: missing hub, token_sha256" in err
    assert "Traceback" not in err


def test_serve_refuses_half_a_tls_setup(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    add_token(tokens, system="tms")
    with serving(tmp_path, tokens, "--certfile", str(tmp_path / "missing.pem")) as (proc, _):
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "--certfile and --keyfile" in err and "Traceback" not in err


def test_serve_over_https_with_a_company_ca(tmp_path: Path) -> None:
    ca, cert, key = make_test_certs(tmp_path / "tls")
    tokens = tmp_path / "tokens.toml"
    token = add_token(tokens, station="dock-1", hub=DEMO_HUB)
    with serving(tmp_path, tokens, "--certfile", str(cert), "--keyfile", str(key)) as (proc, port):
        trusted = ssl.create_default_context(cafile=str(ca))
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trusted, timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        limits = httpx.get(f"https://127.0.0.1:{port}/v1/limits", headers=headers, verify=trusted)
        assert limits.json()["station_id"] == "dock-1" and limits.json()["hub"] == DEMO_HUB
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://127.0.0.1:{port}/v1/limits", headers=headers)  # the system store does not know it
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/v1/limits", headers=headers)  # no plain HTTP on that port
