"""The screen's languages: every text has its French, the compiled catalog is current, texts fit 80 columns."""

from __future__ import annotations

import gettext
import json
import string
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from station import i18n
from station.config import Config, load_config
from station.core import Station
from station.errors import ConfigError
from station.i18n import LANGUAGES, set_language

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "station" / "locale" / "fr" / "LC_MESSAGES" / "station.po"
LAT15 = set(json.loads((ROOT / "tests" / "data" / "console-fonts" / "fonts.json").read_text())["Lat15-Terminus32x16"])
KEYWORDS: dict[str, Any] = {"_": None, "N_": None, "ngettext": (1, 2), "NC_": ((1, "c"), 2)}
# Long enough stand-ins for what the texts are filled with on a dock.
SAMPLES = {"lane": "13", "right_lane": "12", "van": "V12", "right_van": "V11", "stop": "120", "n": "999"}
# Free text (a path, an error, a reason inside a reason), shown in toasts, the status line or clipped.
WRAPS = {"{path}", "{error}", "{best}", "{scanners}", "{printers}", "{state}", "{why}", "{reason}"}
# Texts never shown on one screen line, and where they are shown instead.
NOT_ON_ONE_LINE = {
    "unknown parcel: not in today's manifest, put it in the exception lane; do not load": "F3 table",
    "van {van} is closed and gone: reopen it first (station reopen-van {van}) or choose another": "toast",
}
Message = tuple[str | None, str]  # (context, msgid)


def command_meanings() -> set[str]:
    """Printed on the command sheet in a two-line block (station.labels.command_sheet), not on the screen."""
    from station.command_codes import COMMANDS

    return {c.meaning for c in COMMANDS}


