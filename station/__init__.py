"""The hub scan station: turns a scan into a decision and a durable record.

The core object is :class:`station.core.Station`; the screen, the CLI, the tests and the
benchmarks all drive it. See docs/architecture.md for the two flows.
"""

__version__ = "0.1.0"
