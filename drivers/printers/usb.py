"""USB label printers through pyusb: the printer class interface and its bulk endpoints.

This module owns talking to a USB printer without the kernel's help: find the device by
vendor/product (and serial number when several identical printers hang off one Pi), find
its printer-class interface (class 7), detach the kernel's ``usblp`` driver if it holds
that interface (otherwise every transfer fails with "Resource busy"), write labels to the
bulk OUT endpoint and, for status, send ``~HS`` and read the bulk IN endpoint. A printer
without a bulk IN endpoint (unidirectional) is asked with the printer class's
GET_PORT_STATUS request instead, which only knows "paper empty" and "error".

Hardware notes: detaching usblp makes ``/dev/usb/lp*`` disappear until the printer is
replugged, so configure a printer as ``usb`` or as ``lp``, not both. The station user needs
write access to ``/dev/bus/usb/...``: ``systemd/99-station.rules`` gives printers to group
``lp``. The handle is dropped on any USB error and looked up again on the next call, which
is how a replugged printer (new bus address) is found again.

Tests inject a device object (``device=``) implementing the handful of pyusb calls used
here: ``get_active_configuration``, ``set_configuration``, ``is_kernel_driver_active``,
``detach_kernel_driver``, ``write``, ``read`` and ``ctrl_transfer``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

from drivers.printers import zpl_status
from drivers.printers.base import Printer, PrinterError, PrinterState, PrinterStatus

log = logging.getLogger(__name__)
wire = logging.getLogger("drivers.wire")

PRINTER_CLASS = 7
GET_PORT_STATUS = 1  # printer class request (USB Printer Class 1.1, section 4.2.2)
_PAPER_EMPTY, _SELECTED, _NOT_ERROR = 0x20, 0x10, 0x08


@dataclass
class _Handle:
    device: Any
    interface: int
    out_ep: int
    in_ep: int | None


def find_printer_interface(device: Any) -> tuple[int, int, int | None]:
    """Return (interface number, bulk OUT address, bulk IN address or None)."""
    try:
        config = device.get_active_configuration()
    except usb.core.USBError:
        # Not configured yet (fresh plug without a kernel driver): take configuration 1.
        device.set_configuration()
        config = device.get_active_configuration()
    for interface in config:
        if interface.bInterfaceClass != PRINTER_CLASS:
            continue
        out_ep: int | None = None
        in_ep: int | None = None
        for endpoint in interface:
            if usb.util.endpoint_type(endpoint.bmAttributes) != usb.util.ENDPOINT_TYPE_BULK:
                continue
            if usb.util.endpoint_direction(endpoint.bEndpointAddress) == usb.util.ENDPOINT_OUT:
                out_ep = out_ep if out_ep is not None else endpoint.bEndpointAddress
            else:
                in_ep = in_ep if in_ep is not None else endpoint.bEndpointAddress
        if out_ep is not None:
            return interface.bInterfaceNumber, out_ep, in_ep
    raise PrinterError("no USB printer-class interface with a bulk OUT endpoint")


class UsbPrinter(Printer):
    def __init__(
        self,
        name: str,
        vendor_id: int,
        product_id: int,
        serial_number: str | None = None,
        timeout_s: float = 5.0,
        device: Any = None,
        finder: Callable[[], Any] | None = None,
    ) -> None:
        self.name = name
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.serial_number = serial_number
        self.timeout_s = timeout_s
        self._injected = device
        self._finder = finder or self._find
        self._handle: _Handle | None = None

    @property
    def _timeout_ms(self) -> int:
        return max(1, int(self.timeout_s * 1000))

    def _find(self) -> Any:
        if self._injected is not None:
            return self._injected

        def match(device: Any) -> bool:
            if self.serial_number is None:
                return True
            try:
                return bool(device.serial_number == self.serial_number)
            except (usb.core.USBError, ValueError):
                return False  # no permission to read strings: cannot be ours for sure

        return usb.core.find(idVendor=self.vendor_id, idProduct=self.product_id, custom_match=match)

    def _open(self) -> _Handle:
        if self._handle is not None:
            return self._handle
        try:
            device = self._finder()
        except usb.core.NoBackendError as exc:
            raise PrinterError(f"printer {self.name}: libusb is missing (apt-get install libusb-1.0-0)") from exc
        if device is None:
            raise PrinterError(f"printer {self.name}: USB {self.vendor_id:04x}:{self.product_id:04x} not found")
        interface, out_ep, in_ep = find_printer_interface(device)
        try:
            if device.is_kernel_driver_active(interface):
                log.info("printer %s: detaching the kernel usblp driver from interface %d", self.name, interface)
                device.detach_kernel_driver(interface)
        except NotImplementedError:
            pass  # backends without the call (not Linux) have no kernel driver to fight
        self._handle = _Handle(device, interface, out_ep, in_ep)
        return self._handle

    def _drop(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and handle.device is not self._injected:
            # The device may be gone already; there is nothing left to release then.
            with contextlib.suppress(Exception):
                usb.util.dispose_resources(handle.device)

    def send(self, payload: bytes) -> None:
        try:
            handle = self._open()
            wire.debug("%s -> %r", self.name, payload)
            written = handle.device.write(handle.out_ep, payload, self._timeout_ms)
        except usb.core.USBTimeoutError as exc:
            self._drop()
            raise PrinterError(f"printer {self.name} is not taking data (paper out or head open?)") from exc
        except (usb.core.USBError, NotImplementedError) as exc:
            self._drop()
            raise PrinterError(f"printer {self.name}: USB error: {exc}") from exc
        if written != len(payload):
            raise PrinterError(f"printer {self.name} took {written} of {len(payload)} bytes")

    def status(self) -> PrinterStatus:
        try:
            handle = self._open()
        except PrinterError as exc:
            return PrinterStatus(PrinterState.OFFLINE, str(exc))
        except usb.core.USBError as exc:
            self._drop()
            return PrinterStatus(PrinterState.OFFLINE, f"USB error: {exc}")
        try:
            if handle.in_ep is None:
                return self._port_status(handle)
            return self._host_status(handle)
        except usb.core.USBError as exc:
            self._drop()
            if exc.errno == 19:  # ENODEV: unplugged between calls
                return PrinterStatus(PrinterState.OFFLINE, "unplugged")
            return PrinterStatus(PrinterState.FAULT, f"USB error: {exc}")

    def _host_status(self, handle: _Handle) -> PrinterStatus:
        assert handle.in_ep is not None
        wire.debug("%s -> %r", self.name, zpl_status.QUERY)
        handle.device.write(handle.out_ep, zpl_status.QUERY, self._timeout_ms)
        answer = b""
        deadline = time.monotonic() + self.timeout_s
        while not zpl_status.is_complete(answer):
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            try:
                answer += bytes(handle.device.read(handle.in_ep, 512, left_ms))
            except usb.core.USBTimeoutError:
                break
        wire.debug("%s <- %r", self.name, answer)
        return zpl_status.status_from_answer(answer)

    def _port_status(self, handle: _Handle) -> PrinterStatus:
        request_type = usb.util.build_request_type(
            usb.util.CTRL_IN, usb.util.CTRL_TYPE_CLASS, usb.util.CTRL_RECIPIENT_INTERFACE
        )
        # wIndex carries the interface number in its high byte (alternate setting low).
        data = handle.device.ctrl_transfer(request_type, GET_PORT_STATUS, 0, handle.interface << 8, 1, self._timeout_ms)
        bits = int(data[0])
        if bits & _PAPER_EMPTY:
            return PrinterStatus(PrinterState.PAPER_OUT, "paper empty (USB port status)")
        if not bits & _NOT_ERROR:
            return PrinterStatus(PrinterState.FAULT, "printer reports an error (USB port status)")
        if not bits & _SELECTED:
            return PrinterStatus(PrinterState.PAUSED, "not selected (USB port status)")
        return PrinterStatus(PrinterState.READY, "USB port status")

    def close(self) -> None:
        self._drop()
