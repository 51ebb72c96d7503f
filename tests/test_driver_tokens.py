"""Driver tokens ([[drivers]] in the tokens file): a driver's app posts proof of delivery and
is refused everything of the station protocol."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from station.central.testing import Central, running_central
from station.central.tokens import DriverRole, TokensError, add_token, hash_token, parse_tokens
from station.cli.central import main as central_main

H1, H2 = "1" * 64, "2" * 64


def test_drivers_are_read_from_the_tokens_file() -> None:
    tokens = parse_tokens(f'[[drivers]]\nid = "drv-7"\ntoken_sha256 = "{H1}"\n')
    assert tokens.roles() == [DriverRole("drv-7")]


@pytest.mark.parametrize(
    "text, why",
    [
        (f'[[drivers]]\nid = "a"\ntoken_sha256 = "{H1}"\n[[drivers]]\nid = "a"\ntoken_sha256 = "{H2}"\n', "twice"),
        (f'[[drivers]]\nid = "a"\nhub = "x"\ntoken_sha256 = "{H1}"\n', "unknown key"),
        ('[[drivers]]\nid = "a"\ntoken_sha256 = "secret"\n', "64 lower-case hex"),
        (f'[[couriers]]\nid = "a"\ntoken_sha256 = "{H1}"\n', "unknown table"),
    ],
)
def test_a_bad_driver_entry_is_refused_with_its_line(text: str, why: str) -> None:
    with pytest.raises(TokensError, match=why):
        parse_tokens(text, name="tokens.toml")


def test_the_token_command_adds_a_driver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tokens.toml"
    assert central_main(["token", "--tokens", str(path), "--driver", "drv-7"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token not in path.read_text() and hash_token(token) in path.read_text()
    assert parse_tokens(path.read_text()).role_for(token) == DriverRole("drv-7")
    with pytest.raises(TokensError, match="already has a token"):
        add_token(path, driver="drv-7")


@pytest.fixture
def central(tmp_path: Path, central_database: str | None) -> Iterator[Central]:
    with running_central(tmp_path / "central", ["S1"], drivers=["drv-7"], database=central_database) as c:
        yield c


def test_a_driver_token_speaks_no_station_protocol(central: Central) -> None:
    auth = {"Authorization": f"Bearer {central.driver_tokens['drv-7']}"}
    with httpx.Client(base_url=central.url, headers=auth) as c:
        assert c.get("/v1/limits").status_code == 403
        assert c.get("/v1/hubs/Lyon Gerland/days/2026-11-25/manifest").status_code == 403
        pushed = c.post("/v1/events", content=b'{"station_id": "S1", "events": []}', headers={"Idempotency-Key": "k"})
        assert pushed.status_code == 403 and "driver drv-7" in pushed.json()["error"]
        assert c.post("/v1/webhooks", json={"url": "https://93.184.215.14/"}).status_code == 403
        body = {
            "delivery_id": str(uuid.uuid4()),
            "tracking_id": "NEVER-LISTED",
            "outcome": "delivered",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        assert c.post("/v1/deliveries", json=body).status_code == 404  # allowed in, parcel unknown
    station = {"Authorization": f"Bearer {central.tokens['S1']}"}
    assert httpx.post(f"{central.url}/v1/deliveries", json=body, headers=station).status_code == 403
