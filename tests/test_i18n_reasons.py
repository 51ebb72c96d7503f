"""Reasons made with values, in the worker's language: English in the events, translated on the screen.

Also the print queue's REPRINT mark and the command sheet, in the station's language.
"""

from __future__ import annotations

import gettext
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.widgets import DataTable, Static

from station import reasons
from station.barcodes import station_code
from station.config import Config, load_config
from station.core import Station
from station.i18n import LANGUAGES, LOCALE_DIR, set_language
from station.model import Outcome, Parcel
from station.reasons import TEMPLATES, Template, fields_of, shown
from station.ui.app import StationApp
from station.ui.screens import ExceptionsScreen
from tests.conftest import round_robin_plan

ROOT = Path(__file__).resolve().parent.parent


# Where a field must look a certain way (Template.patterns).
SHAPED = {"n": "1", "waiting": "4 labels waiting"}


def sample_values(template: Template) -> dict[str, str]:
    """Values as a dock fills them: a reason inside a reason, an event kind, ids and counts."""
    values = {}
    for i, name in enumerate(sorted(template.fields)):
        if name in template.patterns:
            values[name] = SHAPED[name]
        elif name in template.nested:
            values[name] = reasons.NOT_IN_PLAN
        elif name in template.words:
            values[name] = "sorted"
        else:
            values[name] = f"V{i}3"
    return values


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.english[:40])
def test_the_screen_finds_the_template_and_values_of_every_stored_reason(template: Template) -> None:
    values = sample_values(template)
    stored = template(**values)
    first = next(t for t in TEMPLATES if t.values_in(stored) is not None)
    assert first is template, f"{stored!r} is read as {first.english!r}"
    assert template.values_in(stored) == values
    assert shown(stored, gettext.NullTranslations()) == stored  # English: exactly what is stored


FRENCH = gettext.translation("station", LOCALE_DIR, languages=["fr"])
# What a value may be: a van id, a count, a scanner's name, an OS error, or a piece of some other reason.
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from([reasons.NOT_IN_PLAN, reasons.NOT_KNOWN, "sorted", "4 labels waiting", "): ", ", ", " ("]),
)


@settings(max_examples=300, deadline=None)
@given(template=st.sampled_from(TEMPLATES), data=st.data())
def test_any_stored_text_is_shown_without_an_error_and_as_stored_in_english(
    template: Template, data: st.DataObject
) -> None:
    """Whatever the values were, reading a stored text back never breaks the screen."""
    values = {name: data.draw(VALUES, label=name) for name in sorted(template.fields)}
    stored = template(**values)
    assert shown(stored, gettext.NullTranslations()) == stored
    assert isinstance(shown(stored, FRENCH), str)


def catalogs() -> Iterator[tuple[str, Path]]:
    for language in LANGUAGES:
        if language != "en":
            yield language, LOCALE_DIR / language / "LC_MESSAGES" / "station.po"


@pytest.mark.parametrize(("language", "po"), list(catalogs()))
def test_every_translation_keeps_the_fields_of_its_english(language: str, po: Path) -> None:
    with po.open("rb") as f:
        catalog = read_po(f)
    checked = 0
    for message in catalog:
        if not message.id or not message.string:
            continue
        english = message.id if isinstance(message.id, str) else message.id[-1]
        translations = [message.string] if isinstance(message.string, str) else list(message.string)
        for text in translations:
            assert fields_of(text) == fields_of(english), f"{language}: {text!r} for {english!r}"
            checked += 1
    assert checked >= len(TEMPLATES)
    translation = gettext.translation("station", LOCALE_DIR, languages=[language])
    for template in TEMPLATES:  # and every template has its translation in this language
        assert translation.gettext(template.english) != template.english, f"{language}: {template.english!r}"


