"""Who may speak to the central server: the tokens file and the roles it grants.

Owns the roles of docs/sync-protocol.md. A *station* token is bound to one station id and
its hub: it pushes that station's events, reads its hub's manifest and plan and publishes
its hub's plan. A *system* token belongs to one of the company's systems (the TMS that
writes manifests, subscribes to webhooks). A *driver* token belongs to a driver's app: it
posts proof of delivery and nothing else (docs/tracking.md). The file holds only SHA-256
hashes of the tokens, so a copy of it (a backup, a support ticket) grants nothing; a token
is shown once, when it is made.

The file is TOML::

    [[stations]]
    id = "dock-1"
    hub = "Lyon Gerland"
    token_sha256 = "<64 hex digits>"

    [[systems]]
    name = "tms"
    token_sha256 = "<64 hex digits>"

    [[drivers]]
    id = "drv-7"
    token_sha256 = "<64 hex digits>"

A malformed file is refused whole, with its line and the reason (:class:`TokensError`):
the server does not start half-configured.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.errors import ConfigError

HEX64 = re.compile(r"[0-9a-f]{64}")
# Ids and hub names travel in URLs, logs and the tokens file: printable, bounded.
MAX_NAME = 64


class TokensError(ConfigError):
    """The tokens file cannot be used; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class StationRole:
    """A station's token: its own events, its hub's manifest and plan."""

    station_id: str
    hub: str

    def describe(self) -> str:
        return f"station {self.station_id} of hub {self.hub}"


@dataclass(frozen=True)
class SystemRole:
    """A company system's token (the TMS): writes manifests, reads any hub's documents."""

    name: str

    def describe(self) -> str:
        return f"system {self.name}"


@dataclass(frozen=True)
class DriverRole:
    """A driver's app: posts proof of delivery (docs/tracking.md), nothing of the station protocol."""

    driver_id: str

    def describe(self) -> str:
        return f"driver {self.driver_id}"


Role = StationRole | SystemRole  # who may speak the station protocol
Holder = Role | DriverRole  # anyone the tokens file lists


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    """Token hash -> role. Lookups hash the presented token; the file never holds a token."""

    def __init__(self, roles: Mapping[str, Holder] | None = None) -> None:
        self._by_hash: dict[str, Holder] = dict(roles or {})

    def role_for(self, presented: str) -> Holder | None:
        digest = hash_token(presented)
        found: Holder | None = None
        for known, role in self._by_hash.items():
            # Every entry compared in constant time: no timing hint of a near miss.
            if hmac.compare_digest(known, digest):
                found = role
        return found

    def roles(self) -> list[Holder]:
        return list(self._by_hash.values())


