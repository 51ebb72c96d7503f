"""The ``station sync`` and ``station export`` commands.

Thin handlers over :mod:`station.sync.task` and :mod:`station.epcis`; every import that
costs start-up time (httpx) happens inside the handler that needs it.

Exit codes follow station.cli.main: 0 done, 1 the work was not done (something left in the
outbox, sync stopped), 2 usage or config error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from station.cli.common import Subparsers, add_common, load_config, open_store, setup_logging


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("sync", help="send the outbox to the central server; status; pull manifest/plan")
    add_common(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="push everything pending; exit 1 if anything is left")
    mode.add_argument("--status", action="store_true", help="backlog, last good sync, quarantined events")
    mode.add_argument("--pull", action="store_true", help="pull the day's manifest and plan if they changed")
    mode.add_argument("--publish-plan", action="store_true", help="publish this station's plan to the hub")
    p.add_argument(
        "--force", action="store_true", help="--pull: take a manifest that would cancel more than max_cancel_share"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--max-failures", type=int, default=3, help="--once: failed retries in a row before giving up")
    p.set_defaults(func=cmd_sync)

    p = subparsers.add_parser("export", help="export the station's events")
    add_common(p)
    p.add_argument("--epcis", action="store_true", required=True, help="as one EPCIS 2.0 JSON-LD document")
    p.add_argument("--since-seq", type=int, default=0, help="only events after this sequence number")
    p.set_defaults(func=cmd_export)


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def cmd_sync(args: argparse.Namespace) -> int:
    import station.sync  # noqa: F401  (registers the sync tables before the store opens)

    config = load_config(args)
    setup_logging(config)
    store = open_store(config)
    try:
        if args.status:
            return _status(args, store)
        if args.pull or args.publish_plan:
            return _pull_or_publish(args, config, store)
        if args.once:
            from station.sync.task import push_once

            status = push_once(store, config, max_failures=args.max_failures)
            done = status.backlog == 0 and status.state.value == "ok"
            _print(
                args,
                status.to_json(),
                f"sync {status.label()}: {status.backlog} left, {status.quarantined} quarantined"
                + (f"\n{status.alert}" if status.alert else ""),
            )
            return 0 if done else 1
        return _forever(config, store)
    finally:
        store.close()


def _status(args: argparse.Namespace, store: Any) -> int:
    from station.sync.outbox import Outbox
    from station.sync.task import current_status

    status = current_status(store)
    quarantined = Outbox(store).quarantined(limit=50)
    data = status.to_json()
    data.pop("state")  # without the network the state is unknown; --once tells it
    data.pop("label")
    data["quarantined_events"] = [
        {"event_id": q.event_id, "seq": q.seq, "status": q.status_code, "reason": q.reason, "at": q.quarantined_at}
        for q in quarantined
    ]
    last = status.last_good_sync.isoformat(timespec="seconds") if status.last_good_sync else "never"
    lines = [
        f"backlog: {status.backlog} events",
        f"last good sync: {last}",
        f"quarantined: {status.quarantined} events (refused by the server, kept)",
    ]
    lines += [f"  seq {q.seq} {q.event_id}: {q.status_code} {q.reason}" for q in quarantined]
    _print(args, data, "\n".join(lines))
    return 0


def _pull_or_publish(args: argparse.Namespace, config: Any, store: Any) -> int:
    from station.core import Station
    from station.sync.pull import publish_plan, pull_day

    station = Station(config, store)
    if args.publish_plan:
        version = publish_plan(station, config)
        _print(args, {"plan_version": version}, f"plan published as version {version}")
        return 0
    result = pull_day(station, config, force=args.force)
    _print(args, result.to_json(), result.describe())
    return 1 if result.refused else 0


def _forever(config: Any, store: Any) -> int:
    import asyncio

    from station.sync.status import SyncStatus
    from station.sync.task import run_sync

    def show(status: SyncStatus) -> None:
        print(
            f"sync {status.label()}: backlog {status.backlog}, quarantined {status.quarantined}",
            file=sys.stderr,
            flush=True,
        )

    try:
        asyncio.run(run_sync(store, config, show))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from station.epcis import export_document

    config = load_config(args)
    store = open_store(config)
    try:
        through = int(store.scalar("SELECT COALESCE(max(seq), 0) FROM events"))
        document = export_document(store, config, since_seq=args.since_seq)
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
        # Written out whole and with no gap after what was exported before: days up to here may
        # be removed after [store] keep_days even if no server ever acknowledged them.
        exported = int(store.get_meta("exported_seq") or 0)
        if args.since_seq <= exported < through:
            with store.write() as db:
                db.table("meta").upsert({"key": "exported_seq", "value": str(through)}, pk="key")
    finally:
        store.close()
    return 0
