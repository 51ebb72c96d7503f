"""The station's configuration: a TOML file, read and checked with clear errors.

Owns the config schema (which keys exist, their types and defaults), the data-dir
rule (``--data-dir`` / ``STATION_DATA_DIR``) and the commented example config that
``station init`` writes. A wrong config is reported by the key's full name
(``vans[3].lane: expected an integer, got "A"``) so a hub's IT can fix it without us, and
a key the station does not know stops it with the nearest valid name ("unknown key 'kisok'
(did you mean 'kiosk'?)"): a typo must never switch a setting off silently.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from station.errors import ConfigError
from station.feedback import FeedbackConfig, RelayConfig, parse_feedback, parse_relays
from station.i18n import LANGUAGES
from station.model import Hub, Role, Van
from station.sync.urls import url_problem

DATA_DIR_ENV = "STATION_DATA_DIR"
DEFAULT_DATA_DIR = Path("station-data")
CONFIG_NAME = "station.toml"


@dataclass(frozen=True)
class ServerConfig:
    url: str
    token_file: Path | None = None
    ca_file: Path | None = None
    timeout_s: float = 10.0
    batch_size: int = 500
    protocol: str = "station"  # or "epcis": post events to an EPCIS 2.0 capture interface


@dataclass(frozen=True)
class PlanningConfig:
    time_limit_s: float = 10.0
    speed_kmh: float = 25.0
    detour_factor: float = 1.3
    service_per_stop_s: int = 120
    service_per_parcel_s: int = 20
    matrix_file: Path | None = None
    backend: str = "auto"  # or "pyvrp" / "ortools" alone (see docs/planning.md for the measured difference)


@dataclass(frozen=True)
class StoreConfig:
    keep_days: int = 30  # days older than this go once the server (or an export) has all their events


@dataclass(frozen=True)
class StationRules:
    """``[station]``: the guards on what one scan or one file may do."""

    command_window_s: float = 120.0  # a command barcode applies to the device's last parcel this long
    max_cancel_share: float = 0.2  # an import cancelling more of today's open parcels needs --force
    language: str = "en"  # the screen's language: a catalog shipped in station/locale (station.i18n)


@dataclass(frozen=True)
class Config:
    station_id: str
    hub: Hub
    vans: tuple[Van, ...]
    data_dir: Path
    exception_lane: int = 0
    operator: str = "dock"
    database: Path = Path("station.db")
    scanners: tuple[dict[str, Any], ...] = ()
    printers: tuple[dict[str, Any], ...] = ()
    server: ServerConfig | None = None
    planning: PlanningConfig = field(default_factory=PlanningConfig)
    kiosk: bool = False
    timezone: str | None = None  # the hub's IANA time zone ([hub] timezone); None: the machine's
    store: StoreConfig = field(default_factory=StoreConfig)
    rules: StationRules = field(default_factory=StationRules)
    source: Path | None = None  # the file it was read from; None for the embedded default
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)  # sounds (station.feedback)
    relays: tuple[RelayConfig, ...] = ()  # a stack light per bay (station.feedback)

    @property
    def database_path(self) -> Path:
        return self.database if self.database.is_absolute() else self.data_dir / self.database

    @property
    def labels_dir(self) -> Path:
        return self.data_dir / "labels"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def van(self, van_id: str) -> Van | None:
        return next((v for v in self.vans if v.id == van_id), None)

    def van_at_lane(self, lane: int) -> Van | None:
        return next((v for v in self.vans if v.lane == lane), None)


def resolve_data_dir(cli_value: str | Path | None) -> Path:
    """``--data-dir`` wins, then ``STATION_DATA_DIR``, then ./station-data."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else DEFAULT_DATA_DIR


def example_config_text() -> str:
    """The commented example config: the demo's hub and 12 vans."""
    return resources.files("station").joinpath("example-config.toml").read_text(encoding="utf-8")


