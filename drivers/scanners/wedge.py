"""Keyboard-wedge decoding: key events in, scanned text out. Pure, no device I/O.

This module owns turning the key presses a USB HID "keyboard wedge" scanner types into the
characters it meant, so it can be tested with recorded event sequences (``tests/
test_drivers_wedge.py``) and reused by any source of key events. The I/O side (opening,
grabbing, hot-plug) is ``drivers.scanners.hid``.

What a scanner types, and how it is decoded:

* printable characters as key presses on the layout the scanner is set to (US by default;
  :func:`make_layout` takes per-key overrides), with Shift held for shifted characters and
  Caps Lock toggling the case of letters only, as on a PC;
* control characters as Ctrl+key: GS (0x1D, the FNC1 of GS1 codes) is Ctrl+], RS Ctrl+^,
  EOT Ctrl+D;
* any character as an Alt+numpad sequence (Alt held, decimal code on the keypad, Alt
  released): Alt 0 2 9 is GS. A leading 0 means the Windows ANSI code page (cp1252), no
  leading 0 the OEM code page (cp437), for codes above 127;
* the scan ends on the terminator key (Enter by default, keypad Enter too) or, if
  ``idle_gap_s`` is set, after that long without a key.

A partial scan that sees no key for ``stale_s`` while waiting for a terminator is dropped
(a scanner types a whole barcode in well under a second: it was cut short), never glued
onto the next scan. Scans are returned as UTF-8 bytes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from evdev import ecodes

KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2


class Terminator(enum.Enum):
    ENTER = "enter"
    TAB = "tab"
    NONE = "none"  # idle gap only


# (unshifted, shifted) per key on a US layout.
_US_NAMES: dict[str, tuple[str, str]] = {
    **{f"KEY_{c}": (c.lower(), c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{f"KEY_{d}": (d, s) for d, s in zip("1234567890", "!@#$%^&*()", strict=True)},
    "KEY_MINUS": ("-", "_"),
    "KEY_EQUAL": ("=", "+"),
    "KEY_LEFTBRACE": ("[", "{"),
    "KEY_RIGHTBRACE": ("]", "}"),
    "KEY_BACKSLASH": ("\\", "|"),
    "KEY_SEMICOLON": (";", ":"),
    "KEY_APOSTROPHE": ("'", '"'),
    "KEY_GRAVE": ("`", "~"),
    "KEY_COMMA": (",", "<"),
    "KEY_DOT": (".", ">"),
    "KEY_SLASH": ("/", "?"),
    "KEY_SPACE": (" ", " "),
    # Keypad, with Num Lock on (scanners that type digits on the keypad assume it).
    **{f"KEY_KP{d}": (d, d) for d in "0123456789"},
    "KEY_KPMINUS": ("-", "-"),
    "KEY_KPPLUS": ("+", "+"),
    "KEY_KPASTERISK": ("*", "*"),
    "KEY_KPSLASH": ("/", "/"),
    "KEY_KPDOT": (".", "."),
}

Layout = Mapping[int, tuple[str, str]]


def _code(name: str) -> int:
    code = ecodes.ecodes.get(name)
    if not isinstance(code, int) or not name.startswith("KEY_"):
        raise ValueError(f"unknown key name {name!r} (use evdev names such as KEY_Z)")
    return code


US_LAYOUT: Layout = {_code(name): chars for name, chars in _US_NAMES.items()}


def make_layout(overrides: Mapping[str, str] | None = None, base: Layout = US_LAYOUT) -> dict[int, tuple[str, str]]:
    """The base layout with per-key overrides: ``{"KEY_Z": "y Y"}`` (or ``"yY"``, or ``"y"``)."""
    layout = dict(base)
    for name, chars in (overrides or {}).items():
        if len(chars) == 3 and chars[1] == " ":
            pair = (chars[0], chars[2])
        elif len(chars) == 2:
            pair = (chars[0], chars[1])
        elif len(chars) == 1:
            pair = (chars, chars.upper())
        else:
            raise ValueError(f"{name}: expected 'unshifted shifted' characters such as 'y Y', got {chars!r}")
        layout[_code(name)] = pair
    return layout


_SHIFT = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
_CTRL = {ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL}
_ALT = {ecodes.KEY_LEFTALT, ecodes.KEY_RIGHTALT}
_KEYPAD_DIGITS = {getattr(ecodes, f"KEY_KP{d}"): d for d in "0123456789"}
_TERMINATOR_KEYS = {
    Terminator.ENTER: {ecodes.KEY_ENTER, ecodes.KEY_KPENTER},
    Terminator.TAB: {ecodes.KEY_TAB},
    Terminator.NONE: set(),
}
# Ctrl+<char> gives <char> & 0x1F for these (Ctrl+] is GS 0x1D).
_CONTROLLABLE = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_"


def alt_numpad_char(digits: str) -> str:
    """The character an Alt+numpad sequence types, as Windows does it."""
    value = int(digits) % 256
    if value < 128:
        return chr(value)
    codec = "cp1252" if digits.startswith("0") else "cp437"
    try:
        return bytes([value]).decode(codec)
    except UnicodeDecodeError:  # the few cp1252 holes
        return chr(value)


class WedgeDecoder:
    """One scanner's keyboard state; feed it key events, get finished scans back.

    ``feed`` takes an evdev key code, a value (0 up, 1 down, 2 autorepeat) and a time in
    seconds (event or monotonic time; only differences matter).
    """

    def __init__(
        self,
        layout: Layout = US_LAYOUT,
        terminator: Terminator = Terminator.ENTER,
        idle_gap_s: float = 0.0,
        stale_s: float = 2.0,
    ) -> None:
        if terminator is Terminator.NONE and idle_gap_s <= 0:
            raise ValueError("a scanner without a terminator key needs idle_gap_s > 0")
        self.layout = layout
        self.terminator = terminator
        self.idle_gap_s = idle_gap_s
        self.stale_s = stale_s
        self._end_keys = _TERMINATOR_KEYS[terminator]
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._caps = False
        self._alt_digits = ""
        self._text: list[str] = []
        self._last_key_at: float | None = None
        self.dropped: list[str] = []  # stale partial scans, for the log

    @property
    def pending(self) -> str:
        return "".join(self._text)

    def reset(self) -> str:
        """Forget everything (device reopened); return the partial scan that was dropped."""
        partial = self.pending
        self._shift.clear()
        self._ctrl.clear()
        self._alt.clear()
        self._caps = False
        self._alt_digits = ""
        self._text.clear()
        self._last_key_at = None
        return partial

    def expire(self, now: float) -> bytes | None:
        """End or drop an idle partial scan; returns a scan when an idle gap ends one."""
        if not self._text or self._last_key_at is None:
            return None
        idle = now - self._last_key_at
        if self.idle_gap_s > 0 and idle >= self.idle_gap_s:
            return self._finish()
        if self.idle_gap_s <= 0 and idle >= self.stale_s:
            self.dropped.append(self.pending)
            self._text.clear()
        return None

    def _finish(self) -> bytes | None:
        text = self.pending
        self._text.clear()
        return text.encode("utf-8") if text else None

    def feed(self, code: int, value: int, now: float) -> list[bytes]:
        """Process one EV_KEY event; return the scans it finished (zero, one, or two)."""
        scans: list[bytes] = []
        if value == KEY_DOWN or value == KEY_REPEAT:
            earlier = self.expire(now)
            if earlier is not None:
                scans.append(earlier)
            self._last_key_at = now
        if code in _SHIFT:
            self._toggle_held(self._shift, code, value)
        elif code in _CTRL:
            self._toggle_held(self._ctrl, code, value)
        elif code in _ALT:
            self._toggle_held(self._alt, code, value)
            if value == KEY_UP and not self._alt and self._alt_digits:
                self._text.append(alt_numpad_char(self._alt_digits))
                self._alt_digits = ""
        elif value == KEY_UP:
            pass
        elif code == ecodes.KEY_CAPSLOCK:
            if value == KEY_DOWN:  # autorepeat of Caps Lock does not toggle again
                self._caps = not self._caps
        elif code in self._end_keys:
            scan = self._finish()
            if scan is not None:
                scans.append(scan)
        elif self._alt:
            if code in _KEYPAD_DIGITS and value == KEY_DOWN:
                self._alt_digits += _KEYPAD_DIGITS[code]
            # Other Alt+key chords are menu shortcuts, not characters.
        elif code in self.layout:
            self._type(code)
        return scans

    @staticmethod
    def _toggle_held(held: set[int], code: int, value: int) -> None:
        if value == KEY_UP:
            held.discard(code)
        else:
            held.add(code)

    def _type(self, code: int) -> None:
        unshifted, shifted = self.layout[code]
        char = shifted if self._shift else unshifted
        if self._caps and unshifted.isalpha():
            char = unshifted if self._shift else shifted
        if self._ctrl:
            base = (shifted if self._shift else unshifted).upper()
            if len(base) == 1 and base in _CONTROLLABLE:
                self._text.append(chr(ord(base) & 0x1F))
            return  # Ctrl with anything else types nothing
        self._text.append(char)
