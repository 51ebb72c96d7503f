"""What the loader hears and sees at his bay: the sounds, the scanner's commands, the bay's light.

Every device is simulated at its seam: an ALSA device that writes to a file (ALSA's file plugin,
through the real aplay), a pty as the scanner's port, a fake hidraw node for the relay board.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import select
import shutil
import threading
import tty
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers.audio import AlsaPlayer
from drivers.relays import HidRelayBoard, hid_relay_report
from drivers.scanners.base import ScannerState
from drivers.scanners.serial import SerialScanner
from station.config import example_config_text, load_config
from station.errors import ConfigError
from station.feedback import (
    BayRelay,
    Feedback,
    FeedbackConfig,
    RelayConfig,
    build_feedback,
)
from station.model import Decision, Outcome
from station.sounds import CLASSES, RATE, render

DATA = Path(__file__).resolve().parents[1] / "station" / "data"
needs_aplay = pytest.mark.skipif(
    shutil.which("aplay") is None, reason="aplay not installed (apt-get install alsa-utils; CI installs it)"
)


def samples(wav: bytes) -> list[int]:
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        raw = w.readframes(w.getnframes())
    return [int.from_bytes(raw[i : i + 2], "little", signed=True) for i in range(0, len(raw), 2)]


def decision(outcome: Outcome) -> Decision:
    return Decision(outcome=outcome, code="1Z999AA10123456784", event_id="e")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Speaker:
    """A player that names the sounds it was given."""

    def __init__(self, volume: int = 100) -> None:
        self.by_wav = {render(kind, volume): kind for kind in CLASSES}
        self.heard: list[str] = []
        self.broken: str | None = None

    def play(self, wav: bytes) -> None:
        if self.broken:
            raise OSError(self.broken)
        self.heard.append(self.by_wav[wav])


class Board:
    def __init__(self) -> None:
        self.switched: list[tuple[int, bool]] = []

    def switch(self, channel: int, on: bool) -> None:
        self.switched.append((channel, on))


@dataclass
class Bay:
    feedback: Feedback
    speaker: Speaker
    board: Board
    clock: Clock


@pytest.fixture
def bay() -> Bay:
    speaker, board, clock = Speaker(), Board(), Clock()
    light = BayRelay(RelayConfig(name="bay-3-light", lane=3, channel=2), board)
    feedback = Feedback(
        FeedbackConfig(enabled=True, wrong_van_repeat_s=2.0),
        player=speaker,
        relays=[light],
        van_lanes={"V03": 3, "V04": 4},
        clock=clock,
    )
    return Bay(feedback, speaker, board, clock)


# -- the sounds ---------------------------------------------------------------------------------


def test_each_outcome_class_has_its_own_sound() -> None:
    sounds = {kind: samples(render(kind)) for kind in CLASSES}
    assert len({tuple(s) for s in sounds.values()}) == 4
    lengths = {kind: len(s) / RATE for kind, s in sounds.items()}
    assert lengths["good"] < lengths["repeat"] < lengths["problem"] < lengths["wrong_van"] <= 1.0
    assert all(max(abs(x) for x in s) > 25_000 for s in sounds.values())  # loud: near full scale


def test_volume_scales_the_sound() -> None:
    full, half = samples(render("problem", 100)), samples(render("problem", 50))
    assert abs(max(half) - max(full) / 2) <= 1
    with pytest.raises(ValueError):
        render("problem", 101)


def test_the_shipped_wav_files_are_what_the_code_makes() -> None:
    for kind in CLASSES:
        shipped, made = samples((DATA / f"sound-{kind}.wav").read_bytes()), samples(render(kind))
        assert len(shipped) == len(made)
        assert max(abs(a - b) for a, b in zip(shipped, made, strict=True)) <= 1  # libm may round differently


# -- config ---------------------------------------------------------------------------------------


def config_with(tmp_path: Path, extra: str) -> Any:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "station.toml"
    path.write_text(example_config_text() + "\n" + extra)
    return load_config(path, tmp_path / "data")


def test_without_a_feedback_table_the_station_is_silent(tmp_path: Path) -> None:
    config = config_with(tmp_path, "")
    assert not config.feedback.enabled and config.relays == ()
    assert build_feedback(config).player is None


def test_the_feedback_table_and_relays_are_read(tmp_path: Path) -> None:
    config = config_with(
        tmp_path,
        '[feedback]\ndevice = "plughw:CARD=Headphones"\nvolume = 70\nrepeat = false\n'
        '[[relays]]\nname = "bay-3-light"\nkind = "hidraw"\npath = "/dev/hidraw0"\nlane = 3\nchannel = 2\n',
    )
    assert config.feedback == FeedbackConfig(enabled=True, device="plughw:CARD=Headphones", volume=70, repeat=False)
    (relay,) = config.relays
    assert (relay.name, relay.lane, relay.channel) == ("bay-3-light", 3, 2)
    feedback = build_feedback(config)
    assert isinstance(feedback.player, AlsaPlayer) and feedback.player.device == "plughw:CARD=Headphones"
    assert isinstance(feedback.relays[3][0].board, HidRelayBoard)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[feedback]\nvolum = 50\n", "unknown key 'volum' in [feedback] (did you mean 'volume'?)"),
        ("[feedback]\nvolume = 150\n", "feedback.volume: expected a percentage 0-100"),
        ("[feedback]\nwrong_van = 1\n", "feedback.wrong_van: expected true or false"),
        ('[[relays]]\nname = "l"\nkind = "hidraw"\npath = "/dev/hidraw0"\nlane = 77\n', "no van loads at lane 77"),
        ('[[relays]]\nname = "l"\nkind = "hidraw"\nport = "/dev/x"\nlane = 3\n', "unknown key 'port'"),
        ('[[relays]]\nname = "l"\nkind = "usb"\nlane = 3\n', "relays[0].kind: expected one of hidraw, serial"),
        ('[[relays]]\nname = "l"\nkind = "serial"\nport = "/dev/x"\nlane = 3\nchannel = 9\n', "1-8"),
    ],
)
def test_a_wrong_feedback_key_stops_the_station_naming_it(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_with(tmp_path, extra)


def test_scanner_commands_are_for_serial_scanners_only(tmp_path: Path) -> None:
    serial = '[[scanners]]\nname = "bay"\nkind = "serial"\nport = "/dev/x"\ngood_command = "\\u001b7,"\n'
    assert config_with(tmp_path, serial).scanners[-1]["good_command"] == "\x1b7,"
    wedge = '[[scanners]]\nname = "bay"\nkind = "evdev"\npath = "/dev/x"\nbad_command = "F"\n'
    with pytest.raises(ConfigError, match="unknown key 'bad_command'"):
        config_with(tmp_path / "w", wedge)


# -- the bay: sound, light, and the WRONG VAN alarm until the next scan ---------------------------


def test_each_outcome_sounds_its_class(bay: Bay) -> None:
    for outcome in (Outcome.SORTED, Outcome.REPEAT, Outcome.UNKNOWN, Outcome.INVALID, Outcome.COMMAND):
        bay.feedback.handle(decision(outcome), "sort")
    assert bay.speaker.heard == ["good", "repeat", "problem", "problem", "good"]
    assert bay.board.switched == []  # the sorting table is no bay


def test_wrong_van_repeats_and_lights_the_bay_until_its_next_good_scan(bay: Bay) -> None:
    fb = bay.feedback
    fb.handle(decision(Outcome.MISLOAD), "load:V03")
    assert bay.speaker.heard == ["wrong_van"] and bay.board.switched == [(2, True)]
    bay.clock.now += 1.0
    fb.tick()
    assert bay.speaker.heard == ["wrong_van"]  # not due yet
    bay.clock.now += 1.0
    fb.tick()
    bay.clock.now += 2.0
    fb.tick()
    assert bay.speaker.heard == ["wrong_van"] * 3
    fb.handle(decision(Outcome.LOADED), "load:V04")  # another bay's scan changes nothing here
    bay.clock.now += 2.0
    fb.tick()
    assert bay.speaker.heard == ["wrong_van"] * 3 + ["good", "wrong_van"]
    fb.handle(decision(Outcome.REPEAT), "load:V03")  # the bay scans again: the sound stops ...
    bay.clock.now += 10.0
    fb.tick()
    assert bay.speaker.heard[-1] == "repeat" and bay.board.switched == [(2, True)]  # ... the light stays
    fb.handle(decision(Outcome.LOADED), "load:V03")  # a good scan at the bay puts the light out
    assert bay.board.switched == [(2, True), (2, False)]
    assert fb.alarms == {} and fb.lit == set()


def test_outcomes_switched_off_in_config_are_silent() -> None:
    speaker = Speaker()
    fb = Feedback(FeedbackConfig(enabled=True, good=False, repeat=False), player=speaker)
    for outcome in (Outcome.SORTED, Outcome.REPEAT, Outcome.MISLOAD):
        fb.handle(decision(outcome), "sort")
    assert speaker.heard == ["wrong_van"]


def test_failing_devices_are_shown_and_never_stop_the_feedback(bay: Bay, tmp_path: Path) -> None:
    fb = bay.feedback
    bay.speaker.broken = "plughw:CARD=Headphones: audio open error: No such file or directory"
    unplugged = HidRelayBoard("bay-4-light", str(tmp_path / "hidraw9"), ioctl=lambda *a: 0)
    fb.relays[4] = [BayRelay(RelayConfig(name="bay-4-light", lane=4), unplugged)]
    fb.handle(decision(Outcome.MISLOAD), "load:V04")
    problems = fb.problems()
    assert problems[0].startswith("relay bay-4-light FAILED (")
    assert problems[1] == "sound FAILED (plughw:CARD=Headphones: audio open error: No such file or directory)"
    bay.speaker.broken = None  # the speaker is back
    (tmp_path / "hidraw9").touch()  # and the board
    fb.handle(decision(Outcome.MISLOAD), "load:V04")
    assert fb.problems() == [] and bay.speaker.heard == ["wrong_van"]


def test_decided_never_waits_for_a_device(bay: Bay) -> None:
    release = threading.Event()
    played: list[bytes] = []

    class StuckSpeaker:
        def play(self, wav: bytes) -> None:
            release.wait()  # a speaker that never finishes on its own
            played.append(wav)

    fb = Feedback(FeedbackConfig(enabled=True), player=StuckSpeaker())
    for _ in range(3):
        fb.decided(decision(Outcome.SORTED), role="sort")  # returns while the first play is stuck
    assert played == []
    release.set()
    fb.close()
    assert played == [render("good")] * 3


@needs_aplay
def test_the_alsa_device_gets_the_right_sound_for_each_outcome(tmp_path: Path) -> None:
    out = tmp_path / "played.raw"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(f'pcm.bay {{\n type file\n slave.pcm "null"\n file "{out}"\n format "raw"\n}}\n')
    fb = Feedback(FeedbackConfig(enabled=True, volume=60), player=AlsaPlayer("bay", env={"HOME": str(home)}))
    for outcome, kind in [(Outcome.LOADED, "good"), (Outcome.REPEAT, "repeat"), (Outcome.NO_PLAN, "problem")] + [
        (Outcome.MISLOAD, "wrong_van")
    ]:
        fb.handle(decision(outcome), "sort")
        with wave.open(io.BytesIO(render(kind, 60))) as w:
            assert out.read_bytes().startswith(w.readframes(w.getnframes())), kind
    assert fb.problems() == []


# -- the scanner in the loader's hand --------------------------------------------------------------


def read_exactly(fd: int, n: int) -> bytes:
    got = b""
    while len(got) < n:
        ready, _, _ = select.select([fd], [], [], 10.0)  # a guard against a hang, not a timing
        assert ready, f"only {got!r} arrived"
        got += os.read(fd, n - len(got))
    return got


async def test_the_scanner_hears_good_and_bad_through_its_own_port() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    scanner = SerialScanner("bay-3", os.ttyname(slave), timeout=0.05, good_command=b"\x1b7,", bad_command=b"\x1b8,")
    scanner.scans()
    try:
        for _ in range(500):
            if scanner.state is ScannerState.CONNECTED:
                break
            await asyncio.sleep(0.02)
        fb = Feedback(FeedbackConfig(), player=None, van_lanes={"V03": 3})
        await asyncio.to_thread(fb.handle, decision(Outcome.LOADED), "load:V03", scanner)
        await asyncio.to_thread(fb.handle, decision(Outcome.MISLOAD), "load:V03", scanner)
        await asyncio.to_thread(fb.handle, decision(Outcome.UNKNOWN), "load:V03", scanner)
        assert read_exactly(master, 9) == b"\x1b7,\x1b8,\x1b8,"
        assert fb.problems() == []
    finally:
        scanner.close()
        scanner.join(5)
        os.close(master)
        os.close(slave)
    fb.handle(decision(Outcome.LOADED), "load:V03", scanner)  # closed: shown, not raised
    assert fb.problems() == ["scanner bay-3 commands FAILED (scanner bay-3 is not connected)"]


def test_a_hid_relay_node_gets_the_light_on_and_off(tmp_path: Path) -> None:
    node = tmp_path / "hidraw0"
    node.touch()
    reports: list[bytes] = []
    board = HidRelayBoard("bay-3-light", str(node), ioctl=lambda fd, req, arg: reports.append(bytes(arg)))
    fb = Feedback(
        FeedbackConfig(), player=None, relays=[BayRelay(RelayConfig("bay-3-light", 3, 1), board)], van_lanes={"V03": 3}
    )
    fb.handle(decision(Outcome.MISLOAD), "load:V03")
    fb.handle(decision(Outcome.LOADED), "load:V03")
    assert reports == [hid_relay_report(1, True), hid_relay_report(1, False)]


# -- the dock screen hands every decision over, and shows a failing device -----------------------


async def test_the_dock_screen_hands_a_misload_to_the_bay(planned: Any, day: Any, tmp_path: Path) -> None:
    from drivers.printers.file import FilePrinter
    from drivers.scanners.simulated import SimulatedScanner
    from station.devices import ScannerSlot
    from station.printing import PrintQueue
    from station.ui.app import StationApp, StatusSnapshot

    parcel = day[0]
    right = planned.store.scalar("SELECT van_id FROM plan_parcels WHERE tracking_id = ?", (parcel.tracking_id,))
    wrong = next(v for v in planned.config.vans if v.id != right)
    speaker, board = Speaker(), Board()
    feedback = Feedback(
        FeedbackConfig(enabled=True),
        player=speaker,
        relays=[BayRelay(RelayConfig("light", wrong.lane, 1), board)],
        van_lanes={v.id: v.lane for v in planned.config.vans},
    )
    scanner = SimulatedScanner("bay", codes=[parcel.tracking_id], interval_s=0.05, jitter_s=0.0)
    queue = PrintQueue(planned.store, {"p": (FilePrinter("p", tmp_path / "labels"), ("sort_label",))})
    app = StationApp(planned, [ScannerSlot(scanner, f"load:{wrong.id}")], queue, kiosk=True, feedback=feedback)
    app.bell = lambda: None  # type: ignore[method-assign]
    async with app.run_test(size=(110, 34)) as pilot:
        for _ in range(200):
            if speaker.heard:  # the feedback thread played what the screen handed over
                break
            await pilot.pause(0.05)
        assert app.last_decision is not None and app.last_decision.outcome is Outcome.MISLOAD
        assert speaker.heard[0] == "wrong_van" and board.switched == [(1, True)]
        speaker.broken = "default: audio open error: No such file or directory"
        feedback.decided(decision(Outcome.SORTED), role="sort")
        for _ in range(200):
            if feedback.problems():
                break
            await pilot.pause(0.05)
        assert app.status_parts(StatusSnapshot())[0] == (
            "sound FAILED (default: audio open error: No such file or directory)"
        )
    assert board.switched == [(1, True), (1, False)]  # closing the app put the bay's light out
