"""The ``station`` command never shows a traceback: a message and an exit code instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.cli.main import main
from station.config import example_config_text
from station.demo_day import generate_day
from station.manifest import write_csv
from station.model import Hub

REPO = Path(__file__).resolve().parents[1]


def station_cmd(*args: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "station", *args],
        capture_output=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO)},
        timeout=120,
    )


@pytest.mark.slow  # runs the station command in subprocesses
def test_a_scan_of_bytes_that_are_not_utf8_gets_a_decision(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    result = station_cmd("scan", "--json", b"1Z99\xff", "--data-dir", d)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "invalid" and decision["code"] == "1Z99\ufffd" and decision["event_id"]

    result = station_cmd("scan", b"1Z99\xff", "--data-dir", d)
    assert result.returncode == 0 and result.stdout.startswith(b"INVALID 1Z99"), result.stderr


def test_text_the_terminal_cannot_encode_is_escaped(tmp_path: Path) -> None:
    result = station_cmd("scan", "Crème", "--data-dir", str(tmp_path / "data"), env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"INVALID Cr\\xe8me")


@pytest.mark.slow  # runs the station command in subprocesses
def test_a_data_dir_that_cannot_be_written_is_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    for command in (["report"], ["scan", "1Z999AA10123456784"], ["sync", "--status"], ["close-van", "V01"]):
        result = station_cmd(*command, "--data-dir", str(blocker / "data"))
        assert result.returncode == 1, command
        assert b"Traceback" not in result.stderr
        assert b"station: cannot write the log in" in result.stderr and b"not-a-dir" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_read_only_data_dir_is_a_message(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        result = station_cmd("report", "--data-dir", str(d))
    finally:
        d.chmod(0o755)
    assert result.returncode == 1 and b"Traceback" not in result.stderr and b"station: cannot" in result.stderr


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    manifest = tmp_path / "m.csv"
    write_csv(generate_day(Hub("Lyon Gerland", 45.7304, 4.8325), parcels=600, seed=3), manifest)
    assert main(["import", str(manifest), "--data-dir", d]) == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-m", "station", "report", "--limit", "100000", "--data-dir", d],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"day ")
        proc.stdout.close()  # as `head -1` does
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0
    assert err == b""


def test_central_serve_with_a_bad_tokens_file_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "tokens"
    bad.write_text("dock-1 secret extra\n")
    assert main(["central", "serve", "--data-dir", str(tmp_path), "--tokens", str(bad)]) == 2
    assert f"{bad}: not valid TOML" in capsys.readouterr().err  # the old one-pair-a-line format
    assert main(["central", "serve", "--data-dir", str(tmp_path), "--tokens", str(tmp_path / "none")]) == 2
    assert "does not exist (make one: station central token)" in capsys.readouterr().err
    bad.write_text("# nobody yet\n")
    assert main(["central", "serve", "--data-dir", str(tmp_path), "--tokens", str(bad)]) == 2
    assert "nobody could connect" in capsys.readouterr().err

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "station.central", "serve", "--data-dir", str(tmp_path), "--tokens", str(bad)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2 and b"Traceback" not in result.stderr and b"--tokens" in result.stderr


def test_every_command_stops_on_a_config_typo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "data"
    d.mkdir()
    (d / "station.toml").write_text(example_config_text().replace("kiosk = false", "kisok = true"))
    for command in (["scan", "X"], ["report"], ["import", "nothing.csv"], ["plan"], ["sync", "--status"],
                    ["export", "--epcis"], ["close-van", "V01"], ["exceptions"], ["print-commands"]):  # fmt: skip
        assert main([*command, "--data-dir", str(d)]) == 2, command
        assert "unknown key 'kisok' (did you mean 'kiosk'?)" in capsys.readouterr().err
