"""Every screen draws only characters the Linux console's fonts have.

Drawing (frames, big digits, bars) must come from the characters every console font has
(tests/data/console-fonts/safe-everywhere.txt); letters may also come from the Lat15 font the
install sets (accented capitals for French). The screens are rendered headless and read
back from Textual's screenshot, as the terminal would get them.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path

import pytest

from station.config import Config
from station.i18n import set_language
from tests.dock_scenes import LEAD_SCENES, OUTCOME_SCENES, make_app, open_day, play

FONTS = Path(__file__).parent / "data" / "console-fonts"
SAFE_EVERYWHERE = set((FONTS / "safe-everywhere.txt").read_text(encoding="utf-8").strip("\n"))
INSTALL_FONT = "Lat15-Terminus32x16"  # docs/install-pi.md sets it
LAT15 = set(json.loads((FONTS / "fonts.json").read_text(encoding="utf-8"))[INSTALL_FONT])
SCENES = [*OUTCOME_SCENES, "failure", *LEAD_SCENES, "scan_over_lanes"]


def allowed(ch: str) -> bool:
    if " " <= ch <= "~" or ch in "\xa0\n" or ch in SAFE_EVERYWHERE:
        return True
    return unicodedata.category(ch).startswith("L") and ch in LAT15


def screen_text(svg: str) -> str:
    """The characters of a Textual SVG screenshot (the <text> elements' content)."""
    return "".join(html.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg))


def test_the_font_tables_are_there() -> None:
    assert "█" in SAFE_EVERYWHERE and "─" in SAFE_EVERYWHERE
    assert "▀" not in SAFE_EVERYWHERE and "…" not in SAFE_EVERYWHERE and "━" not in SAFE_EVERYWHERE
    assert "É" in LAT15 and "À" in LAT15


# The inner loop (-m "not slow") keeps one case: English at 80x25; CI runs the four.
@pytest.mark.parametrize("language", ["en", pytest.param("fr", marks=pytest.mark.slow)])
@pytest.mark.parametrize("size", [(80, 25), pytest.param((240, 67), marks=pytest.mark.slow)], ids=["80x25", "240x67"])
async def test_every_screen_uses_only_console_glyphs(
    config: Config, tmp_path: Path, size: tuple[int, int], language: str
) -> None:
    set_language(language)
    try:
        station, day = open_day(config)
        try:
            for scene in SCENES:
                app = make_app(station, tmp_path)
                async with app.run_test(size=size) as pilot:
                    await play(app, pilot, scene, day)
                    app.notify("a toast", severity="error")
                    await pilot.pause()
                    text = screen_text(app.export_screenshot())
                bad = sorted({ch for ch in text if not allowed(ch)})
                assert not bad, f"{scene} at {size} in {language}: {[f'{c} U+{ord(c):04X}' for c in bad]}"
                assert "█" in text or scene in LEAD_SCENES or scene == "scan_over_lanes"
        finally:
            station.close()
    finally:
        set_language("en")