def load_config(path: Path | None, data_dir: Path) -> Config:
    """Read ``path`` (or DATA_DIR/station.toml, or the embedded example when neither exists)."""
    if path is None:
        candidate = data_dir / CONFIG_NAME
        if candidate.exists():
            path = candidate
    if path is None:
        return parse_config(tomllib.loads(example_config_text()), data_dir, source=None)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (station init writes an example)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    return parse_config(raw, data_dir, source=Path(path))


class _Reader:
    """Typed access to one TOML table, naming the full key in every error."""

    def __init__(self, table: Mapping[str, Any], prefix: str, keys: Iterable[str]) -> None:
        self.table = table
        self.prefix = prefix
        reject_unknown(table, keys, prefix)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _get(self, name: str, kinds: tuple[type, ...], what: str, default: Any, required: bool) -> Any:
        if name not in self.table:
            if required:
                raise ConfigError(f"config key {self._key(name)} is missing")
            return default
        value = self.table[name]
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(f"config key {self._key(name)}: expected {what}, got {value!r}")
        if not isinstance(value, kinds):
            raise ConfigError(f"config key {self._key(name)}: expected {what}, got {value!r}")
        return value

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self._get(name, (str,), "text", default, required)
        if required and isinstance(value, str) and not value.strip():
            raise ConfigError(f"config key {self._key(name)} is empty")
        return value

    def integer(
        self, name: str, default: int | None = None, *, required: bool = False, minimum: int | None = None
    ) -> Any:
        value = self._get(name, (int,), "an integer", default, required)
        if value is not None and minimum is not None and value < minimum:
            raise ConfigError(f"config key {self._key(name)}: must be {minimum} or more, got {value}")
        return value

    def number(self, name: str, default: float | None = None, *, required: bool = False) -> Any:
        value = self._get(name, (int, float), "a number", default, required)
        return None if value is None else float(value)

    def flag(self, name: str, default: bool) -> bool:
        return bool(self._get(name, (bool,), "true or false", default, False))

    def clock_time(self, name: str, default: time) -> time:
        value = self.text(name)
        if value is None:
            return default
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise ConfigError(f'config key {self._key(name)}: expected a time like "07:30", got {value!r}') from None

    def path(self, name: str) -> Path | None:
        value = self.text(name)
        return Path(value) if value else None

    def table_list(self, name: str) -> list[Mapping[str, Any]]:
        value = self._get(name, (list,), f"a list of tables ([[{name}]])", [], False)
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ConfigError(f"config key {self._key(name)}[{i}]: expected a table, got {item!r}")
        return list(value)

    def sub(self, name: str, keys: Iterable[str], *, required: bool = False) -> _Reader | None:
        value = self._get(name, (dict,), f"a table ([{name}])", None, required)
        return None if value is None else _Reader(value, f"{self._key(name)}.", keys)


def reject_unknown(table: Mapping[str, Any], keys: Iterable[str], prefix: str = "") -> None:
    """Stop at the first key not in ``keys``, naming the nearest valid one."""
    valid = sorted(keys)
    for name in table:
        if name in valid:
            continue
        near = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}?" if near else f"valid keys: {', '.join(valid)}"
        where = f" in [{prefix.rstrip('.')}]" if prefix else ""
        raise ConfigError(f"config: unknown key {name!r}{where} ({hint})")


def _names(table: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(table))


TOP_KEYS = (
    "station_id",
    "operator",
    "exception_lane",
    "kiosk",
    "database",
    "hub",
    "vans",
    "scanners",
    "printers",
    "server",
    "planning",
    "store",
    "station",
    "feedback",
    "relays",
)
# A table's keys are its dataclass's fields, so a new setting cannot be forgotten here.
HUB_KEYS = (*_names(Hub), "timezone")
VAN_KEYS = _names(Van)
SERVER_KEYS = _names(ServerConfig)
PLANNING_KEYS = _names(PlanningConfig)
STORE_KEYS = _names(StoreConfig)
STATION_KEYS = _names(StationRules)


