"""``python -m station.central serve|stats ...``: the same as ``station central``, without the CLI."""

from __future__ import annotations

import sys

from station.cli.central import main

sys.exit(main())
