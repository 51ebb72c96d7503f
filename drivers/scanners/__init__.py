"""Barcode scanners: every kind yields :class:`~drivers.scanners.base.RawScan` objects."""

from drivers.scanners.base import RawScan, Scanner, ScannerState

__all__ = ["RawScan", "Scanner", "ScannerState"]