def _device_keys(kind_table: str, kind: object, where: str) -> tuple[str, ...]:
    """Every key a device table of this kind may hold (the driver's and the station's)."""
    from drivers.factory import PRINTER_KEYS, SCANNER_KEYS
    from station.barcodes import FRAMING_KEYS

    # Besides the driver's keys, the station reads a scanner's role and framing, a printer's jobs.
    by_kind, own = (SCANNER_KEYS, ("role", *FRAMING_KEYS)) if kind_table == "scanners" else (PRINTER_KEYS, ("jobs",))
    if not isinstance(kind, str) or kind not in by_kind:
        raise ConfigError(f"config key {where}kind: expected one of {', '.join(by_kind)}, got {kind!r}")
    return ("name", "kind", *own, *sorted(by_kind[kind]))


def check_timezone(name: str, key: str = "hub.timezone") -> str:
    """``name`` if it is an IANA time zone this machine knows, else a ConfigError naming it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'config key {key}: unknown time zone {name!r} (an IANA name such as "Europe/Paris")'
        ) from None
    return name


def _van(table: Mapping[str, Any], index: int) -> Van:
    r = _Reader(table, f"vans[{index}].", VAN_KEYS)
    start = r.clock_time("shift_start", time(8, 0))
    end = r.clock_time("shift_end", time(18, 0))
    if end <= start:
        raise ConfigError(f"config key vans[{index}].shift_end: must be after shift_start")
    return Van(
        id=r.text("id", required=True),
        lane=r.integer("lane", required=True, minimum=1),
        capacity=r.integer("capacity", required=True, minimum=0),
        capacity_kg=r.number("capacity_kg"),
        shift_start=start,
        shift_end=end,
        fixed_cost=r.integer("fixed_cost", 0, minimum=0),
    )


def parse_config(raw: Mapping[str, Any], data_dir: Path, *, source: Path | None) -> Config:
    r = _Reader(raw, "", TOP_KEYS)
    hub_r = r.sub("hub", HUB_KEYS, required=True)
    assert hub_r is not None
    lat = hub_r.number("lat", required=True)
    lon = hub_r.number("lon", required=True)
    if not -90 <= lat <= 90:
        raise ConfigError(f"config key hub.lat: must be between -90 and 90, got {lat}")
    if not -180 <= lon <= 180:
        raise ConfigError(f"config key hub.lon: must be between -180 and 180, got {lon}")
    hub = Hub(name=hub_r.text("name", "hub"), lat=lat, lon=lon)
    timezone = hub_r.text("timezone")
    if timezone is not None:
        check_timezone(timezone)

    van_tables = r.table_list("vans")
    if not van_tables:
        raise ConfigError("config key vans is missing: at least one [[vans]] entry with id, lane, capacity")
    vans = tuple(_van(t, i) for i, t in enumerate(van_tables))
    seen_ids: set[str] = set()
    seen_lanes: dict[int, str] = {}
    for i, van in enumerate(vans):
        if van.id in seen_ids:
            raise ConfigError(f"config key vans[{i}].id: van {van.id!r} appears twice")
        if van.lane in seen_lanes:
            raise ConfigError(f"config key vans[{i}].lane: lane {van.lane} is already van {seen_lanes[van.lane]}'s")
        seen_ids.add(van.id)
        seen_lanes[van.lane] = van.id
    exception_lane = r.integer("exception_lane", 0, minimum=0)
    if exception_lane in seen_lanes:
        raise ConfigError(f"config key exception_lane: lane {exception_lane} is van {seen_lanes[exception_lane]}'s")

    server = None
    server_table = raw.get("server")
    if isinstance(server_table, Mapping) and "token" in server_table:
        raise ConfigError("config key server.token: the token never goes in the config; use token_file")
    server_r = r.sub("server", SERVER_KEYS)
    if server_r is not None:
        url = server_r.text("url", required=True)
        problem = url_problem(url)
        if problem is not None:
            raise ConfigError(f"config key server.url: {problem}")
        server = ServerConfig(
            url=url.rstrip("/"),
            token_file=server_r.path("token_file"),
            ca_file=server_r.path("ca_file"),
            timeout_s=server_r.number("timeout_s", 10.0),
            batch_size=server_r.integer("batch_size", 500, minimum=1),
            protocol=server_r.text("protocol", "station"),
        )
        if server.protocol not in ("station", "epcis"):
            raise ConfigError(f'config key server.protocol: expected "station" or "epcis", got {server.protocol!r}')

    planning = PlanningConfig()
    planning_r = r.sub("planning", PLANNING_KEYS)
    if planning_r is not None:
        planning = PlanningConfig(
            time_limit_s=planning_r.number("time_limit_s", 10.0),
            speed_kmh=planning_r.number("speed_kmh", 25.0),
            detour_factor=planning_r.number("detour_factor", 1.3),
            service_per_stop_s=planning_r.integer("service_per_stop_s", 120, minimum=0),
            service_per_parcel_s=planning_r.integer("service_per_parcel_s", 20, minimum=0),
            matrix_file=planning_r.path("matrix_file"),
            backend=planning_r.text("backend", "auto"),
        )
        if planning.backend not in ("auto", "pyvrp", "ortools"):
            raise ConfigError(
                f'config key planning.backend: expected "auto", "pyvrp" or "ortools", got {planning.backend!r}'
            )

    devices: dict[str, list[dict[str, Any]]] = {}
    for kind in ("scanners", "printers"):
        devices[kind] = []
        for i, table in enumerate(r.table_list(kind)):
            where = f"{kind}[{i}]."
            dr = _Reader(table, where, table.keys())  # its keys are checked below, once its kind is known
            dr.text("name", required=True)
            dr.text("kind", required=True)
            reject_unknown(table, _device_keys(kind, table["kind"], where), where)
            devices[kind].append(dict(table))
    for i, spec in enumerate(devices["scanners"]):
        try:
            role = Role.parse(spec.get("role", "sort"))
        except ValueError as exc:
            raise ConfigError(f"config key scanners[{i}].role: {exc}") from None
        if role.van_id is not None and role.van_id not in seen_ids:
            raise ConfigError(f"config key scanners[{i}].role: van {role.van_id!r} is not among [[vans]]")

    store = StoreConfig()
    store_r = r.sub("store", STORE_KEYS)
    if store_r is not None:
        store = StoreConfig(keep_days=store_r.integer("keep_days", 30, minimum=1))
    rules = StationRules()
    rules_r = r.sub("station", STATION_KEYS)
    if rules_r is not None:
        rules = StationRules(
            command_window_s=rules_r.number("command_window_s", 120.0),
            max_cancel_share=rules_r.number("max_cancel_share", 0.2),
            language=rules_r.text("language", "en"),
        )
        if rules.language not in LANGUAGES:
            raise ConfigError(
                f"config key station.language: {rules.language!r} is not shipped (choose {', '.join(LANGUAGES)})"
            )
        if rules.command_window_s <= 0:
            raise ConfigError(f"config key station.command_window_s: must be above 0, got {rules.command_window_s}")
        if not 0 <= rules.max_cancel_share <= 1:
            raise ConfigError(
                f"config key station.max_cancel_share: must be between 0 and 1, got {rules.max_cancel_share}"
            )

    return Config(
        station_id=r.text("station_id", required=True),
        operator=r.text("operator", "dock"),
        hub=hub,
        vans=vans,
        data_dir=data_dir,
        exception_lane=exception_lane,
        database=Path(r.text("database", "station.db")),
        scanners=tuple(devices["scanners"]),
        printers=tuple(devices["printers"]),
        server=server,
        planning=planning,
        kiosk=r.flag("kiosk", False),
        timezone=timezone,
        store=store,
        rules=rules,
        source=source,
        feedback=parse_feedback(raw.get("feedback")),
        relays=parse_relays(r.table_list("relays"), set(seen_lanes)),
    )
