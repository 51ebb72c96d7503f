"""The protocol docs kept in step with the code: every route the reference server has is
in docs/openapi.yaml (and nothing else is), every fault kind and event kind is documented."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from station.central.app import EVENT_KINDS, create_app
from station.central.faults import KINDS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def openapi_paths() -> dict[str, set[str]]:
    paths: dict[str, set[str]] = {}
    current = None
    in_paths = False
    for line in (DOCS / "openapi.yaml").read_text().splitlines():
        if line == "paths:":
            in_paths = True
            continue
        if in_paths and line and not line.startswith(" "):
            break
        if m := re.fullmatch(r"  (/\S*):", line):
            current = m.group(1)
            paths[current] = set()
        elif current and (m := re.fullmatch(r"    (get|post|put|delete):", line)):
            paths[current].add(m.group(1).upper())
    return paths


def test_openapi_lists_exactly_the_server_routes(tmp_path: Path) -> None:
    app = create_app(tmp_path, {}, enable_fault_admin=True)
    served: dict[str, set[str]] = {}
    for route in app.routes:
        assert isinstance(route, Route)
        served.setdefault(route.path, set()).update((route.methods or set()) - {"HEAD"})
    assert openapi_paths() == served


def test_every_fault_and_event_kind_is_documented() -> None:
    text = (DOCS / "sync-protocol.md").read_text()
    openapi = (DOCS / "openapi.yaml").read_text()
    for kind in KINDS:
        assert f"`{kind}`" in text, kind
        assert kind in openapi
    for kind in EVENT_KINDS:
        assert f"`{kind}`" in text, kind
