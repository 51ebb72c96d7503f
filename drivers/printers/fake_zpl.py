"""Fake ZPL printers for tests and benchmarks: loopback TCP 9100 and a pseudo-terminal.

This module owns the printers that misbehave on purpose, the way real ones and their
networks do (see :class:`Behaviour`), so the print queue can be tried without a printer:
a :class:`FakeZplTcp` listens on 127.0.0.1 and a :class:`FakeZplPty` is a serial line whose
path a :class:`~drivers.printers.serial.SerialPrinter` opens. Both record every label they
really printed (``printed``) and can be repaired (``behaviour = Behaviour.NORMAL``) mid-test.

Like a Zebra, they handle ``~HS`` at once, in stream order, and print a format when its
``^XZ`` arrives; the first ``~HS`` after a label still counts it in the receive buffer
(it is printing), the next does not. :func:`code128_data` reads a ``^BC`` field the way a
printer does, so a test can check what a label's barcode really carries.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import select
import socket
import struct
import threading
import tty
from dataclasses import replace

from drivers.printers import zpl_status
from drivers.printers.zpl_status import READY_STATUS


class Behaviour(enum.Enum):
    NORMAL = "normal"
    SILENT = "accepts, never reads, never answers ~HS"
    READ_100_CLOSE = "reads 100 bytes, then closes"
    READ_100_RESET = "reads 100 bytes, then resets"
    READ_LABEL_RESET = "reads the whole label, then resets"
    PAPER_OUT = "answers ~HS with paper out, discards the data"
    SLOW_STATUS = "slow to answer ~HS"


_PAPER_OUT = zpl_status.format_host_status(replace(READY_STATUS, paper_out=True))


class ZplEngine:
    """The printer's side of the byte stream: ``~HS`` answered, formats printed or dropped."""

    def __init__(self) -> None:
        self.behaviour = Behaviour.NORMAL
        self.slow_s = 0.3
        self.printed: list[bytes] = []
        self.received = 0  # bytes read, all connections
        self.lock = threading.Lock()
        self._printing = 0  # formats the next ~HS still reports in the buffer

    def feed(self, buffer: bytes) -> tuple[bytes, list[bytes], int]:
        """Take the complete commands at the front of ``buffer``.

        Returns (the rest, the answers to send in order, formats printed).
        """
        answers: list[bytes] = []
        printed = 0
        while True:
            hs = buffer.find(zpl_status.QUERY)
            xa = buffer.find(b"^XA")
            if hs >= 0 and (xa < 0 or hs < xa):
                buffer = buffer[hs + len(zpl_status.QUERY) :]
                answers.append(self._answer())
                continue
            if xa >= 0:
                xz = buffer.find(b"^XZ", xa)
                if xz < 0:
                    return buffer, answers, printed
                label, buffer = buffer[xa : xz + 3], buffer[xz + 3 :]
                if self.behaviour is not Behaviour.PAPER_OUT:
                    with self.lock:
                        self.printed.append(label)
                        self._printing += 1
                    printed += 1
                continue
            return buffer, answers, printed

    def _answer(self) -> bytes:
        if self.behaviour is Behaviour.PAPER_OUT:
            return _PAPER_OUT
        with self.lock:
            in_buffer, self._printing = self._printing, 0
        return zpl_status.format_host_status(replace(READY_STATUS, formats_in_buffer=in_buffer))