def cannot_read_reasons() -> list[str]:
    """Every reason a CANNOT READ can give, as stored, filled with long values."""
    return [
        reasons.NOT_KNOWN_BECAUSE(why=reasons.INTERNAL_ERROR(name="UnicodeDecodeError")),
        *(reasons.NOT_KNOWN_BECAUSE(why=why) for why in reasons.NOT_KNOWN_WHY),
        *(
            reasons.STATION_CODE_WRONG(why=why)
            for why in (reasons.LANE_NOT_A_NUMBER, reasons.VAN_ID_WRONG, reasons.COMMAND_WRONG)
        ),
        reasons.CHECK_WRONG(expected=4, got="X"),
        reasons.UPS_TRUNCATED(n=17),
        reasons.SSCC_TRUNCATED(n=17),
        reasons.AMAZON_LENGTH(n=11),
        reasons.COUNTRY_UNKNOWN(code="XX"),
        reasons.POSTAL_ONLY(postal="75001-1234"),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_cannot_read_reason_fits_the_instruction_line_in_every_language(language: str) -> None:
    translation = (
        gettext.NullTranslations()
        if language == "en"
        else gettext.translation("station", LOCALE_DIR, languages=[language])
    )
    for stored in cannot_read_reasons():
        line = shown(stored, translation)
        assert len(line) <= 78, f"{language}: {line!r} ({len(line)} columns)"


class RenamedField(gettext.NullTranslations):
    """A catalog whose WRONG VAN lost ``{lane}`` and calls ``{van}`` ``{camion}``."""

    def gettext(self, message: str) -> str:
        if message == reasons.WRONG_VAN.english:
            return "MAUVAIS CAMION : ce colis va dans le camion {camion}"
        return message


def test_a_translation_that_renames_a_field_is_not_used_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    stored = reasons.WRONG_VAN(van="V03", lane=3)
    with caplog.at_level(logging.WARNING, logger="station.reasons"):
        first = shown(stored, RenamedField())
        again = shown(stored, RenamedField())
    assert first == again == "WRONG VAN: this parcel goes in van V03 at lane 3"
    assert len([r for r in caplog.records if "{camion}" in r.getMessage()]) == 1


def test_the_core_stores_its_reasons_in_english_word_for_word(planned: Station, day: list[Parcel]) -> None:
    """What the central server and other tools read does not depend on the screen's language."""
    set_language("fr")
    try:
        parcel = day[0]
        right = planned.config.van(
            str(planned.store.scalar("SELECT van_id FROM plan_parcels WHERE tracking_id = ?", (parcel.tracking_id,)))
        )
        assert right is not None
        wrong = next(v for v in planned.config.vans if v.id != right.id)
        misload = planned.scan(parcel.tracking_id, device="bay", role=f"load:{wrong.id}")
        bad = planned.scan("1Z999AA10123456785", device="t")
        bound = planned.scan(station_code("van", wrong.id), device="bay")
    finally:
        set_language("en")
    rows = {r["event_id"]: r["reason"] for r in planned.store.query("SELECT event_id, reason FROM events")}
    assert rows[misload.event_id] == f"WRONG VAN: this parcel goes in van {right.id} at lane {right.lane}"
    assert rows[bad.event_id] == "check digit wrong: expected 4, got 5"
    assert rows[bound.event_id] == f"this scanner now loads van {wrong.id} at lane {wrong.lane}"
    wire = " ".join(r["payload"] for r in planned.store.query("SELECT payload FROM outbox"))
    assert f"WRONG VAN: this parcel goes in van {right.id} at lane {right.lane}" in wire


def test_a_fixed_reason_written_out_for_extraction_is_the_text_it_always_was() -> None:
    from station.loading import UNKNOWN_LOAD_REASON
    from station.sorting import UNKNOWN_REASON

    assert UNKNOWN_LOAD_REASON == f"{UNKNOWN_REASON}; do not load"  # once composed, now one literal to translate


def french_config(config: Config, tmp_path: Path) -> Config:
    path = tmp_path / "station.toml"
    path.write_text(
        (ROOT / "station" / "example-config.toml").read_text(encoding="utf-8") + '\n[station]\nlanguage = "fr"\n',
        encoding="utf-8",
    )
    return load_config(path, config.data_dir)


@pytest.fixture
def french_app(config: Config, tmp_path: Path, day: list[Parcel]) -> Iterator[StationApp]:
    from station.ui.launch import build_app

    french = french_config(config, tmp_path)
    station = Station.open(french)
    station.replace_manifest(day, version="test")
    station.save_plan(round_robin_plan(french, day))
    station.close()
    app = build_app(french)
    try:
        yield app
    finally:
        set_language("en")
        app.queue.close()
        app.station.close()


def instruction(app: StationApp) -> str:
    return str(app.dock.query_one("#instruction", Static).render())


async def test_the_french_screen_shows_reasons_with_their_values_in_french(
    french_app: StationApp, day: list[Parcel]
) -> None:
    app = french_app
    station = app.station
    parcel = day[0]
    van_id = station.store.scalar("SELECT van_id FROM plan_parcels WHERE tracking_id = ?", (parcel.tracking_id,))
    right = station.config.van(str(van_id))
    assert right is not None
    wrong = next(v for v in station.config.vans if v.id != right.id)
    toasts: list[str] = []
    notify = app.notify

    def capture(message: str, **kwargs: Any) -> None:
        toasts.append(message)
        notify(message, **kwargs)

    app.notify = capture  # type: ignore[method-assign]
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.pause()
        # WRONG VAN: the van being loaded and the right one, in French.
        misload = await app.process(parcel.tracking_id, device="bay", role=f"load:{wrong.id}")
        assert misload is not None and misload.outcome is Outcome.MISLOAD
        assert instruction(app) == f"PAS le camion {wrong.id} ! Portez-le au CAMION {right.id}, ALLÉE {right.lane}."
        # A van code: the scanner's new role, in French.
        await app.process(station_code("van", right.id), device="bay", role=f"load:{wrong.id}")
        assert instruction(app) == f"ce scanner charge maintenant le camion {right.id}, allée {right.lane}"
        # CLOSE twice closes the van: what departed and what did not, in French.
        await app.process(station_code("command", "CLOSE"), device="bay", role=f"load:{right.id}")
        assert "rescanner CLOSE pour fermer quand même" in instruction(app)
        await app.process(station_code("command", "CLOSE"), device="bay", role=f"load:{right.id}")
        planned_count = station.store.scalar("SELECT count(*) FROM plan_parcels WHERE van_id = ?", (right.id,))
        assert instruction(app) == (
            f"camion {right.id} fermé : 0 colis partis, {planned_count} colis prévus non chargés"
        )
        # The closed van refuses its own parcel, in French, with the van.
        refused = await app.process(parcel.tracking_id, device="bay", role=f"load:{right.id}")
        assert refused is not None and refused.right_van == refused.van == right.id
        assert instruction(app) == f"Le camion {right.id} est parti : gardez le colis, prévenez le chef de quai."
        # CANNOT READ says why, with the digits, in French.
        await app.process("1Z999AA10123456785", device="keyboard")
        assert instruction(app) == "chiffre de contrôle faux : 4 attendu, 5 lu"
        # The lead's F3 list and a refused reassignment (a toast), in French.
        await app.process(parcel.tracking_id, device="keyboard")
        await app.process(station_code("command", "DAMAGED"), device="keyboard")
        await pilot.press("f3")
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, ExceptionsScreen) and app.screen.query_one(DataTable).row_count:
                break
        table = app.screen.query_one(DataTable)
        assert table.get_row_at(0)[1:3] == [parcel.tracking_id, "endommagé"]
        await app.resolve_exception(parcel.tracking_id, "reassign", right.id)
        assert toasts[-1] == (
            f"le camion {right.id} est fermé et parti : "
            f"le rouvrir (station reopen-van {right.id}) ou en choisir un autre"
        )
    stored = [r["reason"] for r in station.store.query("SELECT reason FROM events ORDER BY seq")]
    assert f"WRONG VAN: this parcel goes in van {right.id} at lane {right.lane}" in stored
    assert f"van {right.id} is closed (departed): keep the parcel, tell the hub lead" in stored
    assert "check digit wrong: expected 4, got 5" in stored
    assert f"van {right.id} closed: 0 parcels departed, {planned_count} planned parcels not loaded" in stored


