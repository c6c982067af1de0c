"""One lock per session, usable from threads and from coroutines alike."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

__all__ = ["SessionLocks"]

# How long a coroutine sleeps between tries at a busy session lock.
_POLL_SECONDS = 0.002


class SessionLocks:
    """Serialises the turns of each session, not of different sessions.

    A turn holds its session's lock across the summariser call, so two
    concurrent turns of one session never fold the same messages twice.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def _lock(self, session_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(session_id, threading.Lock())

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        """Hold the session's lock (blocking the calling thread)."""
        lock = self._lock(session_id)
        with lock:
            yield

    @asynccontextmanager
    async def ahold(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session's lock without blocking the event loop.

        Polling instead of acquiring in a worker thread keeps cancellation
        safe: a cancelled waiter never ends up owning the lock.
        """
        lock = self._lock(session_id)
        while not lock.acquire(blocking=False):
            await asyncio.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            lock.release()
