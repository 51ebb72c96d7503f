"""The station's network thread: one thread, its own asyncio loop, for everything that waits on the server.

Owns where sync runs on a dock: the push task (:func:`station.sync.task.run_sync`) and the
screen's manifest/plan pulls (:func:`station.sync.pull.fetch_day`) run here, never on the
thread that commits scans and never on the screen's message loop. A server that accepts
and never answers, or trickles a byte a second, holds this thread's requests until their
deadline; a scan's commit and its decision on the screen do not wait for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class NetworkThread:
    """A daemon thread running an event loop; coroutines are handed to it from any thread."""

    def __init__(self, name: str = "station-network") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> NetworkThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the network loop; await it elsewhere with ``asyncio.wrap_future``."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, callback: Callable[..., object], *args: object) -> None:
        """Call ``callback`` on the network loop (e.g. set an asyncio.Event that lives there)."""
        with contextlib.suppress(RuntimeError):  # the loop already stopped: nothing to wake
            self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what runs (sync resumes from the outbox at the next start) and end the thread."""
        if self._thread.is_alive():
            with contextlib.suppress(concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
                asyncio.run_coroutine_threadsafe(_cancel_all(), self.loop).result(timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


async def _cancel_all() -> None:
    """Cancel every task but this one and let each run its ``finally`` (a push closes its store)."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
