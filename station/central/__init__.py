"""The reference central server: what a company can run for a pilot, and what tests hit.

Owns the server side of docs/sync-protocol.md: the Starlette app (:mod:`.app`), who may do
what (:mod:`.tokens`: the tokens file and its roles), what it accepts (:mod:`.validation`),
its SQLite storage (:mod:`.storage`), fault injection for tests (:mod:`.faults`) and starting
it (:mod:`.server`: ``station central serve`` / ``token`` / ``stats``). Nothing here is imported by the
station's scan path or by ``station sync``: Starlette is only loaded to serve.
"""

from __future__ import annotations
