"""The 9100 printer against a local socket server that behaves like a Zebra."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest

from drivers.printers.base import PrinterError, PrinterState
from drivers.printers.tcp import TcpPrinter
from drivers.printers.zpl_status import READY_STATUS, HostStatus, format_host_status


class FakeZebra:
    """Accepts one connection at a time; answers ~HS unless paper is out (like a Zebra)."""

    def __init__(self, status: HostStatus = READY_STATUS, answers: bool = True) -> None:
        self.status = status
        self.answers = answers
        self.received: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while True:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if data.endswith(b"~HS"):
                        if self.answers:
                            conn.sendall(format_host_status(self.status))
                        else:
                            # Stay silent and keep the connection open, like a printer with paper out.
                            conn.recv(4096)
                        break
                self.received.append(data)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def zebra() -> Iterator[FakeZebra]:
    fake = FakeZebra()
    yield fake
    fake.close()


def test_send_delivers_the_payload(zebra: FakeZebra) -> None:
    printer = TcpPrinter("bay-3", "127.0.0.1", zebra.port, timeout_s=5)
    printer.send(b"^XA^FO50,50^FDLANE 7^FS^XZ")
    printer.send(b"^XA^XZ")
    deadline = 100
    while len(zebra.received) < 2 and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    assert zebra.received == [b"^XA^FO50,50^FDLANE 7^FS^XZ", b"^XA^XZ"]


def test_status_ready(zebra: FakeZebra) -> None:
    status = TcpPrinter("bay-3", "127.0.0.1", zebra.port, timeout_s=5).status()
    assert status.state is PrinterState.READY


def test_status_paused_from_answer(zebra: FakeZebra) -> None:
    zebra.status = dataclasses.replace(READY_STATUS, paused=True)
    assert TcpPrinter("bay-3", "127.0.0.1", zebra.port, timeout_s=5).status().state is PrinterState.PAUSED


def test_paper_out_with_answer() -> None:
    zebra = FakeZebra(dataclasses.replace(READY_STATUS, paper_out=True))
    try:
        assert TcpPrinter("p", "127.0.0.1", zebra.port, timeout_s=5).status().state is PrinterState.PAPER_OUT
    finally:
        zebra.close()


def test_reachable_but_silent_is_fault_not_offline() -> None:
    zebra = FakeZebra(answers=False)
    try:
        status = TcpPrinter("p", "127.0.0.1", zebra.port, timeout_s=0.5).status()
        assert status.state is PrinterState.FAULT
        assert "no answer" in status.detail
    finally:
        zebra.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connecting is refused


def test_refused_is_offline_and_send_raises() -> None:
    printer = TcpPrinter("p", "127.0.0.1", free_port(), timeout_s=2)
    assert printer.status().state is PrinterState.OFFLINE
    with pytest.raises(PrinterError, match="127.0.0.1"):
        printer.send(b"^XA^XZ")
