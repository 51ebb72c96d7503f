"""~HS answers to printer states; the parser never raises anything but ZplStatusError."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.printers.base import PrinterState
from drivers.printers.zpl_status import (
    NO_ANSWER,
    READY_STATUS,
    HostStatus,
    ZplStatusError,
    format_host_status,
    is_complete,
    parse_host_status,
    status_from_answer,
)

# Captured from a ZD420 (direct thermal, tear-off), paper loaded.
ZD420_READY = (
    b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"
)


def test_ready_answer() -> None:
    status = parse_host_status(ZD420_READY)
    assert status == READY_STATUS
    assert status.printer_status().state is PrinterState.READY
    assert is_complete(ZD420_READY)


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ({"paper_out": True}, PrinterState.PAPER_OUT),
        ({"paused": True}, PrinterState.PAUSED),
        ({"head_up": True}, PrinterState.HEAD_OPEN),
        ({"buffer_full": True}, PrinterState.BUFFER_FULL),
        ({"ribbon_out": True, "thermal_transfer": True}, PrinterState.RIBBON_OUT),
        ({"ribbon_out": True}, PrinterState.READY),  # direct thermal: no ribbon to run out
        ({"over_temperature": True}, PrinterState.FAULT),
        ({"under_temperature": True}, PrinterState.FAULT),
        ({"corrupt_ram": True}, PrinterState.FAULT),
    ],
)
def test_each_flag(change: dict[str, bool], state: PrinterState) -> None:
    answer = format_host_status(dataclasses.replace(READY_STATUS, **change))
    assert status_from_answer(answer).state is state


def test_head_open_wins_over_paper_out_and_detail_lists_both() -> None:
    answer = format_host_status(dataclasses.replace(READY_STATUS, paper_out=True, head_up=True, paused=True))
    status = status_from_answer(answer)
    assert status.state is PrinterState.HEAD_OPEN
    assert "paper out" in status.detail and "paused" in status.detail


def test_no_answer_is_a_fault_not_offline() -> None:
    assert status_from_answer(b"") is NO_ANSWER
    assert NO_ANSWER.state is PrinterState.FAULT


@pytest.mark.parametrize(
    "answer",
    [
        b"\x02030,0,0,1218\x03\r\n",  # too few fields
        b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n",  # one string of three
        b"\x02030,X,0,1218,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,0,2,6,0,00000000,1,000\x03\r\n",
        b"\x02030,0,0,1218,000,0,0,0,000,0,0,0",  # no ETX
        b"garbage",
    ],
)
def test_malformed_answers(answer: bytes) -> None:
    with pytest.raises(ZplStatusError):
        parse_host_status(answer)
    assert status_from_answer(answer).state is PrinterState.FAULT


@given(
    st.builds(
        HostStatus,
        label_length_dots=st.integers(0, 9999),
        formats_in_buffer=st.integers(0, 999),
        labels_remaining=st.integers(0, 99_999_999),
    )
)
def test_round_trip(status: HostStatus) -> None:
    assert parse_host_status(format_host_status(status)) == status


@given(st.binary(max_size=120))
def test_parser_only_raises_its_own_error(data: bytes) -> None:
    try:
        parse_host_status(data)
    except ZplStatusError:
        pass
