"""Label printers: every kind takes a payload with ``send`` and reports ``status``."""

from drivers.printers.base import Printer, PrinterError, PrinterState, PrinterStatus

__all__ = ["Printer", "PrinterError", "PrinterState", "PrinterStatus"]
