"""What the loader hears and sees at his bay: sounds, the scanner in his hand, a light per bay.

Owns turning each decision into feedback away from the screen, and the ``[feedback]`` and
``[[relays]]`` config tables:

* a sound per outcome class (good, repeat, problem, WRONG VAN: ``station.sounds``) played
  through ALSA on the Pi's audio output (``drivers.audio``); WRONG VAN repeats every
  ``wrong_van_repeat_s`` until the next scan from that bay;
* the scanner's own good / bad host command (``good_command`` / ``bad_command`` in its
  ``[[scanners]]`` table), sent back to the scanner that read the code;
* a relay (stack light or buzzer) per bay, switched on by WRONG VAN and off by the next good
  scan at that bay (``drivers.relays``).

A bay is the lane of the van a load scanner is bound to (role ``load:VAN``). Every device call
runs on one feedback thread: :meth:`Feedback.decided` only queues, so the scan path and the
screen never wait for a speaker, a scanner's port or a relay. A device that fails is kept in
:meth:`Feedback.problems` (the status line shows it) until it works again; scanning goes on.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from station import reasons
from station.errors import ConfigError
from station.model import Decision, Outcome
from station.sounds import CLASSES, render

log = logging.getLogger(__name__)

# Outcome -> the class of sound and of scanner command. A command barcode taken is "good".
OUTCOME_CLASS: dict[Outcome, str] = {
    Outcome.SORTED: "good",
    Outcome.LOADED: "good",
    Outcome.COMMAND: "good",
    Outcome.REPEAT: "repeat",
    Outcome.UNKNOWN: "problem",
    Outcome.INVALID: "problem",
    Outcome.NO_PLAN: "problem",
    Outcome.CANCELLED: "problem",
    Outcome.EXCEPTION: "problem",
    Outcome.MISLOAD: "wrong_van",
}


@dataclass(frozen=True)
class FeedbackConfig:
    """``[feedback]``: the station's sounds. Without the table the station plays none."""

    enabled: bool = False
    device: str = "default"  # the ALSA PCM (aplay -L): "plughw:CARD=Headphones", "plughw:CARD=vc4hdmi0" ...
    volume: int = 100  # percent of full scale, applied to the samples (set the card's mixer with alsamixer)
    good: bool = True
    repeat: bool = True
    problem: bool = True
    wrong_van: bool = True
    wrong_van_repeat_s: float = 2.0  # the WRONG VAN sound again this often until the bay scans again


@dataclass(frozen=True)
class RelayConfig:
    """One ``[[relays]]`` table: a relay board's relay that lights the stack light at one bay."""

    name: str
    lane: int
    channel: int = 1
    driver: dict[str, Any] = field(default_factory=dict)  # the table for drivers.factory.make_relay


FEEDBACK_KEYS = tuple(f.name for f in fields(FeedbackConfig))
RELAY_STATION_KEYS = ("lane", "channel")


def _check(table: Mapping[str, Any], key: str, kinds: tuple[type, ...], what: str, where: str) -> Any:
    value = table[key]
    if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
        raise ConfigError(f"config key {where}{key}: expected {what}, got {value!r}")
    return value


def parse_feedback(table: Any) -> FeedbackConfig:
    """The ``[feedback]`` table (None when absent), every key checked by name."""
    from station.config import reject_unknown

    if table is None:
        return FeedbackConfig()
    if not isinstance(table, Mapping):
        raise ConfigError(f"config key feedback: expected a table ([feedback]), got {table!r}")
    reject_unknown(table, FEEDBACK_KEYS, "feedback.")
    values: dict[str, Any] = {"enabled": True}  # a [feedback] table turns the sounds on
    for key in ("enabled", "good", "repeat", "problem", "wrong_van"):
        if key in table:
            values[key] = _check(table, key, (bool,), "true or false", "feedback.")
    if "device" in table:
        values["device"] = _check(table, "device", (str,), "an ALSA device name", "feedback.")
    if "volume" in table:
        values["volume"] = _check(table, "volume", (int,), "a percentage 0-100", "feedback.")
        if not 0 <= values["volume"] <= 100:
            raise ConfigError(f"config key feedback.volume: expected a percentage 0-100, got {values['volume']}")
    if "wrong_van_repeat_s" in table:
        repeat_s = _check(table, "wrong_van_repeat_s", (int, float), "seconds", "feedback.")
        if repeat_s < 0.5:
            raise ConfigError(f"config key feedback.wrong_van_repeat_s: at least 0.5 s, got {repeat_s}")
        values["wrong_van_repeat_s"] = float(repeat_s)
    return FeedbackConfig(**values)


