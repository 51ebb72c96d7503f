"""The station's exception tree, in one place.

Every message is written to be shown to a dock worker or a hub lead as it is:
short, in the domain's words, saying what to do where there is something to do.

    StationError
    ├── ConfigError        the config file is missing or a key is wrong
    ├── ManifestError      a manifest file was rejected (carries every bad line)
    ├── PlanningError      the planner could not produce a plan
    ├── StoreError         the database could not be opened or written
    └── SyncError          the central server refused us for a reason that needs a person
"""

from __future__ import annotations


class StationError(Exception):
    """Base of every error the station raises on purpose."""


class ConfigError(StationError):
    """The config is missing, unreadable, or a key has a wrong value."""


class ManifestError(StationError):
    """A manifest file was rejected as a whole.

    ``problems`` holds one ``(line_number, reason)`` pair per bad line; line 0 means
    the file as a whole (an unreadable file, a missing column).
    """

    def __init__(self, message: str, problems: list[tuple[int, str]] | None = None, unit: str = "line") -> None:
        super().__init__(message)
        self.problems = problems or []
        self.unit = unit  # "line" for CSV, "parcel" for JSON lists

    def __str__(self) -> str:
        lines = [super().__str__()]
        lines += [f"  {self.unit} {n}: {why}" if n else f"  {why}" for n, why in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        return "\n".join(lines)


class PlanningError(StationError):
    """The planner could not make a plan at all (not: some parcels left unplanned)."""


class StoreError(StationError):
    """The station's database could not be opened, checked or written."""


class SyncError(StationError):
    """The central server refused the station for a reason a person must fix."""
