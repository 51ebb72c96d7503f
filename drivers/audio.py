"""Sound out of the Pi's audio output (HDMI, the jack, or a USB speaker) through ALSA.

Owns playing one WAV clip on one ALSA PCM device with ``aplay`` (alsa-utils, on every Raspberry
Pi OS image): ``aplay -q -D DEVICE -`` with the clip on its standard input. :meth:`play` blocks
for the clip's length, so the station calls it from its own feedback thread, never from the
scan path or the screen. A missing sound card, a busy device or a missing ``aplay`` raises
OSError with aplay's own message, which the station shows in its status line.

Device names are ALSA's: ``default``, ``plughw:CARD=Headphones`` (the Pi's jack),
``plughw:CARD=vc4hdmi0`` (HDMI 0), ``plughw:CARD=Device`` (a USB speaker); ``aplay -L`` lists
them. ``plughw`` converts the clip's rate and channels to what the card takes.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)


class AlsaPlayer:
    """Plays WAV bytes on ``device``. ``command`` and ``env`` are the seams tests replace."""

    def __init__(
        self,
        device: str = "default",
        *,
        command: Sequence[str] = ("aplay",),
        env: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.device = device
        self.command = tuple(command)
        self.env = dict(env) if env is not None else None
        self.timeout_s = timeout_s

    def play(self, wav: bytes) -> None:
        argv = [*self.command, "-q", "-D", self.device, "-"]
        try:
            result = subprocess.run(
                argv,
                input=wav,
                capture_output=True,
                timeout=self.timeout_s,
                env=None if self.env is None else {**os.environ, **self.env},
                check=False,
            )
        except FileNotFoundError:
            raise OSError(f"{self.command[0]} not found (install alsa-utils)") from None
        except subprocess.TimeoutExpired:
            raise OSError(f"{self.device}: no sound after {self.timeout_s:g} s (device busy?)") from None
        if result.returncode != 0:
            lines = result.stderr.decode(errors="replace").strip().splitlines()
            # "aplay: main:831: audio open error: No such file or directory" -> what and where
            why = re.sub(r"^aplay: [\w:]+: ", "", lines[-1]) if lines else f"exit status {result.returncode}"
            raise OSError(f"{self.device}: {why}")
