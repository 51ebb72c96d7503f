"""Keyboard-wedge decoding from recorded evdev event sequences (real key codes)."""

from __future__ import annotations

# ruff: noqa: E402 - everything below needs evdev, which may be absent (no compiler)
import pytest

pytest.importorskip("evdev", reason="evdev is not installed (it needs gcc to build): pip install '.[hid]'")

from evdev import InputEvent, ecodes
from hypothesis import given
from hypothesis import strategies as st

from drivers.scanners.wedge import (
    KEY_DOWN,
    KEY_REPEAT,
    KEY_UP,
    US_LAYOUT,
    Terminator,
    WedgeDecoder,
    alt_numpad_char,
    make_layout,
)

E = ecodes
GS = "\x1d"

# What `evtest` shows for a Honeywell Voyager typing "Ab1" + Enter: each key is MSC_SCAN,
# the key down, SYN, MSC_SCAN, the key up, SYN; Shift wraps the capital letter.
RECORDED_AB1_ENTER = [
    (E.EV_MSC, E.MSC_SCAN, 0x700E1), (E.EV_KEY, E.KEY_LEFTSHIFT, 1), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x70004), (E.EV_KEY, E.KEY_A, 1), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x70004), (E.EV_KEY, E.KEY_A, 0), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x700E1), (E.EV_KEY, E.KEY_LEFTSHIFT, 0), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x70005), (E.EV_KEY, E.KEY_B, 1), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x70005), (E.EV_KEY, E.KEY_B, 0), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x7001E), (E.EV_KEY, E.KEY_1, 1), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x7001E), (E.EV_KEY, E.KEY_1, 0), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x70028), (E.EV_KEY, E.KEY_ENTER, 1), (E.EV_SYN, 0, 0),
    (E.EV_MSC, E.MSC_SCAN, 0x70028), (E.EV_KEY, E.KEY_ENTER, 0), (E.EV_SYN, 0, 0),
]  # fmt: skip


def play(
    decoder: WedgeDecoder, events: list[tuple[int, int, int]], start: float = 0.0, step: float = 0.002
) -> list[bytes]:
    """Feed (type, code, value) events as a device would deliver them, EV_KEY only."""
    scans: list[bytes] = []
    for i, (etype, code, value) in enumerate(events):
        event = InputEvent(0, 0, etype, code, value)
        if event.type == E.EV_KEY:
            scans += decoder.feed(event.code, event.value, start + i * step)
    return scans


def tap(code: int) -> list[tuple[int, int, int]]:
    return [(E.EV_KEY, code, KEY_DOWN), (E.EV_SYN, 0, 0), (E.EV_KEY, code, KEY_UP), (E.EV_SYN, 0, 0)]


def held(modifier: int, *codes: int) -> list[tuple[int, int, int]]:
    events = [(E.EV_KEY, modifier, KEY_DOWN)]
    for code in codes:
        events += tap(code)
    return events + [(E.EV_KEY, modifier, KEY_UP)]


_CHAR_KEYS = {chars[0]: (code, False) for code, chars in US_LAYOUT.items() if code < E.KEY_KP7}
_CHAR_KEYS.update({chars[1]: (code, True) for code, chars in US_LAYOUT.items() if code < E.KEY_KP7})


def typed(text: str, end: int = E.KEY_ENTER) -> list[tuple[int, int, int]]:
    """The events a US-layout scanner sends for ``text`` (GS as Ctrl+])."""
    events: list[tuple[int, int, int]] = []
    for char in text:
        if char == GS:
            events += held(E.KEY_LEFTCTRL, E.KEY_RIGHTBRACE)
            continue
        code, shift = _CHAR_KEYS[char]
        events += held(E.KEY_LEFTSHIFT, code) if shift else tap(code)
    return events + tap(end)


def alt_numpad(value: str) -> list[tuple[int, int, int]]:
    return held(E.KEY_LEFTALT, *(getattr(E, f"KEY_KP{d}") for d in value))


def test_recorded_sequence_with_shift() -> None:
    assert play(WedgeDecoder(), RECORDED_AB1_ENTER) == [b"Ab1"]


def test_caps_lock_inverts_letters_only() -> None:
    events = tap(E.KEY_CAPSLOCK) + tap(E.KEY_A) + held(E.KEY_RIGHTSHIFT, E.KEY_B) + tap(E.KEY_1)
    events += tap(E.KEY_CAPSLOCK) + tap(E.KEY_C) + tap(E.KEY_ENTER)
    assert play(WedgeDecoder(), events) == [b"Ab1c"]


def test_gs_as_ctrl_right_bracket() -> None:
    events = typed("0109501101530003")[:-4] + held(E.KEY_LEFTCTRL, E.KEY_RIGHTBRACE) + typed("10ABC")
    assert play(WedgeDecoder(), events) == [f"0109501101530003{GS}10ABC".encode()]


def test_gs_as_alt_numpad_029_and_0029() -> None:
    events = typed("01")[:-4] + alt_numpad("029") + typed("21")[:-4] + alt_numpad("0029") + typed("X")
    assert play(WedgeDecoder(), events) == [f"01{GS}21{GS}X".encode()]


