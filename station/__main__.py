"""``python -m station`` is the ``station`` command."""

from station.cli.main import _entry

_entry()
