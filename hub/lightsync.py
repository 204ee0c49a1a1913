"""Light stand-ins for ``asyncio.Event`` and ``asyncio.Queue``, for per-socket state.

An idle hub is mostly idle sockets, and each socket carried two events and a queue.
The asyncio ones allocate their waiter deques up front: a ``collections.deque``
takes about 760 bytes before it holds anything, so an ``Event`` costs ~0.9 KB and a
``Queue`` (three deques and an ``Event``) ~3 KB, for objects that are empty nearly
all the time. These keep nothing but a flag or a short list until someone waits.

Same semantics where the hub and the WebSocket protocol rely on them: ``wait``
returns at once on a set flag; a cancelled ``get`` never loses an item (items are
taken only by the getter that returns them, as in ``asyncio.Queue``). Both are
single-loop objects, used from the loop's thread only.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

__all__ = ["Flag", "Inbox"]

T = TypeVar("T")


class Flag:
    """``asyncio.Event``'s ``is_set``/``set``/``clear``/``wait``, waiters made on demand."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for fut in waiters or ():
            if not fut.done():
                fut.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(fut)
        try:
            await fut
            return True
        finally:
            if self._waiters is not None and fut in self._waiters:
                self._waiters.remove(fut)


class Inbox(Generic[T]):
    """An unbounded FIFO with ``put_nowait``, ``get``, ``empty`` and ``qsize``."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._getters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        if self._getters:
            fut = self._getters.pop(0)
            if not fut.done():
                fut.set_result(None)

    async def get(self) -> T:
        while not self._items:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(fut)
            try:
                await fut
            except BaseException:
                if fut in self._getters:
                    self._getters.remove(fut)
                elif self._items:  # woken, then cancelled: pass the wake-up on
                    self._wake_next()
                raise
        if self._getters is not None and not self._getters:
            self._getters = None  # nobody waits: keep no list
        return self._items.pop(0)

    def _wake_next(self) -> None:
        while self._getters:
            fut = self._getters.pop(0)
            if not fut.done():
                fut.set_result(None)
                return

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)
