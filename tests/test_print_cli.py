"""`station scan` says its decision before any printer I/O; `station print-queue` lists and delivers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drivers.printers.fake_zpl import Behaviour, FakeZplTcp
from station.cli import main
from station.config import example_config_text, load_config
from station.core import Station
from station.demo_day import generate_day
from station.model import Parcel
from tests.conftest import round_robin_plan


def data_dir_with_printer(tmp_path: Path, port: int) -> tuple[Path, list[Parcel]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    text = example_config_text()
    start = text.index("[[printers]]")
    end = text.index("\n\n", start)
    printer = f'[[printers]]\nname = "2"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\ntimeout_s = 5.0\n'
    (data_dir / "station.toml").write_text(text[:start] + printer + text[end:], encoding="utf-8")
    config = load_config(data_dir / "station.toml", data_dir)
    parcels = generate_day(config.hub, parcels=6, seed=4)
    station = Station.open(config)
    station.replace_manifest(parcels, version="t")
    station.save_plan(round_robin_plan(config, parcels))
    station.close()
    return data_dir, parcels


def test_scan_prints_its_decision_before_the_printer_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, parcels = data_dir_with_printer(tmp_path, 9)  # nothing listens: the printer is off
    seen_before_printing: list[str] = []

    def deliver_now(*args: Any, **kwargs: Any) -> int:
        seen_before_printing.append(capsys.readouterr().out)
        return 0

    monkeypatch.setattr("station.devices.deliver_now", deliver_now)
    assert main(["scan", "--json", parcels[0].tracking_id, "--data-dir", str(data_dir)]) == 0
    (out,) = seen_before_printing
    assert json.loads(out)["tracking_id"] == parcels[0].tracking_id


def test_print_queue_lists_waiting_labels_then_delivers_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeZplTcp(Behaviour.PAPER_OUT)
    try:
        data_dir, parcels = data_dir_with_printer(tmp_path, fake.port)
        for parcel in parcels[:3]:
            assert main(["scan", parcel.tracking_id, "--data-dir", str(data_dir)]) == 0
        capsys.readouterr()
        assert main(["print-queue", "--json", "--data-dir", str(data_dir)]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [label["tracking_id"] for label in listed["labels"]] == [p.tracking_id for p in parcels[:3]]
        # The first label met the fault; the others wait behind it, in scan order.
        assert [label["state"] for label in listed["labels"]] == ["failed", "waiting", "waiting"]
        assert "paper out" in listed["labels"][0]["last_error"]

        fake.behaviour = Behaviour.NORMAL
        assert main(["print-queue", "--deliver", "--data-dir", str(data_dir)]) == 0
        out = capsys.readouterr().out
        assert "3 labels printed and confirmed" in out and "0 waiting" in out
        assert len(fake.printed) == 3
    finally:
        fake.close()