def test_the_print_queue_marks_a_reprint_in_the_configured_language(config: Config, tmp_path: Path) -> None:
    from station import printing
    from station.devices import build_print_queue
    from station.labels import sort_label

    french = french_config(config, tmp_path)
    station = Station.open(french)
    label = sort_label(
        tracking_id="1Z999AA10123456784",
        lane=7,
        stop=23,
        van="V07",
        address="12 Rue Garibaldi",
        postal_code="69003",
        day=date(2026, 11, 25),
        station_id="dock-1",
        language="fr",
    )
    try:
        with station.store.write() as db:
            printing.enqueue(db, printing.SORT_LABEL, label, tracking_id="1Z999AA10123456784")
            # A process that died while sending it: the label may have printed, so it comes out marked.
            db.execute("UPDATE print_jobs SET maybe_printed = 1")
        queue = build_print_queue(french, station.store)
        try:
            assert queue.deliver() == 1
        finally:
            queue.close()
    finally:
        station.close()
    printed = b"".join(p.read_bytes() for p in sorted(french.labels_dir.glob("*.zpl")))
    assert "*** DUPLICATA ***".encode() in printed and b"REPRINT" not in printed


def test_the_command_sheet_gives_the_meanings_in_the_station_language(config: Config) -> None:
    from station import command_codes

    vans = config.vans[:1]
    text = command_codes.text_sheet(vans, "fr")
    assert text.startswith("CODES DE COMMANDE\n")
    assert "annuler le dernier scan de ce scanner" in text
    assert f"ce scanner charge le camion {vans[0].id}, allée {vans[0].lane}" in text
    assert "undo the last scan" not in text
    zpl = command_codes.zpl_sheets(vans, date(2026, 11, 25), "dock-1", "fr").decode()
    # Two label lines for a meaning: the longest French one is printed whole.
    assert "^FB" in zpl and "fermer le camion de ce scanner : ses colis chargés partent (scanner 2 fois en 10 s)" in zpl
    # English by default, and for scripts (print-commands --json).
    assert "undo the last scan of this scanner" in command_codes.text_sheet(vans)
    assert {row["meaning"] for row in command_codes.catalogue(vans)} >= {"undo the last scan of this scanner"}


