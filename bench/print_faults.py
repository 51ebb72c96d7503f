"""Benchmark: issue 14's experiment, the print queue against misbehaving ZPL printers.

For each behaviour of :class:`drivers.printers.fake_zpl.Behaviour` (loopback TCP 9100):
N sort scans, each followed by a delivery as the dock screen does (the queue's clock moves
one second per scan, so the reprint pause plays out as at a dock), then the printer is
repaired and the queue delivered again. Prints, per behaviour: labels the station counted as
printed (confirmed), labels the printer really printed, ids lost, ids printed twice, of those
the copies marked REPRINT and the station's count of possible duplicates, and how long after
the first scan the screen was told of the fault, with the words it showed. Then the time
``station scan`` takes to print its decision with a printer that never answers.

    python bench/print_faults.py [--scans 20] [--kind tcp|serial]
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from drivers.printers import Printer
from drivers.printers.fake_zpl import Behaviour, FakeZplPty, FakeZplTcp, code128_data
from drivers.printers.serial import SerialPrinter
from drivers.printers.tcp import TcpPrinter
from station import printing
from station.config import example_config_text, load_config
from station.core import Station
from station.demo_day import generate_day
from station.model import Plan, Route
from station.printing import JOBS, PrintQueue

ANSWER_S = 0.5  # loopback answers in microseconds; short so the silent printers keep the run short


def plan_for(station: Station) -> Plan:
    vans = station.config.vans
    ids = [p.tracking_id for p in station.parcels()]
    routes = tuple(
        Route(van_id=v.id, lane=v.lane, stops=tuple((t,) for t in ids[i :: len(vans)]), km=1, minutes=1, load=1)
        for i, v in enumerate(vans)
        if ids[i :: len(vans)]
    )
    return Plan(routes=routes, unplanned={}, cost=1.0, solver="bench")


def one_behaviour(behaviour: Behaviour, scans: int, kind: str, workdir: Path) -> dict[str, object]:
    data_dir = workdir / behaviour.name.lower()
    config = load_config(None, data_dir)
    station = Station.open(config)
    parcels = generate_day(config.hub, parcels=scans, seed=14)
    station.replace_manifest(parcels, version="bench")
    station.save_plan(plan_for(station))
    fake: FakeZplTcp | FakeZplPty
    printer: Printer
    if kind == "tcp":
        fake = FakeZplTcp(behaviour)
        printer = TcpPrinter("2", "127.0.0.1", fake.port, timeout_s=2.0, answer_timeout_s=ANSWER_S)
    else:
        fake = FakeZplPty(behaviour)
        printer = SerialPrinter("2", fake.path, timeout_s=2.0, answer_timeout_s=ANSWER_S)
    now = [1_000_000.0]
    queue = PrintQueue(station.store, {"2": (printer, JOBS)}, confirm_timeout_s=2.0, clock=lambda: now[0])
    told: list[tuple[float, str]] = []
    first_scan = [0.0]

    def on_change() -> None:
        report = queue.statuses()[0]
        if report.fault and not told:
            told.append((time.monotonic() - first_scan[0], report.text))

    queue.on_change = on_change
    confirmed = 0
    try:
        for i, parcel in enumerate(parcels):
            if i == 0:
                first_scan[0] = time.monotonic()
            station.scan(parcel.tracking_id, device="bench")
            confirmed += queue.deliver()
            now[0] += 1.0
        fault_text = queue.statuses()[0].text
        fake.behaviour = Behaviour.NORMAL  # repaired
        now[0] += 3600
        after = queue.deliver()
        labels = printing.queued_labels(station.store)
    finally:
        fake.close()
        queue.close()
        station.close()
    copies = Counter(tid for label in fake.printed for tid in code128_data(label))
    ids = [p.tracking_id for p in parcels]
    return {
        "behaviour": behaviour.value,
        "marked printed during the fault": confirmed,
        "marked printed in all": confirmed + after,
        "really printed": len(fake.printed),
        "lost": sum(1 for t in ids if copies[t] == 0),
        "printed twice": sum(1 for t in ids if copies[t] > 1),
        "REPRINT copies": sum(1 for label in fake.printed if b"REPRINT" in label),
        "counted duplicates": sum(label.possible_duplicates for label in labels),
        "fault shown after": f"{told[0][0]:.2f} s" if told else "-",
        "screen said": told[0][1] if told else fault_text,
    }


def scan_latency(workdir: Path, silent_printer: bool) -> tuple[float, float]:
    """`station scan`: seconds to its decision line, and to its exit.

    With a printer that accepts and never answers, or (the baseline: process start, imports,
    database) with the file printer.
    """
    fake = FakeZplTcp(Behaviour.SILENT)
    try:
        data_dir = workdir / f"cli-{silent_printer}"
        data_dir.mkdir()
        text = example_config_text()
        if silent_printer:
            start = text.index("[[printers]]")
            end = text.index("\n\n", start)
            printer = f'[[printers]]\nname = "2"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {fake.port}\n'
            text = text[:start] + printer + text[end:]
        (data_dir / "station.toml").write_text(text, encoding="utf-8")
        config = load_config(data_dir / "station.toml", data_dir)
        station = Station.open(config)
        parcels = generate_day(config.hub, parcels=5, seed=14)
        station.replace_manifest(parcels, version="bench")
        station.save_plan(plan_for(station))
        station.close()
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "station", "scan", parcels[0].tracking_id, "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        decided = time.monotonic() - began
        proc.wait(60)
        return decided, time.monotonic() - began
    finally:
        fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--kind", choices=("tcp", "serial"), default="tcp")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the queue's warnings are the point of the run, not its output
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for behaviour in Behaviour:
            rows.append(one_behaviour(behaviour, args.scans, args.kind, Path(tmp)))
        latency = [scan_latency(Path(tmp), silent) for silent in (False, True)] if args.kind == "tcp" else []
    columns = list(rows[0])
    print(f"{args.scans} sort scans per behaviour ({args.kind}), delivery after each scan, then the repair\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    print()
    for (decided, done), printer in zip(latency, ("file printer", "printer that never answers"), strict=True):
        print(f"station scan, {printer}: decision printed after {decided:.2f} s, command done after {done:.2f} s")


if __name__ == "__main__":
    main()