def parse_relays(tables: list[Mapping[str, Any]], lanes: set[int]) -> tuple[RelayConfig, ...]:
    """The ``[[relays]]`` tables: the driver's keys (drivers.factory) plus the bay's lane and relay."""
    from drivers.factory import RELAY_KEYS
    from station.config import reject_unknown

    relays = []
    for i, table in enumerate(tables):
        where = f"relays[{i}]."
        kind = table.get("kind")
        if kind not in RELAY_KEYS:
            raise ConfigError(f"config key {where}kind: expected one of {', '.join(RELAY_KEYS)}, got {kind!r}")
        reject_unknown(table, ("name", "kind", *RELAY_STATION_KEYS, *sorted(RELAY_KEYS[kind])), where)
        for key in ("name", "lane"):
            if key not in table:
                raise ConfigError(f"config key {where}{key} is missing")
        name = _check(table, "name", (str,), "a name", where)
        lane = _check(table, "lane", (int,), "the bay's lane number", where)
        if lane not in lanes:
            raise ConfigError(f"config key {where}lane: no van loads at lane {lane}")
        channel = _check(table, "channel", (int,), "a relay number 1-8", where) if "channel" in table else 1
        if not 1 <= channel <= 8:
            raise ConfigError(f"config key {where}channel: expected a relay number 1-8, got {channel}")
        driver = {k: v for k, v in table.items() if k not in RELAY_STATION_KEYS}
        relays.append(RelayConfig(name=name, lane=lane, channel=channel, driver=driver))
    return tuple(relays)


# -- the devices, as the feedback thread sees them ---------------------------------------------


class Player(Protocol):
    def play(self, wav: bytes) -> None: ...


class Switch(Protocol):
    def switch(self, channel: int, on: bool) -> None: ...


@dataclass
class BayRelay:
    relay: RelayConfig
    board: Switch


