"""The print queue against fake ZPL printers that misbehave (loopback TCP and a pty).

Each behaviour of issue 14's table: scans while the printer misbehaves, then the printer is
repaired; afterwards every label is printed exactly once, except where the printer read a
whole label and reset the line: those come out again marked REPRINT and are counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printers import Delivery, Printer, PrinterState
from drivers.printers.fake_zpl import Behaviour, FakeZplPty, FakeZplTcp, ZplEngine, code128_data
from drivers.printers.lp import LpPrinter
from drivers.printers.serial import SerialPrinter
from drivers.printers.tcp import TcpPrinter
from station import printing
from station.core import Station
from station.model import Parcel
from station.printing import JOBS, PrintQueue

ANSWER_S = 3.0  # generous: loopback answers in milliseconds, a slow CPU in far less than this
SCANS = 4


class FakeClock:
    """The queue's clock: the reprint pause passes when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_printer(kind: str, fake: ZplEngine) -> Printer:
    if isinstance(fake, FakeZplTcp):
        return TcpPrinter("2", "127.0.0.1", fake.port, timeout_s=ANSWER_S)
    assert isinstance(fake, FakeZplPty)
    return SerialPrinter("2", fake.path, timeout_s=ANSWER_S)


@pytest.fixture(params=["tcp", "serial"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(kind: str) -> Iterator[ZplEngine]:
    printer: FakeZplTcp | FakeZplPty = FakeZplTcp() if kind == "tcp" else FakeZplPty()
    yield printer
    printer.close()


def sort_scans(station: Station, parcels: list[Parcel], n: int) -> list[str]:
    ids = [p.tracking_id for p in parcels[:n]]
    for tid in ids:
        station.scan(tid, device="test")
    return ids


def printed_ids(fake: ZplEngine) -> list[tuple[str, bool]]:
    """(tracking id on the barcode, REPRINT on the label) for every label really printed."""
    out = []
    for label in fake.printed:
        (tid,) = code128_data(label)
        out.append((tid, b"REPRINT" in label))
    return out


@pytest.mark.parametrize("behaviour", list(Behaviour), ids=lambda b: b.name.lower())
def test_after_the_repair_every_label_is_printed_once(
    planned: Station, day: list[Parcel], kind: str, fake: ZplEngine, behaviour: Behaviour
) -> None:
    clock = FakeClock()
    fake.behaviour = behaviour
    queue = PrintQueue(planned.store, {"2": (make_printer(kind, fake), JOBS)}, confirm_timeout_s=ANSWER_S, clock=clock)
    ids = sort_scans(planned, day, SCANS)
    confirmed = queue.deliver()
    works = behaviour in (Behaviour.NORMAL, Behaviour.SLOW_STATUS)
    assert confirmed == (SCANS if works else 0)
    (report,) = queue.statuses()
    if not works:
        # The screen's words: which printer, what to do, how many labels wait.
        assert report.text.startswith("printer 2: ") and report.text.endswith(f"{SCANS} labels waiting")
        assert report.waiting == SCANS
        if behaviour is Behaviour.PAPER_OUT:
            assert report.text == f"printer 2: paper out, {SCANS} labels waiting"

    fake.behaviour = Behaviour.NORMAL  # repaired
    clock.now += 3600  # past any reprint pause
    queue.deliver()
    assert queue.pending() == 0
    report = queue.statuses()[0]
    assert report.fault is None and report.text == "printer 2 ready"

    labels = printed_ids(fake)
    first_copies = [tid for tid, reprint in labels if not reprint]
    assert sorted(set(tid for tid, _ in labels)) == sorted(ids)  # nothing lost
    reprints = [tid for tid, reprint in labels if reprint]
    counted = sum(label.possible_duplicates for label in printing.queued_labels(planned.store))
    if behaviour is Behaviour.READ_LABEL_RESET:
        # The printer printed the first label and dropped the line: it comes out again, marked.
        assert first_copies == ids and reprints == ids[:1] and counted == 1
    else:
        assert first_copies == ids and reprints == [] and counted == 0  # once each, in scan order


def test_the_screen_hears_of_the_first_failed_label_at_once(planned: Station, day: list[Parcel]) -> None:
    fake = FakeZplTcp(Behaviour.PAPER_OUT)
    try:
        queue = PrintQueue(planned.store, {"2": (make_printer("tcp", fake), JOBS)}, confirm_timeout_s=ANSWER_S)
        seen: list[str] = []
        queue.on_change = lambda: seen.append(queue.statuses()[0].text)
        sort_scans(planned, day, 1)
        queue.deliver()
        # Told from inside the delivery that failed, not at some later refresh.
        assert seen == ["printer 2: paper out, 1 label waiting"]
        sort_scans(planned, day[1:], 3)
        queue.refresh_status()
        assert queue.statuses()[0].text == "printer 2: paper out, 4 labels waiting"

        fake.behaviour = Behaviour.NORMAL
        queue.refresh_status()
        assert seen[-1] == "printer 2 is back: printing 4 labels waiting in scan order"
        assert queue.deliver() == 4
        assert seen[-1] == "printer 2 ready"
        assert [tid for tid, _ in printed_ids(fake)] == [p.tracking_id for p in day[:4]]
    finally:
        fake.close()


def test_a_label_that_may_have_printed_waits_before_its_reprint(planned: Station, day: list[Parcel]) -> None:
    fake = FakeZplTcp(Behaviour.READ_LABEL_RESET)
    clock = FakeClock()
    try:
        queue = PrintQueue(
            planned.store, {"2": (make_printer("tcp", fake), JOBS)}, confirm_timeout_s=ANSWER_S, clock=clock
        )
        sort_scans(planned, day, 3)
        for _ in range(3):
            assert queue.deliver() == 0
        # One label went out whole and the line dropped; nothing else was sent behind it.
        assert len(fake.printed) == 1
        (head, *rest) = printing.queued_labels(planned.store)
        assert head.state == "failed" and [r.state for r in rest] == ["waiting", "waiting"]
        assert "not confirmed" in (queue.statuses()[0].fault or "")
        clock.now += printing.REPRINT_PAUSE_S[0] + 1
        assert queue.deliver() == 0  # still resetting: a second copy, marked and counted
        assert [reprint for _, reprint in printed_ids(fake)] == [False, True]
        assert printing.queued_labels(planned.store)[0].possible_duplicates == 1
    finally:
        fake.close()


def test_a_printer_that_powers_off_is_offline_and_keeps_the_labels(planned: Station, day: list[Parcel]) -> None:
    fake = FakeZplTcp()
    port = fake.port
    fake.close()
    queue = PrintQueue(planned.store, {"2": (TcpPrinter("2", "127.0.0.1", port, timeout_s=ANSWER_S), JOBS)})
    sort_scans(planned, day, 2)
    assert queue.deliver() == 0
    assert queue.statuses()[0].text == "printer 2: off or unplugged, 2 labels waiting"
    assert [label.state for label in printing.queued_labels(planned.store)] == ["failed", "waiting"]


def test_print_label_outcomes_per_behaviour() -> None:
    """The driver's own verdict, with no queue: only a printer that answered is CONFIRMED."""
    label = b"^XA^FO10,10^FDx^FS^XZ"
    expected = {
        Behaviour.NORMAL: Delivery.CONFIRMED,
        Behaviour.SLOW_STATUS: Delivery.CONFIRMED,
        Behaviour.SILENT: Delivery.NOT_SENT,
        Behaviour.READ_100_CLOSE: Delivery.NOT_SENT,
        Behaviour.READ_100_RESET: Delivery.NOT_SENT,
        Behaviour.PAPER_OUT: Delivery.NOT_SENT,
        Behaviour.READ_LABEL_RESET: Delivery.UNCONFIRMED,
    }
    for behaviour, delivery in expected.items():
        fake = FakeZplTcp(behaviour)
        try:
            outcome = TcpPrinter("2", "127.0.0.1", fake.port, timeout_s=ANSWER_S).print_label(label, ANSWER_S)
        finally:
            fake.close()
        assert outcome.delivery is delivery, behaviour
        assert outcome.status.ok == (delivery is Delivery.CONFIRMED)
        if behaviour is Behaviour.PAPER_OUT:
            assert outcome.status.state is PrinterState.PAPER_OUT


def test_a_claimed_printer_is_left_alone_by_another_queue(planned: Station, day: list[Parcel], tmp_path: Path) -> None:
    fake = FakeZplTcp()
    try:
        first = PrintQueue(planned.store, {"2": (make_printer("tcp", fake), JOBS)})
        second = PrintQueue(planned.store, {"2": (make_printer("tcp", fake), JOBS)})
        sort_scans(planned, day, 2)
        assert first._claim("2", 50)  # first holds the printer's labels (as if mid-run) ...
        assert second.deliver() == 0  # ... so the second sends nothing
        assert fake.printed == []
        first._release("2")
        assert second.deliver() == 2
    finally:
        fake.close()


@pytest.mark.parametrize(
    ("behaviour", "delivery"),
    [
        (Behaviour.NORMAL, Delivery.CONFIRMED),
        (Behaviour.SLOW_STATUS, Delivery.CONFIRMED),
        (Behaviour.PAPER_OUT, Delivery.NOT_SENT),
        (Behaviour.SILENT, Delivery.NOT_SENT),
        (Behaviour.READ_LABEL_RESET, Delivery.UNCONFIRMED),
    ],
)
@pytest.mark.parametrize("kind", ["serial", "lp"])
def test_line_printers_confirm_only_what_the_printer_answered(
    kind: str, behaviour: Behaviour, delivery: Delivery
) -> None:
    fake = FakeZplPty(behaviour)
    try:
        printer: Printer = (
            SerialPrinter("2", fake.path, timeout_s=ANSWER_S)
            if kind == "serial"
            else LpPrinter("2", fake.path, ANSWER_S)
        )
        outcome = printer.print_label(b"^XA^FO10,10^FDx^FS^XZ", ANSWER_S)
    finally:
        fake.close()
    assert outcome.delivery is delivery
    assert len(fake.printed) == (0 if delivery is Delivery.NOT_SENT else 1)
