"""The bounded queue of frames between the fan-out and one connection's writer.

On the hot path every delivery puts one frame and wakes one writer, so this
does the least it can: a deque, the one waiting writer's future resolved on
put, and no bookkeeping for ``join()`` (``asyncio.Queue`` clears an event and
counts unfinished tasks on every put). One consumer (the writer); producers
either put without waiting (live fan-out: a full queue is the caller's
signal to close a slow consumer) or wait for room (replay from the store).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

__all__ = ["SendQueue"]

T = TypeVar("T")


class SendQueue(Generic[T]):
    __slots__ = ("_getter", "_items", "_maxsize", "_room")

    def __init__(self, maxsize: int) -> None:
        self._items: deque[T] | None = None  # made on first put: most connections never queue
        self._maxsize = maxsize
        self._getter: asyncio.Future[None] | None = None
        self._room: list[asyncio.Future[None]] = []

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else 0

    def full(self) -> bool:
        return self._items is not None and len(self._items) >= self._maxsize

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> bool:
        """Append ``item`` and wake the writer; False (nothing added) when full."""
        items = self._items
        if items is None:
            items = self._items = deque()
        if len(items) >= self._maxsize:
            return False
        items.append(item)
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)
        return True

    async def put(self, item: T) -> None:
        """Append ``item``, waiting for room first."""
        while self.full():
            room = asyncio.get_running_loop().create_future()
            self._room.append(room)
            await room
        self.put_nowait(item)

    def get_nowait(self) -> T:
        """The oldest item (IndexError when empty); wakes producers waiting for room."""
        if self._items is None:
            raise IndexError("get from an empty queue")
        item = self._items.popleft()
        if self._room:
            waiting, self._room = self._room, []
            for room in waiting:
                if not room.done():
                    room.set_result(None)
        return item

    async def get(self) -> T:
        """The oldest item, waiting for one."""
        while not self._items:
            self._getter = asyncio.get_running_loop().create_future()
            await self._getter
        return self.get_nowait()
