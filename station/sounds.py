"""The station's four feedback sounds, generated from code (nothing downloaded).

Owns what each outcome class sounds like, made to be told apart over a dock's noise without
looking: different pitch, rhythm and length, built from square-ish waves (odd harmonics, which
carry further than a sine from a small speaker), 16-bit mono at 22,050 Hz.

* ``good`` (sorted, loaded, a command taken): one short high chirp, 0.1 s.
* ``repeat`` (already sorted / already loaded): two medium blips.
* ``problem`` (unknown, unreadable, no plan, cancelled, exception): a falling low two-tone, 0.45 s.
* ``wrong_van`` (mis-load): a fast high-low siren, 0.8 s; the station repeats it until the
  next scan at that bay.

The WAV files in ``station/data/`` are these sounds at full volume, for trying a speaker with
``aplay`` before the station runs; ``python -m station.sounds DIR`` writes them again, and a test
checks they match this code.
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array
from pathlib import Path

RATE = 22_050
CLASSES = ("good", "repeat", "problem", "wrong_van")
_FADE_S = 0.004  # a few ms of fade in and out: no click at either end

# (frequency in Hz, or 0 for silence; seconds) per class
_PATTERNS: dict[str, tuple[tuple[float, float], ...]] = {
    "good": ((2093.0, 0.10),),
    "repeat": ((1319.0, 0.07), (0.0, 0.06), (1319.0, 0.07)),
    "problem": ((523.0, 0.20), (0.0, 0.05), (392.0, 0.20)),
    "wrong_van": ((1568.0, 0.10), (988.0, 0.10)) * 4,
}


def _tone(freq: float, seconds: float, amplitude: float) -> list[float]:
    n = int(RATE * seconds)
    if freq <= 0:
        return [0.0] * n
    fade = max(1, int(RATE * _FADE_S))
    out = []
    for i in range(n):
        t = i / RATE
        # A square wave's first three odd harmonics: loud and buzzy, not harsh.
        x = sum(math.sin(2 * math.pi * freq * k * t) / k for k in (1, 3, 5)) / 1.2
        envelope = min(1.0, i / fade, (n - 1 - i) / fade)
        out.append(amplitude * envelope * x)
    return out


def render(kind: str, volume: int = 100) -> bytes:
    """The WAV file (bytes) of ``kind`` at ``volume`` percent of full scale."""
    if kind not in _PATTERNS:
        raise ValueError(f"no sound {kind!r}: one of {', '.join(CLASSES)}")
    if not 0 <= volume <= 100:
        raise ValueError(f"volume must be 0-100, got {volume}")
    samples: list[float] = []
    for freq, seconds in _PATTERNS[kind]:
        samples += _tone(freq, seconds, volume / 100)
    pcm = array("h", (max(-32767, min(32767, round(s * 32767))) for s in samples))
    if sys.byteorder == "big":
        pcm.byteswap()  # WAV is little-endian
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in CLASSES:
        path = directory / f"sound-{kind}.wav"
        path.write_bytes(render(kind))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "data")):
        print(path)
