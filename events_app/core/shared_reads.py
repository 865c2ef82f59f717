"""One read for everybody who asks while it is on its way: the change stamps on PostgreSQL, /health."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")


class SharedReads(Generic[T]):
    """Requests that arrive while a read is under way share the next one.

    A read that began before a request came may miss a change that request knows of (its own, a moment
    ago), so a request never takes one already under way: it waits for the next, which begins as soon as
    the one under way returns, for everybody who came meanwhile. Under load that is one round trip for a
    whole batch of requests instead of one each, and no queue for pooled connections.
    """

    def __init__(self):
        self.waiting: list[asyncio.Future] = []
        self.reading: asyncio.Task | None = None

    async def read(self, fetch: Callable[[], Awaitable[T]]) -> T:
        """`fetch` does the read; the batch uses the fetch of its first caller (they all read the same)."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        if self.reading is None or self.reading.done():
            self.reading = asyncio.create_task(self._read_for_all(fetch))
        return await future

    async def _read_for_all(self, fetch: Callable[[], Awaitable[T]]) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                value = await fetch()
            except Exception as exc:
                for future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for future in batch:
                if not future.done():
                    future.set_result(value)
