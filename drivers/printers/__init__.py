"""Label printers: every kind takes a payload with ``send`` and reports ``status``.

Implementations, imported on demand (``drivers.factory`` builds them from config):
``file.FilePrinter``, ``tcp.TcpPrinter`` (raw 9100), ``usb.UsbPrinter`` (pyusb),
``lp.LpPrinter`` (/dev/usb/lp*), ``serial.SerialPrinter``; ``zpl_status`` reads ``~HS``.
"""

from drivers.printers.base import Delivery, Printer, PrinterError, PrinterState, PrinterStatus, PrintOutcome

__all__ = ["Delivery", "PrintOutcome", "Printer", "PrinterError", "PrinterState", "PrinterStatus"]
