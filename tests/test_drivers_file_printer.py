"""The file printer: numbered, atomic label files; status from the directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.printers.base import PrinterError, PrinterState
from drivers.printers.file import FilePrinter


def test_writes_numbered_files(tmp_path: Path) -> None:
    printer = FilePrinter("terminal", tmp_path / "labels")
    printer.send(b"^XA^FO50,50^FDone^FS^XZ")
    printer.send(b"^XA^FDtwo^XZ")
    files = sorted(p.name for p in (tmp_path / "labels").iterdir())
    assert files == ["label-000001.zpl", "label-000002.zpl"]
    assert (tmp_path / "labels" / "label-000002.zpl").read_bytes() == b"^XA^FDtwo^XZ"
    assert printer.last_file == tmp_path / "labels" / "label-000002.zpl"


def test_numbering_resumes_after_restart(tmp_path: Path) -> None:
    FilePrinter("a", tmp_path).send(b"1")
    FilePrinter("a", tmp_path).send(b"2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["label-000001.zpl", "label-000002.zpl"]


def test_no_temp_files_left(tmp_path: Path) -> None:
    printer = FilePrinter("a", tmp_path)
    for i in range(5):
        printer.send(str(i).encode())
    assert all(p.suffix == ".zpl" for p in tmp_path.iterdir())


def test_ready_when_writable(tmp_path: Path) -> None:
    assert FilePrinter("a", tmp_path / "new").status().state is PrinterState.READY


def test_offline_and_send_fails_when_directory_cannot_exist(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    printer = FilePrinter("a", blocker / "labels")
    assert printer.status().state is PrinterState.OFFLINE
    with pytest.raises(PrinterError, match="cannot write"):
        printer.send(b"^XA^XZ")
