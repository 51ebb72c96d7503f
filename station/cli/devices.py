"""The ``station devices`` command: the scanners and printers plugged in, as config snippets."""

from __future__ import annotations

import argparse
import json

from station.cli.common import Subparsers, add_command


def cmd_devices(args: argparse.Namespace) -> int:
    from drivers import discovery

    devices = discovery.discover()
    if args.json:
        print(json.dumps([d.to_json() for d in devices], indent=2))
    else:
        print(discovery.render_config(devices))
    return 0


def register(sub: Subparsers) -> None:
    p = add_command(sub, "devices", cmd_devices, "list the scanners and printers plugged in, as config snippets")
    p.add_argument("--json", action="store_true")
