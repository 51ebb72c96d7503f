"""Delivering scan events to the central server: nothing lost, nothing doubled.

Owns everything between the outbox table and the network: the outbox reader and the
quarantine (:mod:`station.sync.outbox`), the wire protocol and its targets
(:mod:`station.sync.targets`), retry timing (:mod:`station.sync.backoff`), the pusher
that drains the outbox (:mod:`station.sync.pusher`), the background task the screen
runs and the one-shot push the CLI runs (:mod:`station.sync.task`), manifest and plan
pull (:mod:`station.sync.pull`) and the ``station sync`` / ``central`` / ``export``
commands (:mod:`station.cli.sync`).

Importing this package registers the sync tables with the store (cheap: no httpx), so
``import station.sync`` before :meth:`station.store.Store.open` is all a caller needs.
The protocol is written down in docs/sync-protocol.md.
"""

from __future__ import annotations

from station.sync import schema as _schema  # noqa: F401  (registers the migrations)
