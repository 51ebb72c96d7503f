"""The ``station`` command line: one module per area, registered by :mod:`station.cli.main`.

``day`` (init, run, scan, report), ``manifest`` (import, plan), ``dock`` (print-commands,
close-van, exceptions), ``backup``, ``sync`` (sync, export), ``central`` (the reference server),
``devices``, ``demo``; ``common`` holds what they share (data dir, config, logging).
"""

from station.cli.main import main

__all__ = ["main"]