def test_every_character_as_alt_numpad() -> None:
    # Some scanners type everything as Alt+numpad, layout-independent.
    events: list[tuple[int, int, int]] = []
    for char in "]C1Zé":
        events += alt_numpad(f"0{char.encode('cp1252')[0]:03d}")
    events += tap(E.KEY_KPENTER)
    assert play(WedgeDecoder(), events) == ["]C1Zé".encode()]


def test_alt_numpad_code_pages() -> None:
    assert alt_numpad_char("29") == GS
    assert alt_numpad_char("0233") == "é"  # cp1252
    assert alt_numpad_char("130") == "é"  # cp437


def test_other_control_characters() -> None:
    events = held(E.KEY_LEFTCTRL, E.KEY_D) + [
        (E.EV_KEY, E.KEY_LEFTCTRL, KEY_DOWN),
        (E.EV_KEY, E.KEY_LEFTSHIFT, KEY_DOWN),
    ]
    events += tap(E.KEY_6) + [(E.EV_KEY, E.KEY_LEFTSHIFT, KEY_UP), (E.EV_KEY, E.KEY_LEFTCTRL, KEY_UP)]
    events += tap(E.KEY_ENTER)
    assert play(WedgeDecoder(), events) == [b"\x04\x1e"]


def test_alt_with_other_keys_types_nothing() -> None:
    assert play(WedgeDecoder(), held(E.KEY_LEFTALT, E.KEY_F) + typed("7")) == [b"7"]


def test_empty_enter_is_no_scan_and_autorepeat_types_again() -> None:
    events = (
        tap(E.KEY_ENTER)
        + [(E.EV_KEY, E.KEY_A, KEY_DOWN), (E.EV_KEY, E.KEY_A, KEY_REPEAT), (E.EV_KEY, E.KEY_A, KEY_UP)]
        + tap(E.KEY_ENTER)
    )
    assert play(WedgeDecoder(), events) == [b"aa"]


def test_tab_terminator() -> None:
    decoder = WedgeDecoder(terminator=Terminator.TAB)
    assert play(decoder, typed("AB", end=E.KEY_TAB) + typed("C", end=E.KEY_ENTER)[:-4] + tap(E.KEY_TAB)) == [
        b"AB",
        b"C",
    ]


def test_idle_gap_ends_a_scan_without_terminator() -> None:
    decoder = WedgeDecoder(terminator=Terminator.NONE, idle_gap_s=0.3)
    assert play(decoder, typed("123")[:-4], start=0.0) == []
    assert decoder.expire(0.1) is None
    assert decoder.expire(5.0) == b"123"
    # A key after a gap also ends the scan before it.
    play(decoder, typed("45")[:-4], start=10.0)
    assert play(decoder, typed("6")[:-4], start=20.0) == [b"45"]


def test_stale_partial_is_dropped_not_glued() -> None:
    decoder = WedgeDecoder(stale_s=1.0)
    assert play(decoder, typed("BROKEN")[:-4], start=0.0) == []
    assert play(decoder, typed("GOOD"), start=5.0) == [b"GOOD"]
    assert decoder.dropped == ["BROKEN"]


def test_no_terminator_needs_idle_gap() -> None:
    with pytest.raises(ValueError, match="idle_gap_s"):
        WedgeDecoder(terminator=Terminator.NONE)


def test_layout_overrides_german_scanner() -> None:
    decoder = WedgeDecoder(make_layout({"KEY_Z": "y Y", "KEY_Y": "zZ"}))
    # A scanner set to German types "Zy" with the keys US calls Y and Z.
    events = held(E.KEY_LEFTSHIFT, E.KEY_Y) + tap(E.KEY_Z) + tap(E.KEY_ENTER)
    assert play(decoder, events) == [b"Zy"]


@pytest.mark.parametrize("overrides", [{"KEY_NOPE": "a"}, {"BTN_LEFT": "a"}, {"KEY_Z": "abcd"}])
def test_bad_layout(overrides: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        make_layout(overrides)


def test_two_scanners_interleaved_keep_their_own_state() -> None:
    """Two scanners typing at once: events interleave, but each decoder has its own Shift."""
    terminal, bay = WedgeDecoder(), WedgeDecoder()
    a, b = typed("1Z999AA1"), typed("jjd0001")
    out: dict[str, list[bytes]] = {"terminal": [], "bay": []}
    for i in range(max(len(a), len(b))):
        for name, decoder, events in (("terminal", terminal, a), ("bay", bay, b)):
            if i < len(events) and events[i][0] == E.EV_KEY:
                out[name] += decoder.feed(events[i][1], events[i][2], i * 0.001)
    assert out == {"terminal": [b"1Z999AA1"], "bay": [b"jjd0001"]}


_TYPABLE = "".join(sorted(_CHAR_KEYS)) + GS


@given(st.text(alphabet=_TYPABLE, min_size=1, max_size=40))
def test_anything_typed_is_decoded_back(text: str) -> None:
    assert play(WedgeDecoder(), typed(text)) == [text.encode()]
