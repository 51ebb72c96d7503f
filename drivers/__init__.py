"""Hardware access for the station: scanners, printers, discovery.

This package never imports ``station``: it knows bytes, devices and their states, not
parcels. One small interface per kind of device (``drivers.scanners.base``,
``drivers.printers.base``), one implementation per transport, and simulated devices
that go through the same code paths as the real ones.
"""
