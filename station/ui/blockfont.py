"""Big characters drawn with full and half blocks, which every console font has.

Textual's ``Digits`` uses rounded box glyphs that the Linux console font lacks, so the
lane number is drawn here from a 5x7 pixel font: each pixel is ``sx`` columns wide and
``sy`` half-rows tall, and two half-rows share one text row through ``▀``, ``▄``, ``█``.
"""

from __future__ import annotations

GLYPHS: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("####.", "....#", "....#", ".###.", "....#", "....#", "####."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": (".###.", "#....", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "....#", ".###."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "?": (".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
    "!": ("..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."),
    " ": (".....",) * 7,
}
HEIGHT = 7
WIDTH = 5


def size(text: str, sx: int, sy: int) -> tuple[int, int]:
    """Columns and rows ``render`` needs for ``text`` at this scale."""
    n = len(text)
    return (n * WIDTH * sx + max(0, n - 1) * sx, (HEIGHT * sy + 1) // 2)


def render(text: str, sx: int = 2, sy: int = 2) -> list[str]:
    """``text`` as lines of block characters (unknown characters draw as ``?``)."""
    pixel_rows: list[str] = []
    glyphs = [GLYPHS.get(ch, GLYPHS["?"]) for ch in text.upper()]
    for row in range(HEIGHT):
        line = (" " * sx).join("".join(("█" if px == "#" else " ") * sx for px in g[row]) for g in glyphs)
        pixel_rows.extend([line] * sy)
    if len(pixel_rows) % 2:
        pixel_rows.append(" " * len(pixel_rows[0]))
    out = []
    for top, bottom in zip(pixel_rows[::2], pixel_rows[1::2], strict=True):
        out.append("".join(_cell(a == "█", b == "█") for a, b in zip(top, bottom, strict=True)))
    return out


def _cell(top: bool, bottom: bool) -> str:
    if top and bottom:
        return "█"
    if top:
        return "▀"
    if bottom:
        return "▄"
    return " "


def best_scale(text: str, columns: int, rows: int) -> tuple[int, int]:
    """The largest scale at which ``text`` fits in ``columns`` x ``rows``; at least (1, 1)."""
    best = (1, 1)
    for sx in range(1, 8):
        for sy in range(1, 8):
            w, h = size(text, sx, sy)
            # Text cells are about twice as tall as wide: keep the glyphs' proportions sane.
            if w <= columns and h <= rows and sx <= sy * 2 and sy <= sx * 2 and sx * sy > best[0] * best[1]:
                best = (sx, sy)
    return best