def _line_of(text: str, table: str, index: int) -> int:
    """The line of the ``index``-th ``[[table]]`` header (1-based), for messages."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if re.fullmatch(rf"\s*\[\[\s*{table}\s*\]\]\s*(#.*)?", line):
            if seen == index:
                return number
            seen += 1
    return 0


def _name(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string")
    if len(value) > MAX_NAME or not value.isprintable() or value != value.strip():
        raise ValueError(f"{where}: {key} {value!r} must be printable, without outer spaces, at most {MAX_NAME} long")
    return value


def parse_tokens(text: str, *, name: str = "tokens file") -> Tokens:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at line N, column M)": that is the line the reader needs.
        raise TokensError(f"{name}: not valid TOML: {exc}") from None
    unknown = set(doc) - {"stations", "systems", "drivers"}
    if unknown:
        tables = ", ".join(sorted(unknown))
        raise TokensError(f"{name}: unknown table(s) {tables}: expected [[stations]], [[systems]] and [[drivers]]")
    roles: dict[str, Holder] = {}
    ids: set[str] = set()
    systems: set[str] = set()
    drivers: set[str] = set()
    expected = (
        ("stations", {"id", "hub", "token_sha256"}),
        ("systems", {"name", "token_sha256"}),
        ("drivers", {"id", "token_sha256"}),
    )
    for table, keys in expected:
        entries = doc.get(table, [])
        if not isinstance(entries, list):
            raise TokensError(f"{name}: '{table}' must be an array of tables ([[{table}]])")
        for index, entry in enumerate(entries):
            where = f"{name}:{_line_of(text, table, index)}: [[{table}]] entry {index + 1}"
            try:
                if not isinstance(entry, dict):
                    raise ValueError(f"{where}: not a table")
                extra = set(entry) - keys
                missing = keys - set(entry)
                if missing or extra:
                    raise ValueError(
                        f"{where}: "
                        + "; ".join(
                            ([f"missing {', '.join(sorted(missing))}"] if missing else [])
                            + ([f"unknown key(s) {', '.join(sorted(extra))}"] if extra else [])
                        )
                    )
                digest = entry["token_sha256"]
                if not isinstance(digest, str) or not HEX64.fullmatch(digest):
                    raise ValueError(f"{where}: token_sha256 must be 64 lower-case hex digits (a SHA-256, not a token)")
                if digest in roles:
                    raise ValueError(f"{where}: the same token is already given to {roles[digest].describe()}")
                role: Holder
                if table == "drivers":
                    role = DriverRole(_name(entry, "id", where))
                    if role.driver_id in drivers:
                        raise ValueError(f"{where}: driver {role.driver_id} is listed twice")
                    drivers.add(role.driver_id)
                elif table == "stations":
                    role = StationRole(_name(entry, "id", where), _name(entry, "hub", where))
                    if role.station_id in ids:
                        raise ValueError(f"{where}: station {role.station_id} is listed twice")
                    ids.add(role.station_id)
                else:
                    role = SystemRole(_name(entry, "name", where))
                    if role.name in systems:
                        raise ValueError(f"{where}: system {role.name} is listed twice")
                    systems.add(role.name)
                roles[digest] = role
            except ValueError as exc:
                raise TokensError(str(exc)) from None
    return Tokens(roles)


def read_tokens(path: Path) -> Tokens:
    """Read and check the tokens file; :class:`TokensError` says where and why it is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokensError(f"tokens file {path} does not exist (make one: station central token)") from None
    except UnicodeDecodeError:
        raise TokensError(f"tokens file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise TokensError(f"tokens file {path} cannot be read: {exc.strerror}") from None
    return parse_tokens(text, name=str(path))


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string for everything json.dumps emits (no "\/").
    return json.dumps(value, ensure_ascii=False)


def add_token(
    path: Path,
    *,
    station: str | None = None,
    hub: str | None = None,
    system: str | None = None,
    driver: str | None = None,
) -> str:
    """Append a station (with its hub), a system or a driver to the tokens file; return the new token.

    The token itself is returned once and never stored: only its SHA-256 goes in the file.
    The file is checked before and after, so a mistake never leaves it unusable.
    """
    if [station, system, driver].count(None) != 2:
        raise TokensError("give one of a station (with its hub), a system or a driver")
    if station is not None and not hub:
        raise TokensError("a station token needs the station's hub (--hub)")
    path = Path(path)
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    current = parse_tokens(before, name=str(path))
    for role in current.roles():
        if station is not None and isinstance(role, StationRole) and role.station_id == station:
            raise TokensError(f"{path}: station {station} already has a token; remove its entry to replace it")
        if system is not None and isinstance(role, SystemRole) and role.name == system:
            raise TokensError(f"{path}: system {system} already has a token; remove its entry to replace it")
        if driver is not None and isinstance(role, DriverRole) and role.driver_id == driver:
            raise TokensError(f"{path}: driver {driver} already has a token; remove its entry to replace it")
    token = secrets.token_urlsafe(32)
    if station is not None:
        assert hub is not None
        entry = f"[[stations]]\nid = {_toml_string(station)}\nhub = {_toml_string(hub)}\n"
    elif system is not None:
        entry = f"[[systems]]\nname = {_toml_string(system)}\n"
    else:
        assert driver is not None
        entry = f"[[drivers]]\nid = {_toml_string(driver)}\n"
    entry += f'token_sha256 = "{hash_token(token)}"\n'
    after = before + ("\n" if before and not before.endswith("\n\n") else "") + entry
    parse_tokens(after, name=str(path))  # names and hubs checked by the same rules as at start
    # Written beside and renamed over: a crash never leaves half a tokens file.
    partial = path.with_name(f".{path.name}.new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(after)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)
    return token
