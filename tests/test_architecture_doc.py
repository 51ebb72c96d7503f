"""docs/architecture.md's package table names every module of station/ and drivers/."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def modules() -> set[str]:
    names = set()
    for root in ("station", "drivers"):
        for path in (REPO / root).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_package_table_lists_every_module() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text[text.index("## Packages") :]
    named = set(re.findall(r"`((?:station|drivers)(?:\.\w+)*)`", table))
    missing = sorted(modules() - named)
    assert not missing, f"docs/architecture.md does not list: {', '.join(missing)}"
    gone = sorted(n for n in named - modules() if not n.endswith(("__main__",)))
    assert not gone, f"docs/architecture.md lists modules that do not exist: {', '.join(gone)}"


def test_no_file_points_outside_the_repository() -> None:
    outside = re.compile(r"shared/|FIELD-NOTES|DESIGN\.md|STYLE\.md")
    for path in [
        *REPO.glob("station/**/*.py"),
        *REPO.glob("drivers/**/*.py"),
        *REPO.glob("*.md"),
        *REPO.glob("docs/**/*.md"),
    ]:
        text = path.read_text(encoding="utf-8")
        assert not outside.search(text), f"{path.relative_to(REPO)} points at a document outside the repository"
