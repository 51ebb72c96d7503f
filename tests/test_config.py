"""The config: the example parses, and every mistake names its key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from station.config import example_config_text, load_config, parse_config, resolve_data_dir
from station.errors import ConfigError


def raw() -> dict:  # type: ignore[type-arg]
    return tomllib.loads(example_config_text())


def test_the_example_config_has_the_demo_hub_and_12_vans(tmp_path: Path) -> None:
    config = parse_config(raw(), tmp_path, source=None)
    assert len(config.vans) == 12
    assert sorted(v.lane for v in config.vans) == list(range(1, 13))
    assert config.hub.lat and config.hub.lon
    assert config.database_path == tmp_path / "station.db"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("hub"), "config key hub is missing"),
        (lambda r: r["hub"].update(lat="north"), "config key hub.lat: expected a number"),
        (lambda r: r["hub"].update(lat=123.0), "hub.lat: must be between -90 and 90"),
        (lambda r: r["vans"][3].update(lane="A"), "config key vans[3].lane: expected an integer"),
        (lambda r: r["vans"][3].pop("capacity"), "config key vans[3].capacity is missing"),
        (lambda r: r["vans"][4].update(lane=1), "vans[4].lane: lane 1 is already van V01's"),
        (lambda r: r["vans"][0].update(shift_start="late"), "vans[0].shift_start: expected a time"),
        (lambda r: r.update(server={"url": "ftp://x"}), "server.url: expected an https:// URL"),
        (lambda r: r.update(server={"url": "https://x", "token": "s3cret"}), "server.token: the token never goes"),
        (lambda r: r["scanners"][0].update(role="unload"), "scanners[0].role"),
        (lambda r: r.update(vans=[]), "config key vans is missing"),
        (lambda r: r["planning"].update(backend="gurobi"), 'planning.backend: expected "auto", "pyvrp" or "ortools"'),
    ],
)
def test_a_wrong_key_is_named(tmp_path: Path, change, message: str) -> None:
    r = raw()
    change(r)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(r, tmp_path, source=None)


def test_a_missing_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("station_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, tmp_path)


def test_data_dir_flag_beats_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATION_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(kisok=True), "unknown key 'kisok' (did you mean 'kiosk'?)"),
        (lambda r: r.update(staton_id="x"), "unknown key 'staton_id' (did you mean 'station_id'?)"),
        (
            lambda r: r["planning"].update(time_limt_s=99),
            "unknown key 'time_limt_s' in [planning] (did you mean 'time_limit_s'?)",
        ),
        (lambda r: r["vans"][2].update(capcity=9), "unknown key 'capcity' in [vans[2]] (did you mean 'capacity'?)"),
        (lambda r: r["hub"].update(timezon="UTC"), "unknown key 'timezon' in [hub] (did you mean 'timezone'?)"),
        (
            lambda r: r.update(server={"url": "https://x", "timeout": 3}),
            "unknown key 'timeout' in [server] (did you mean 'timeout_s'?)",
        ),
        (lambda r: r.update(store={"keepdays": 3}), "unknown key 'keepdays' in [store] (did you mean 'keep_days'?)"),
        (
            lambda r: r.update(station={"command_window": 3}),
            "unknown key 'command_window' in [station] (did you mean 'command_window_s'?)",
        ),
        (lambda r: r["scanners"][0].update(rol="sort"), "unknown key 'rol' in [scanners[0]] (did you mean 'role'?)"),
        (lambda r: r["printers"][0].update(job=["label"]), "in [printers[0]] (did you mean 'jobs'?)"),
        (lambda r: r.update(zzz=1), "unknown key 'zzz' (valid keys: database, exception_lane, feedback, hub, kiosk"),
        (lambda r: r["scanners"][0].update(kind="laser"), "scanners[0].kind: expected one of serial, evdev"),
        (lambda r: r["scanners"][0].update(role="load:V99"), "scanners[0].role: van 'V99' is not among [[vans]]"),
        (lambda r: r["hub"].update(timezone="Europe/Lyon"), "hub.timezone: unknown time zone 'Europe/Lyon'"),
        (lambda r: r.update(store={"keep_days": 0}), "store.keep_days: must be 1 or more"),
        (lambda r: r.update(station={"max_cancel_share": 1.5}), "station.max_cancel_share: must be between 0 and 1"),
    ],
)
def test_a_typo_stops_the_station_naming_the_nearest_key(tmp_path: Path, change, message: str) -> None:
    r = raw()
    change(r)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(r, tmp_path, source=None)


def test_the_day_to_day_settings_are_read(tmp_path: Path) -> None:
    r = raw()
    r["hub"]["timezone"] = "Europe/Paris"
    r["store"] = {"keep_days": 45}
    r["station"] = {"command_window_s": 30, "max_cancel_share": 0.5}
    config = parse_config(r, tmp_path, source=None)
    assert config.timezone == "Europe/Paris"
    assert config.store.keep_days == 45
    assert config.rules.command_window_s == 30.0 and config.rules.max_cancel_share == 0.5
    default = parse_config(raw(), tmp_path, source=None)
    assert (default.timezone, default.store.keep_days, default.rules.command_window_s) == (None, 30, 120.0)
    assert default.rules.max_cancel_share == 0.2
