"""The pyusb printer with an injected device implementing the pyusb calls it uses."""

from __future__ import annotations

import dataclasses
import errno
from dataclasses import dataclass, field

import pytest
import usb.core

from drivers.printers.base import PrinterError, PrinterState
from drivers.printers.usb import UsbPrinter
from drivers.printers.zpl_status import READY_STATUS, HostStatus, format_host_status


@dataclass
class FakeEndpoint:
    bEndpointAddress: int  # noqa: N815 - pyusb's descriptor field names
    bmAttributes: int = 0x02  # bulk  # noqa: N815


@dataclass
class FakeInterface:
    bInterfaceNumber: int  # noqa: N815
    bInterfaceClass: int  # noqa: N815
    endpoints: list[FakeEndpoint]

    def __iter__(self):
        return iter(self.endpoints)


@dataclass
class FakeZebraUsb:
    """A ZD420 as pyusb sees it: HID-less, printer class on interface 0, bulk OUT 0x01, IN 0x81."""

    bidirectional: bool = True
    status: HostStatus = READY_STATUS
    answers: bool = True
    kernel_driver: bool = True
    configured: bool = True
    unplugged: bool = False
    port_status: int = 0x18  # selected, no error
    written: list[bytes] = field(default_factory=list)
    detached: list[int] = field(default_factory=list)
    _pending: bytes = b""

    def _check(self) -> None:
        if self.unplugged:
            raise usb.core.USBError("No such device", errno=errno.ENODEV)

    def get_active_configuration(self) -> list[FakeInterface]:
        self._check()
        if not self.configured:
            raise usb.core.USBError("Configuration not set")
        endpoints = [FakeEndpoint(0x01)] + ([FakeEndpoint(0x81)] if self.bidirectional else [])
        return [FakeInterface(1, 3, [FakeEndpoint(0x82, 0x03)]), FakeInterface(0, 7, endpoints)]

    def set_configuration(self) -> None:
        self.configured = True

    def is_kernel_driver_active(self, interface: int) -> bool:
        return self.kernel_driver and interface not in self.detached

    def detach_kernel_driver(self, interface: int) -> None:
        self.detached.append(interface)

    def write(self, endpoint: int, data: bytes, timeout: int) -> int:
        self._check()
        assert endpoint == 0x01
        if self.kernel_driver and 0 not in self.detached:
            raise usb.core.USBError("Resource busy", errno=errno.EBUSY)
        self.written.append(bytes(data))
        if bytes(data) == b"~HS" and self.answers:
            self._pending += format_host_status(self.status)
        return len(data)

    def read(self, endpoint: int, size: int, timeout: int) -> bytes:
        self._check()
        assert endpoint == 0x81
        if not self._pending:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def ctrl_transfer(
        self, request_type: int, request: int, value: int, index: int, length: int, timeout: int
    ) -> bytes:
        assert (request_type, request, index, length) == (0xA1, 1, 0, 1)
        return bytes([self.port_status])


def make(device: FakeZebraUsb) -> UsbPrinter:
    return UsbPrinter("terminal", 0x0A5F, 0x0164, device=device, timeout_s=0.2)


def test_detaches_usblp_and_writes_to_bulk_out() -> None:
    device = FakeZebraUsb()
    make(device).send(b"^XA^FDLANE 2^FS^XZ")
    assert device.detached == [0]
    assert device.written == [b"^XA^FDLANE 2^FS^XZ"]


def test_sets_configuration_when_unconfigured() -> None:
    device = FakeZebraUsb(configured=False, kernel_driver=False)
    make(device).send(b"^XA^XZ")
    assert device.written == [b"^XA^XZ"]


def test_status_via_hs_on_bulk_in() -> None:
    device = FakeZebraUsb(status=dataclasses.replace(READY_STATUS, paper_out=True))
    assert make(device).status().state is PrinterState.PAPER_OUT
    assert device.written == [b"~HS"]


def test_silent_is_fault() -> None:
    assert make(FakeZebraUsb(answers=False)).status().state is PrinterState.FAULT


@pytest.mark.parametrize(
    ("bits", "state"),
    [
        (0x18, PrinterState.READY),
        (0x38, PrinterState.PAPER_OUT),
        (0x10, PrinterState.FAULT),
        (0x08, PrinterState.PAUSED),
    ],
)
def test_unidirectional_uses_port_status(bits: int, state: PrinterState) -> None:
    device = FakeZebraUsb(bidirectional=False, port_status=bits)
    assert make(device).status().state is state


def test_not_found_is_offline() -> None:
    printer = UsbPrinter("terminal", 0x0A5F, 0x0164, finder=lambda: None)
    assert printer.status().state is PrinterState.OFFLINE
    with pytest.raises(PrinterError, match="0a5f:0164 not found"):
        printer.send(b"^XA^XZ")


def test_unplug_between_labels_raises_then_recovers() -> None:
    device = FakeZebraUsb()
    printer = make(device)
    printer.send(b"one")
    device.unplugged = True
    with pytest.raises(PrinterError, match="USB error"):
        printer.send(b"two")
    assert printer.status().state is PrinterState.OFFLINE
    device.unplugged = False
    printer.send(b"three")
    assert device.written == [b"one", b"three"]


def test_no_libusb_is_offline_not_a_crash() -> None:
    def no_backend() -> None:
        raise usb.core.NoBackendError("No backend available")

    printer = UsbPrinter("terminal", 0x0A5F, 0x0164, finder=no_backend)
    status = printer.status()
    assert status.state is PrinterState.OFFLINE and "libusb" in status.detail
    with pytest.raises(PrinterError, match="libusb"):
        printer.send(b"^XA^XZ")
