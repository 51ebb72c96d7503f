"""The station's devices, built from its config: scanners with roles, printers with jobs.

Owns the mapping from ``[[scanners]]`` / ``[[printers]]`` tables to driver objects
(through ``drivers.factory``) and the station-side settings the drivers don't know:
a scanner's role (sort, or load at a van), which printouts a printer takes, and where a
file printer writes by default (DATA_DIR/labels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from drivers.factory import make_printer, make_scanner
from drivers.printers import Printer
from drivers.scanners import Scanner
from station.barcodes import FRAMING_KEYS, Framing, framing_from_config
from station.config import Config
from station.errors import ConfigError
from station.model import Role
from station.printing import JOBS, PrintQueue
from station.store import Store


@dataclass
class ScannerSlot:
    """A scanner and the role it scans in; a van code scanned with it re-binds it."""

    scanner: Scanner
    role: str  # "sort" or "load:<van id>"
    framing: Framing | None = None  # configured prefixes/suffixes/FNC1 stand-in, if any


# Keys the station reads itself; the drivers never see them.
_STATION_KEYS = {"role", "jobs", *FRAMING_KEYS}


def _driver_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in _STATION_KEYS}


def build_scanners(
    config: Config, *, demo_codes: Iterable[str] | None = None, interval_s: float | None = None
) -> list[ScannerSlot]:
    """Open every configured scanner. A simulated one without codes plays ``demo_codes``."""
    slots = []
    for i, spec in enumerate(config.scanners):
        driver_spec = _driver_spec(spec)
        try:
            if spec["kind"] == "simulated" and not spec.get("codes") and demo_codes is not None:
                from drivers.scanners.simulated import SimulatedScanner

                scanner: Scanner = SimulatedScanner(
                    spec["name"],
                    codes=demo_codes,
                    interval_s=interval_s if interval_s is not None else float(spec.get("interval_s", 2.5)),
                    jitter_s=0.0 if interval_s == 0 else float(spec.get("jitter_s", 0.8)),
                )
            else:
                scanner = make_scanner(driver_spec)
        except ValueError as exc:
            raise ConfigError(f"config scanners[{i}]: {exc}") from None
        try:
            role = Role.parse(spec.get("role", "sort"))
        except ValueError as exc:
            raise ConfigError(f"config key scanners[{i}].role: {exc}") from None
        if role.van_id is not None and config.van(role.van_id) is None:
            raise ConfigError(f"config key scanners[{i}].role: van {role.van_id!r} is not among [[vans]]")
        framing = None
        if any(k in spec for k in FRAMING_KEYS):
            try:
                framing = framing_from_config(spec)
            except ValueError as exc:
                raise ConfigError(f"config scanners[{i}]: {exc}") from None
        slots.append(ScannerSlot(scanner, str(role), framing))
    return slots


def build_printers(config: Config) -> dict[str, tuple[Printer, tuple[str, ...]]]:
    printers: dict[str, tuple[Printer, tuple[str, ...]]] = {}
    for i, spec in enumerate(config.printers):
        jobs = spec.get("jobs", list(JOBS))
        if not isinstance(jobs, list) or not all(j in JOBS for j in jobs):
            raise ConfigError(f"config key printers[{i}].jobs: expected a list of {', '.join(JOBS)}, got {jobs!r}")
        driver_spec = _driver_spec(spec)
        if spec["kind"] == "file" and "directory" not in driver_spec:
            driver_spec["directory"] = str(config.labels_dir)
        try:
            printers[spec["name"]] = (make_printer(driver_spec), tuple(jobs))
        except ValueError as exc:
            raise ConfigError(f"config printers[{i}]: {exc}") from None
    return printers


def build_print_queue(config: Config, store: Store) -> PrintQueue:
    return PrintQueue(store, build_printers(config), language=config.rules.language)


def deliver_now(config: Config, store: Store) -> int:
    """Print what is queued, once, and release the printers (for one-shot CLI commands).

    A printer problem never fails the command: the jobs stay queued for the station.
    """
    queue = build_print_queue(config, store)
    try:
        return queue.deliver()
    finally:
        queue.close()
