"""The systemd units and udev rules: systemd-analyze verify, the security score, the kiosk facts."""

from __future__ import annotations

import argparse
import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
UNITS = ["station.service", "station-central.service"]
MAX_EXPOSURE = 2.0
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze not installed (CI: apt-get install -y systemd)"
)


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(SYSTEMD / name)
    return parser


def values(name: str, section: str, key: str) -> list[str]:
    """All values of a key that may repeat (configparser keeps the last): read the file."""
    found, current = [], ""
    for line in (SYSTEMD / name).read_text().splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.startswith(f"{key}="):
            found.append(line.split("=", 1)[1])
    return found


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_verify(name: str, tmp_path: Path) -> None:
    # verify insists that ExecStart's binary exists: point it at a stand-in with the same args.
    stand_in = tmp_path / "station"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    text = (SYSTEMD / name).read_text().replace("/opt/station/.venv/bin/station", str(stand_in))
    (tmp_path / name).write_text(text)
    result = subprocess.run([ANALYZE, "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60)  # type: ignore[list-item]
    assert result.returncode == 0, result.stderr
    # Unknown or misspelt directives are only warnings: none allowed.
    assert result.stderr.strip() == "", result.stderr


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_security_exposure(name: str) -> None:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", str(SYSTEMD / name)],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_station_unit_is_a_tty1_kiosk_never_root() -> None:
    service = unit("station.service")["Service"]
    assert service["User"] == "station" and service["Group"] == "station"
    assert set(service["SupplementaryGroups"].split()) == {"input", "dialout", "lp", "audio"}
    assert service["TTYPath"] == "/dev/tty1"
    assert service["StandardInput"] == "tty"
    assert service["StandardError"] == "tty"  # Textual draws on stderr
    assert service["StandardOutput"] == "journal"
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["ConfigurationDirectory"] == "station" and service["StateDirectory"] == "station"
    assert service["LoadCredential"] == "station-token:/etc/station/token"
    assert service["CapabilityBoundingSet"] == ""
    assert unit("station.service")["Unit"]["Conflicts"] == "getty@tty1.service"


def test_station_unit_allows_only_the_devices_it_needs() -> None:
    assert unit("station.service")["Service"]["DevicePolicy"] == "closed"
    allowed = {v.split()[0] for v in values("station.service", "Service", "DeviceAllow")}
    assert allowed == {"char-input", "char-ttyACM", "char-ttyUSB", "char-usb_device", "char-usb", "/dev/tty1"} | {
        "char-alsa",  # the feedback sounds
        "char-hidraw",  # HID relay boards (bay lights)
    }


def test_station_exec_start_is_what_the_cli_accepts() -> None:
    from station.cli.main import build_parser

    argv = shlex.split(unit("station.service")["Service"]["ExecStart"])
    assert argv[0] == "/opt/station/.venv/bin/station"
    assert argv[1:] == ["run", "--config", "/etc/station/station.toml", "--data-dir", "/var/lib/station"]
    args = build_parser().parse_args(argv[1:])
    assert str(args.config) == "/etc/station/station.toml" and args.data_dir == "/var/lib/station"


def test_central_exec_start_is_what_the_cli_accepts() -> None:
    from station.cli.central import add_arguments

    argv = shlex.split(unit("station-central.service")["Service"]["ExecStart"].replace("%d", "/run/credentials/x"))
    assert argv[:3] == ["/opt/station/.venv/bin/station", "central", "serve"]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(argv[2:])
    assert str(args.tokens) == "/run/credentials/x/station-tokens"


def test_central_unit_serves_https_or_only_loopback() -> None:
    """Bearer tokens never cross the network in clear: HTTPS, or loopback behind a TLS proxy."""
    import ipaddress

    from station.cli.central import add_arguments

    service = unit("station-central.service")["Service"]
    argv = shlex.split(service["ExecStart"].replace("%d", "/run/credentials/x"))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(argv[2:])
    if args.certfile is None:
        assert ipaddress.ip_address(args.host).is_loopback, args.host
    else:
        assert args.keyfile is not None
        credentials = values("station-central.service", "Service", "LoadCredential")
        for path in (args.certfile, args.keyfile):
            assert str(path).startswith("/run/credentials/x/")  # from systemd, not readable in /etc
            assert any(c.startswith(f"{path.name}:") for c in credentials), path


UDEV_KEY = re.compile(r'\s*([A-Za-z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)')
UDEV_MATCH_KEYS = {"SUBSYSTEM", "KERNEL", "ENV", "ATTRS", "ATTR", "KERNELS", "SUBSYSTEMS", "DRIVERS"}
UDEV_ASSIGN_KEYS = {"GROUP", "MODE", "SYMLINK", "IMPORT", "ENV", "TAG"}


def test_udev_rules_parse_and_name_under_dev_station() -> None:
    rules = (SYSTEMD / "99-station.rules").read_text().splitlines()
    active = [line for line in rules if line.strip() and not line.lstrip().startswith("#")]
    examples = [line.lstrip("#") for line in rules if line.startswith("#SUBSYSTEM")]
    assert len(active) >= 4 and examples
    for line in active + examples:
        pos = 0
        while pos < len(line):
            match = UDEV_KEY.match(line, pos)
            assert match, f"not a udev key at {line[pos:]!r} in {line!r}"
            pos = match.end()
            key, op, value, _ = match.groups()
            base = key.split("{")[0]
            assert base in (UDEV_MATCH_KEYS if op in ("==", "!=") else UDEV_ASSIGN_KEYS), f"{key}{op} in {line!r}"
            if base == "SYMLINK":
                assert value.startswith("station/"), line
            if base == "GROUP":
                assert value in {"input", "dialout", "lp"}, line
            if base == "MODE":
                assert value == "0660", line


def test_install_doc_names_files_that_exist() -> None:
    """docs/install-pi.md copies files out of the checkout: they must be there."""
    doc = (SYSTEMD.parent / "docs" / "install-pi.md").read_text()
    paths = set(re.findall(r"/opt/station/src/([\w./-]+\w)", doc))
    assert {"systemd/station.service", "systemd/99-station.rules", "systemd/station-central.service"} <= paths
    for path in paths:
        assert (SYSTEMD.parent / path).exists(), path
    for name in UNITS:
        assert "Documentation=file:///opt/station/src/docs/install-pi.md" in (SYSTEMD / name).read_text()