class Feedback:
    """The feedback state machine. :meth:`handle` and :meth:`tick` run on the feedback thread
    (or directly in tests); :meth:`decided` is what the scan path calls, and only queues."""

    def __init__(
        self,
        settings: FeedbackConfig,
        *,
        player: Player | None,
        relays: list[BayRelay] | None = None,
        van_lanes: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.player = player if settings.enabled else None
        self.relays: dict[int, list[BayRelay]] = {}
        for bay_relay in relays or []:
            self.relays.setdefault(bay_relay.relay.lane, []).append(bay_relay)
        self.van_lanes = dict(van_lanes or {})
        self.clock = clock
        self.alarms: dict[int, float] = {}  # bay -> when its WRONG VAN sound is due again
        self.lit: set[int] = set()  # bays whose relay is on
        self._sounds: dict[str, bytes] = {}
        self._faults: dict[str, str] = {}
        self._faults_lock = threading.Lock()
        self._queue: queue.Queue[tuple[Decision, str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    # -- the scan path's side --------------------------------------------------------------

    def decided(self, decision: Decision, *, role: str, scanner: Any = None) -> None:
        """Queue the feedback for one decision (``role``: the scanner's role when it scanned)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="station-feedback", daemon=True)
            self._thread.start()
        self._queue.put((decision, role, scanner))

    def problems(self) -> list[str]:
        """The failing feedback devices, for the status line: "sound FAILED (no soundcard)"."""
        with self._faults_lock:
            return [reasons.FEEDBACK_FAILED(device=device, why=why) for device, why in sorted(self._faults.items())]

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after what is queued; the bays' relays are switched off."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        for bay in sorted(self.lit):
            self._light(bay, False)

    # -- the feedback thread -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            due = min(self.alarms.values(), default=None)
            wait = None if due is None else max(0.0, due - self.clock())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                self.tick()
                continue
            if item is None:
                return
            try:
                self.handle(*item)
            except Exception:  # feedback must never end the thread: the next decision still sounds
                log.exception("feedback for a decision failed")

    def handle(self, decision: Decision, role: str, scanner: Any = None) -> None:
        kind = OUTCOME_CLASS.get(decision.outcome, "problem")
        bay = self.bay(role)
        if bay is not None:
            self.alarms.pop(bay, None)  # any scan at the bay ends its WRONG VAN sound
            if kind == "wrong_van":
                self.alarms[bay] = self.clock() + self.settings.wrong_van_repeat_s
                self._light(bay, True)
            elif kind == "good" and bay in self.lit:
                self._light(bay, False)
        self._acknowledge(scanner, good=kind in ("good", "repeat"))
        self._sound(kind)

    def tick(self) -> None:
        """Play the WRONG VAN sound again for every bay whose repeat is due."""
        now = self.clock()
        for bay, due in sorted(self.alarms.items()):
            if due <= now:
                self.alarms[bay] = now + self.settings.wrong_van_repeat_s
                self._sound("wrong_van")

    def bay(self, role: str) -> int | None:
        if role.startswith("load:"):
            return self.van_lanes.get(role[5:])
        return None

    # -- devices, each failure kept for the status line --------------------------------------

    def _device(self, device: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # OSError from the device, or anything a driver did not expect
            why = str(exc) or type(exc).__name__
            with self._faults_lock:
                new = self._faults.get(device) != why
                self._faults[device] = why
            if new:
                log.warning("feedback: %s failed: %s", device, why)
            return
        with self._faults_lock:
            if self._faults.pop(device, None) is not None:
                log.info("feedback: %s works again", device)

    def _sound(self, kind: str) -> None:
        player = self.player
        if player is None or not getattr(self.settings, kind):
            return
        if kind not in self._sounds:
            self._sounds[kind] = render(kind, self.settings.volume)
        wav = self._sounds[kind]
        self._device(reasons.FEEDBACK_SOUND, lambda: player.play(wav))

    def _acknowledge(self, scanner: Any, *, good: bool) -> None:
        acknowledge = getattr(scanner, "acknowledge", None)
        if acknowledge is None:  # keyboard-wedge scanners cannot be commanded
            return
        self._device(reasons.FEEDBACK_SCANNER(name=scanner.name), lambda: acknowledge(good))

    def _light(self, bay: int, on: bool) -> None:
        if on:
            self.lit.add(bay)
        else:
            self.lit.discard(bay)
        for bay_relay in self.relays.get(bay, []):
            switch = functools.partial(bay_relay.board.switch, bay_relay.relay.channel, on)
            self._device(reasons.FEEDBACK_RELAY(name=bay_relay.relay.name), switch)


def build_feedback(config: Any) -> Feedback:
    """The station's feedback from its config: the ALSA player and the bays' relay boards."""
    from drivers.audio import AlsaPlayer
    from drivers.factory import make_relay

    settings: FeedbackConfig = config.feedback
    relays = [BayRelay(r, make_relay(r.driver)) for r in config.relays]
    return Feedback(
        settings,
        player=AlsaPlayer(settings.device) if settings.enabled else None,
        relays=relays,
        van_lanes={van.id: van.lane for van in config.vans},
    )


__all__ = ["CLASSES", "Feedback", "FeedbackConfig", "RelayConfig", "build_feedback", "parse_feedback", "parse_relays"]
