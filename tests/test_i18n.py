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
from babel.messages.pofile import read_po

from station.config import Config, load_config
from station.errors import ConfigError
from station.ui import i18n
from station.ui.i18n import LANGUAGES, set_language

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "station" / "locale" / "fr" / "LC_MESSAGES" / "station.po"
LAT15 = set(json.loads((ROOT / "tests" / "data" / "console-fonts" / "fonts.json").read_text())["Lat15-Terminus32x16"])
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
# Long enough stand-ins for what the texts are filled with on a dock.
SAMPLES = {"lane": "13", "right_lane": "12", "van": "V12", "right_van": "V11", "stop": "120", "n": "999"}
WRAPS = {"{path}", "{error}", "{best}", "{scanners}", "{printers}", "{state}"}  # free text, shown in toasts/status


def extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "station" / "ui"), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def french() -> dict[str, Any]:
    with PO.open("rb") as f:
        catalog = read_po(f)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id}


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
    for msgid, msgstr in french().items():
        if isinstance(msgstr, str):
            assert compiled.gettext(msgid) == msgstr, f"{msgid!r}: run pybabel compile"


def fill(text: str) -> str:
    return string.Formatter().vformat(text, (), defaultdict(lambda: "9999", SAMPLES))


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_fit_80_columns_and_the_console_font(language: str) -> None:
    set_language(language)
    try:
        for msgid in extracted():
            if any(field in msgid for field in WRAPS):
                continue
            shown = fill(i18n._(msgid))
            assert len(shown) <= 78, f"{language}: {shown!r} ({len(shown)} columns)"
            odd = {ch for ch in shown if not (" " <= ch <= "~") and ch not in LAT15}
            assert not odd, f"{language}: {shown!r} uses {odd}"
    finally:
        set_language("en")


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