def extracted() -> set[Message]:
    """Every marked text of the files babel.cfg names (the extraction the docs run)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map=method_map, options_map=options_map, keywords=KEYWORDS
    ):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def french() -> dict[Message, Any]:
    with PO.open("rb") as f:
        catalog = read_po(f)
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id}


def _translated(text: object) -> bool:
    """A message (or every plural form of it) has a translation."""
    return bool(text) and (not isinstance(text, tuple) or all(text))


def test_every_screen_text_has_a_french_translation() -> None:
    fr = french()
    missing = sorted(m for m in extracted() if not _translated(fr.get(m)))
    assert not missing, f"no French for: {missing}"
    stale = sorted(set(fr) - extracted())
    assert not stale, f"translated but no longer shown (run pybabel extract/update): {stale}"


def test_the_compiled_catalog_matches_the_po_file() -> None:
    compiled = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["fr"])
    for (context, msgid), msgstr in french().items():
        if isinstance(msgstr, str):
            shown = compiled.gettext(msgid) if context is None else compiled.pgettext(context, msgid)
            assert shown == msgstr, f"{msgid!r}: run pybabel compile"


def fill(text: str) -> str:
    return string.Formatter().vformat(text, (), defaultdict(lambda: "9999", SAMPLES))


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_fit_80_columns_and_the_console_font(language: str) -> None:
    translation = i18n.translation(language)
    paper = command_meanings()
    for context, msgid in extracted():
        if any(field in msgid for field in WRAPS) or msgid in NOT_ON_ONE_LINE or msgid in paper:
            continue
        shown = fill(translation.gettext(msgid) if context is None else translation.pgettext(context, msgid))
        assert len(shown) <= 78, f"{language}: {shown!r} ({len(shown)} columns)"
        odd = {ch for ch in shown if not (" " <= ch <= "~") and ch not in LAT15}
        assert not odd, f"{language}: {shown!r} uses {odd}"
    for msgid in paper:  # on paper, in a block of two label lines (100 characters at most)
        shown = translation.gettext(msgid)
        assert len(shown) <= 100, f"{language}: {shown!r}"
        assert not {ch for ch in shown if not (" " <= ch <= "~") and ch not in LAT15}, shown


def test_a_language_the_station_does_not_ship_is_refused() -> None:
    with pytest.raises(ValueError, match="not shipped"):
        set_language("xx")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_keys_line_fits_80_columns_with_every_key(language: str) -> None:
    from station.ui.screens import keys_help

    set_language(language)
    try:
        line = "  ".join(keys_help(demo=True, kiosk=False))
    finally:
        set_language("en")
    assert len(line) <= 78, line
    assert "F5" in line and "F10" in line


async def test_the_station_speaks_the_configured_language(config: Config, tmp_path: Path) -> None:
    from station.ui.launch import build_app
    from station.ui.widgets import OutcomeBanner

    path = tmp_path / "station.toml"
    path.write_text(
        (ROOT / "station" / "example-config.toml").read_text(encoding="utf-8") + '\n[station]\nlanguage = "fr"\n',
        encoding="utf-8",
    )
    french_config = load_config(path, config.data_dir)
    assert french_config.rules.language == "fr"
    app = build_app(french_config)
    try:
        async with app.run_test(size=(80, 25)) as pilot:
            await pilot.pause()
            assert "PRÊT À SCANNER" in str(app.dock.query_one(OutcomeBanner).render())
            await app.process("1Z999AA10123456784", device="keyboard")
            assert "COLIS INCONNU" in str(app.dock.query_one(OutcomeBanner).render())
    finally:
        set_language("en")
        app.queue.close()
        app.station.close()


def test_an_unshipped_language_in_the_config_is_refused(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(
        (ROOT / "station" / "example-config.toml").read_text(encoding="utf-8") + '\n[station]\nlanguage = "xx"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="station.language"):
        load_config(path, config.data_dir)


# ---- the labels and printed sheets ---------------------------------------------------------


def french_sort_label(address: str = "12 Rue Garibaldi", language: str = "fr") -> bytes:
    from datetime import date

    from station.labels import sort_label

    return sort_label(
        tracking_id="1Z999AA10123456784",
        lane=7,
        stop=23,
        van="V07",
        address=address,
        postal_code="69003",
        day=date(2026, 11, 25),
        station_id="dock-1",
        language=language,
    )


def test_a_french_sort_label_carries_its_words_in_utf8_and_still_escapes_fields() -> None:
    zpl = french_sort_label(address="^XZ^XA~JR Allée_des_Tilleuls")
    assert b"^CI28" in zpl  # field data is UTF-8: É prints as itself
    text = zpl.decode("utf-8")
    assert "^FH^FDALLÉE^FS" in text and "^FH^FDARRÊT^FS" in text and "^FH^FDCAMION V07^FS" in text
    assert "LANE" not in text and "STOP" not in text
    assert text.count("^XA") == 1 and text.count("^XZ") == 1 and "~JR" not in text
    assert "_5EXZ_5EXA_7EJR Allée_5Fdes" in text


def test_a_label_is_english_by_default_and_a_reprint_is_marked_in_the_language() -> None:
    from station.labels import mark_reprint

    english = french_sort_label(language="en").decode()
    assert "^FDLANE^FS" in english and "^FDVAN V07^FS" in english
    assert b"*** DUPLICATA ***" in mark_reprint(french_sort_label(), "fr")
    assert b"*** REPRINT ***" in mark_reprint(french_sort_label())


def test_the_day_close_columns_stand_over_their_figures_in_every_language() -> None:
    from station.labels import DAY_CLOSE_COLUMNS

    def starts(header: str) -> list[int]:
        return [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")]

    for language in LANGUAGES:
        header = i18n.translation(language).gettext(DAY_CLOSE_COLUMNS)
        assert starts(header) == starts(DAY_CLOSE_COLUMNS), f"{language}: {header!r}"


def test_the_station_prints_its_labels_and_sheets_in_the_configured_language(config: Config, tmp_path: Path) -> None:
    from station.core import Station
    from station.dayclose import day_close
    from station.demo_day import generate_day
    from tests.conftest import round_robin_plan

    path = tmp_path / "station.toml"
    path.write_text(
        (ROOT / "station" / "example-config.toml").read_text(encoding="utf-8") + '\n[station]\nlanguage = "fr"\n',
        encoding="utf-8",
    )
    french_config = load_config(path, config.data_dir)
    station = Station.open(french_config)
    try:
        parcels = generate_day(french_config.hub, parcels=12, seed=3)
        station.replace_manifest(parcels, version="test")
        station.save_plan(round_robin_plan(french_config, parcels))
        station.scan(parcels[0].tracking_id, device="t")
        payload = bytes(
            station.store.scalar("SELECT payload FROM print_jobs WHERE tracking_id = ?", (parcels[0].tracking_id,))
        )
        assert "ALLÉE".encode() in payload and b"LANE" not in payload
        summary = day_close(station).to_zpl(french_config.station_id, french_config.rules.language).decode()
        assert "BILAN" in summary and "hors manifeste" in summary
    finally:
        station.close()


def test_the_core_writes_english_reasons_and_the_screen_shows_them_in_its_language(planned: Station) -> None:
    from station.barcodes import station_code
    from station.sorting import UNKNOWN_REASON
    from station.ui.screens import instruction_for, reason_shown

    unknown = planned.scan("1Z999AA10123456784", device="t")
    planned.scan(station_code("command", "UNDO"), device="t")
    undo = planned.scan(station_code("command", "UNDO"), device="t")  # one step, not a chain
    stored = planned.store.scalar("SELECT reason FROM events WHERE event_id = ?", (unknown.event_id,))
    assert unknown.reason == stored == UNKNOWN_REASON  # English: what the central server gets
    set_language("fr")
    try:
        assert reason_shown(stored) == "colis inconnu : absent du manifeste, le mettre en allée d'anomalies"
        assert instruction_for(undo) == "rien à annuler"
        assert reason_shown("reassigned to van V03 at lane 3") == "réaffecté au camion V03, allée 3"  # a template
        assert reason_shown("an older station's words") == "an older station's words"  # no template made it: as is
        assert reason_shown(None) == ""
    finally:
        set_language("en")
    assert instruction_for(undo) == "nothing to undo"