def test_the_status_line_says_printer_and_feedback_troubles_in_the_screen_language() -> None:
    from drivers.printers import PrinterState, PrinterStatus
    from drivers.scanners import ScannerState
    from station.printing import PrinterReport
    from station.ui.app import PRINTER_STATE_WORDS, SCANNER_STATE_WORDS

    french = gettext.translation("station", LOCALE_DIR, languages=["fr"])
    fault = reasons.LAST_LABEL_NOT_CONFIRMED(state="paper out")
    report = PrinterReport("2", ("sort_label",), PrinterStatus(PrinterState.PAPER_OUT), waiting=4, fault=fault)
    assert report.text == "printer 2: paper out, last label not confirmed (a REPRINT follows), 4 labels waiting"
    assert shown(report.text, french) == (
        "imprimante 2 : plus de papier, dernière étiquette non confirmée (un DUPLICATA suit), 4 étiquettes en attente"
    )
    back = PrinterReport("2", ("sort_label",), PrinterStatus(PrinterState.READY), waiting=1, back=True)
    assert (
        shown(back.text, french) == "imprimante 2 revenue : impression de 1 étiquette en attente dans l'ordre des scans"
    )
    off = PrinterReport("bay-3", ("load_list",), PrinterStatus(PrinterState.OFFLINE))
    assert shown(off.text, french) == "imprimante bay-3 : éteinte ou débranchée"
    failed = reasons.FEEDBACK_FAILED(device=reasons.FEEDBACK_RELAY(name="bay-3"), why="[Errno 19] No such device")
    assert shown(failed, french) == "relais bay-3 EN PANNE ([Errno 19] No such device)"  # the OS's words stay
    # Every state a driver can report has its word.
    assert set(PRINTER_STATE_WORDS) == {state.value for state in PrinterState}
    assert set(SCANNER_STATE_WORDS) == {state.value for state in ScannerState if state is not ScannerState.CONNECTED}
