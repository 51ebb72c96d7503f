"""The ALSA player: through real aplay into ALSA's file plugin, and its failures as OSError."""

from __future__ import annotations

import io
import shutil
import sys
import wave
from pathlib import Path

import pytest

from drivers.audio import AlsaPlayer
from station.sounds import render

needs_aplay = pytest.mark.skipif(
    shutil.which("aplay") is None, reason="aplay not installed (apt-get install alsa-utils; CI installs it)"
)


def frames(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav)) as w:
        return bytes(w.readframes(w.getnframes()))


def file_device(home: Path, out: Path) -> dict[str, str]:
    """An ALSA device "tofile" that writes what it plays to ``out`` (ALSA's file plugin over null)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".asoundrc").write_text(f'pcm.tofile {{\n type file\n slave.pcm "null"\n file "{out}"\n format "raw"\n}}\n')
    return {"HOME": str(home)}


@needs_aplay
def test_a_clip_reaches_the_alsa_device(tmp_path: Path) -> None:
    out = tmp_path / "played.raw"
    player = AlsaPlayer("tofile", env=file_device(tmp_path / "home", out))
    wav = render("wrong_van", 80)
    player.play(wav)
    played = out.read_bytes()
    assert played.startswith(frames(wav))  # then silence up to the end of ALSA's last period
    assert set(played[len(frames(wav)) :]) <= {0}


@needs_aplay
def test_an_unknown_device_is_an_oserror_with_alsas_reason(tmp_path: Path) -> None:
    player = AlsaPlayer("nosuchcard", env={"HOME": str(tmp_path)})
    with pytest.raises(OSError, match="nosuchcard"):
        player.play(render("good"))


def test_a_missing_aplay_is_an_oserror_saying_what_to_install() -> None:
    with pytest.raises(OSError, match="alsa-utils"):
        AlsaPlayer(command=("/nonexistent/aplay",)).play(render("good"))


def test_a_failing_player_gives_its_last_error_line(tmp_path: Path) -> None:
    script = tmp_path / "aplay"
    script.write_text(
        "import sys\nsys.stdin.buffer.read()\nprint('ALSA lib ...', file=sys.stderr)\n"
        "print('aplay: main: audio open error: Device or resource busy', file=sys.stderr)\nsys.exit(1)\n"
    )
    with pytest.raises(OSError, match="Device or resource busy"):
        AlsaPlayer(command=(sys.executable, str(script))).play(render("good"))
