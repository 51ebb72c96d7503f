"""Barcode scanners: every kind yields :class:`~drivers.scanners.base.RawScan` objects.

Implementations, imported on demand (``drivers.factory`` builds them from config):
``serial.SerialScanner`` (pyserial, thread reader), ``hid.HidScanner`` (evdev keyboard
wedge, decoding in ``wedge``), ``simulated.SimulatedScanner`` (a pseudo-terminal read by
``SerialScanner``).
"""

from drivers.scanners.base import RawScan, Scanner, ScannerState

__all__ = ["RawScan", "Scanner", "ScannerState"]
