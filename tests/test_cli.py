"""The scripting contract of the ``station`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.printers.fake_zpl import code128_data
from station.cli import main
from station.demo_day import generate_day
from station.manifest import write_csv
from station.model import Hub


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.csv"
    write_csv(generate_day(Hub("Lyon Gerland", 45.7304, 4.8325), parcels=30, seed=5), path)
    return path


def test_init_import_plan_scan_report(tmp_path: Path, manifest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "data")
    code, out, _ = run(capsys, "init", "--data-dir", d)
    assert code == 0 and (tmp_path / "data" / "station.toml").exists()
    code, out, _ = run(capsys, "import", str(manifest), "--data-dir", d)
    assert code == 0 and "imported 30 parcels" in out

    tracking_id = manifest.read_text().splitlines()[1].split(",")[0]
    code, out, _ = run(capsys, "scan", "--json", tracking_id, "--data-dir", d)
    before = json.loads(out)
    assert before["outcome"] == "no_plan" and before["tracking_id"] == tracking_id and before["reason"]

    code, out, _ = run(capsys, "plan", "--time-limit", "1", "--json", "--data-dir", d)
    plan = json.loads(out)
    assert code == 0 and sum(r["parcels"] for r in plan["routes"]) + len(plan["unplanned"]) == 30

    code, out, _ = run(capsys, "scan", "--json", tracking_id, "--data-dir", d)
    decision = json.loads(out)
    assert decision["outcome"] == "sorted"
    assert {"outcome", "code", "tracking_id", "lane", "van", "stop", "reason", "event_id"} <= decision.keys()
    assert isinstance(decision["lane"], int) and decision["van"].startswith("V") and decision["stop"] >= 1
    labels = list((tmp_path / "data" / "labels").glob("*.zpl"))
    assert len(labels) == 1 and code128_data(labels[0].read_bytes()) == [tracking_id]  # the barcode, as printed

    code, out, _ = run(capsys, "scan", "--json", tracking_id, "--data-dir", d)
    assert json.loads(out)["outcome"] == "repeat"
    code, out, _ = run(capsys, "scan", "--json", "not-a-parcel", "--data-dir", d)
    assert json.loads(out)["outcome"] in ("unknown", "invalid")

    code, out, _ = run(capsys, "report", "--json", "--data-dir", d)
    report = json.loads(out)
    assert report["sorted"] == 1 and report["manifest"] == 30 and len(report["not_scanned"]) == 29


@pytest.mark.slow  # runs the planning solver
def test_plan_lists_vans_used_and_groups_unplanned_by_reason(
    tmp_path: Path, manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(tmp_path / "data")
    assert run(capsys, "init", "--data-dir", d)[0] == 0
    rows = manifest.read_text().splitlines()
    header = rows[0].split(",")
    lat, lon = header.index("lat"), header.index("lon")
    for k in (1, 2, 3):  # three parcels with no usable coordinates: one reason, counted once
        cells = rows[k].split(",")
        cells[lat] = cells[lon] = "0"
        rows[k] = ",".join(cells)
    manifest.write_text("\n".join(rows) + "\n")
    assert run(capsys, "import", str(manifest), "--data-dir", d)[0] == 0
    code, out, _ = run(capsys, "plan", "--time-limit", "1", "--data-dir", d)
    assert code == 0
    lines = out.splitlines()
    vans = [line for line in lines if line.strip().startswith("lane")]
    assert vans and all("    0 parcels" not in line for line in vans)  # only the vans used
    assert "3 parcels not planned" in out
    grouped = [line for line in lines if "no usable coordinates" in line]
    assert len(grouped) == 1 and grouped[0].split()[0] == "3"
    code, out, _ = run(capsys, "plan", "--time-limit", "1", "--json", "--data-dir", d)
    assert len(json.loads(out)["unplanned"]) == 3


def test_a_bad_manifest_exits_1_with_line_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("tracking_id,recipient,address,postal_code,lat,lon,weight_kg\nA001,B,C,1,x,2,1\n")
    code, _, err = run(capsys, "import", str(bad), "--data-dir", str(tmp_path / "d"))
    assert code == 1 and "line 2" in err and "lat" in err


def test_run_without_a_config_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "--data-dir", str(tmp_path / "empty"))
    assert code == 2 and "station init" in err


def test_run_with_a_wrong_key_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "station.toml"
    cfg.write_text('station_id = "x"\n[hub]\nlat = 1.0\nlon = "east"\n[[vans]]\nid = "V1"\nlane = 1\ncapacity = 5\n')
    code, _, err = run(capsys, "run", "--config", str(cfg), "--data-dir", str(tmp_path))
    assert code == 2 and "hub.lon" in err


def test_the_environment_variable_picks_the_data_dir(tmp_path: Path) -> None:
    env = {**os.environ, "STATION_DATA_DIR": str(tmp_path / "envdir")}
    proc = subprocess.run(
        [sys.executable, "-m", "station", "scan", "--json", "1Z999AA10123456784"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "unknown"
    assert (tmp_path / "envdir" / "station.db").exists()


def test_the_config_picks_the_planning_backend(
    tmp_path: Path, manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from station.config import example_config_text

    d = tmp_path / "data"
    d.mkdir()
    (d / "station.toml").write_text(example_config_text().replace('backend = "auto"', 'backend = "ortools"'))
    assert run(capsys, "import", str(manifest), "--data-dir", str(d))[0] == 0
    code, out, _ = run(capsys, "plan", "--time-limit", "1", "--json", "--data-dir", str(d))
    plan = json.loads(out)
    assert code == 0 and plan["solver"] == "ortools"
    assert sum(r["parcels"] for r in plan["routes"]) == 30
