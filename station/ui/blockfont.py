"""Big characters drawn with the full block and spaces only.

Every Linux console font has ``█``; none of the console-setup fonts has the half blocks
(``▀ ▄ ▌``), and Textual's ``Digits`` uses glyphs they lack too. So the lane number (and
SCAN AGAIN) is drawn here from a 5x7 pixel font, stretched to any number of rows and
columns: a pixel row becomes one or more text rows, a pixel column one or more columns.
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
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###."),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "N": ("#...#", "##..#", "#.#.#", "#.#.#", "#..##", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".###.", "#...#", "#....", ".###.", "....#", "#...#", ".###."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "?": (".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
    "!": ("..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."),
    " ": (".....",) * 7,
}
HEIGHT = 7
WIDTH = 5
GAP = 1  # pixel columns between two characters
BLOCK = "█"


def pixel_width(text: str) -> int:
    n = len(text)
    return n * WIDTH + max(0, n - 1) * GAP


def _stretch(pixels: int, cells: int) -> list[int]:
    """For each of ``cells`` output cells, the pixel it shows (nearest neighbour, evenly spread)."""
    return [min(pixels - 1, (2 * i + 1) * pixels // (2 * cells)) for i in range(cells)]


def render(text: str, columns: int, rows: int) -> list[str]:
    """``text`` drawn in exactly ``rows`` lines of ``columns`` cells (unknown characters as ``?``).

    ``columns`` and ``rows`` must be at least the font's pixel size (``fits`` says so).
    """
    glyphs = [GLYPHS.get(ch, GLYPHS["?"]) for ch in text.upper()]
    pixel_rows = [(" " * GAP).join(g[row] for g in glyphs).replace(" ", ".") for row in range(HEIGHT)]
    x_map = _stretch(pixel_width(text), columns)
    return ["".join(BLOCK if pixel_rows[py][px] == "#" else " " for px in x_map) for py in _stretch(HEIGHT, rows)]


def best_block(lines: list[str], columns: int, rows: int) -> list[str] | None:
    """``lines`` of text drawn one under the other, as large as fits ``columns`` x ``rows``.

    Uses the whole height (less one blank row between lines); the width follows from it
    (a text cell is about twice as tall as wide, so a square pixel is two columns per row),
    in whole multiples of the pixel width so every stroke is equally thick, and the same
    for every line. None if the lines do not fit at all.
    """
    if not lines or not all(lines):
        return None
    per_line = (rows - (len(lines) - 1)) // len(lines)
    widest = max(pixel_width(line) for line in lines)
    if per_line < HEIGHT or columns < widest:
        return None
    scale_x = max(1, min(columns // widest, round(2 * per_line / HEIGHT)))
    block: list[str] = []
    for line in lines:
        if block:
            block.append("")
        block.extend(render(line, pixel_width(line) * scale_x, per_line))
    return block