class FakeZplTcp(ZplEngine):
    """A ZPL printer on 127.0.0.1 (``port``), one thread per connection."""

    def __init__(self, behaviour: Behaviour = Behaviour.NORMAL) -> None:
        super().__init__()
        self.behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True, name="fake-zpl-accept")
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="fake-zpl-conn").start()

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        # SO_LINGER 0: close sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _serve(self, conn: socket.socket) -> None:
        behaviour = self.behaviour
        if behaviour is Behaviour.SILENT:
            self._held.append(conn)  # open, never read: the sender's bytes sit in the kernel
            return
        buffer = b""
        try:
            while not self._stop.is_set():
                chunk = conn.recv(4096 if behaviour not in (Behaviour.READ_100_CLOSE, Behaviour.READ_100_RESET) else 1)
                if not chunk:
                    break
                self.received += len(chunk)
                buffer += chunk
                if behaviour in (Behaviour.READ_100_CLOSE, Behaviour.READ_100_RESET):
                    if len(buffer) >= 100 or not select.select([conn], [], [], 0.5)[0]:
                        # 100 bytes, or all there is: a label never gets through, ~HS never answered.
                        if behaviour is Behaviour.READ_100_RESET:
                            self._reset(conn)
                        else:
                            conn.close()
                        return
                    continue
                buffer, answers, printed = self.feed(buffer)
                if printed and behaviour is Behaviour.READ_LABEL_RESET:
                    self._reset(conn)
                    return
                for answer in answers:
                    if behaviour is Behaviour.SLOW_STATUS:
                        self._stop.wait(self.slow_s)
                    conn.sendall(answer)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            conn.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone does not
        self._listener.close()
        for conn in self._held:
            conn.close()
        self._thread.join(5)


class FakeZplPty(ZplEngine):
    """A ZPL printer on a serial line (a pseudo-terminal; ``path`` is the port to open).

    On a line there is no connection to close or reset: "reads 100 bytes" stops reading
    after 100 bytes of each label, and "reads the whole label, then resets" prints the label
    and, rebooting, drops what follows it (the ``~HS`` that would confirm it).
    """

    def __init__(self, behaviour: Behaviour = Behaviour.NORMAL) -> None:
        # A change of behaviour waits for the reader's current turn: once set, it holds.
        self._turn = threading.Lock()
        super().__init__()
        self.behaviour = behaviour
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-zpl-pty")
        self._thread.start()

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            with self._turn:
                chunk = self._read_turn()
            if chunk is None:
                self._stop.wait(0.05)
                continue
            if not chunk:
                return
            self.received += len(chunk)
            if self.behaviour in (Behaviour.READ_100_CLOSE, Behaviour.READ_100_RESET):
                buffer = b""  # garbled: a label never completes, ~HS is lost in it
                continue
            buffer += chunk
            buffer, answers, printed = self.feed(buffer)
            if printed and self.behaviour is Behaviour.READ_LABEL_RESET:
                buffer = b""
                answers = []
                self._stop.wait(0.2)
                self._drain()
            for answer in answers:
                if self.behaviour is Behaviour.SLOW_STATUS:
                    self._stop.wait(self.slow_s)
                os.write(self.master, answer)

    @property
    def behaviour(self) -> Behaviour:
        return self._behaviour

    @behaviour.setter
    def behaviour(self, value: Behaviour) -> None:
        with self._turn:
            self._behaviour = value

    def _read_turn(self) -> bytes | None:
        """What the printer reads in one turn: None if nothing (or it does not read), b"" if closed."""
        if self._behaviour is Behaviour.SILENT:
            return None
        if not select.select([self.master], [], [], 0.05)[0]:
            return None
        try:
            return os.read(self.master, 4096)
        except OSError:
            return b""

    def _drain(self) -> None:
        while select.select([self.master], [], [], 0)[0]:
            os.read(self.master, 4096)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self.slave)


_BC_FIELD = re.compile(rb"\^BC[^\^]*\^FD(.*?)\^FS", re.S)
# Subset B characters written as invocation codes, and subset switches (ZPL II guide, ^BC).
_B_CODES = {"<": "^", "0": ">", "=": "~"}


def code128_data(label: bytes) -> list[str]:
    """What each ``^BC`` (no mode) on a label carries, decoded as a printer would."""
    out = []
    for match in _BC_FIELD.finditer(label):
        field = match.group(1).decode("ascii")
        text, subset, i = [], "B", 0
        while i < len(field):
            if field[i] == ">" and i + 1 < len(field):
                code = field[i + 1]
                i += 2
                if code == ":" or (code == "6" and subset == "C"):
                    subset = "B"
                elif code == ";" or (code == "5" and subset == "B"):
                    subset = "C"
                elif subset == "B" and code in _B_CODES:
                    text.append(_B_CODES[code])
                else:
                    raise ValueError(f"unsupported invocation code >{code} in {field!r}")
            elif subset == "C":
                text.append(field[i : i + 2])
                i += 2
            else:
                text.append(field[i])
                i += 1
        out.append("".join(text))
    return out
