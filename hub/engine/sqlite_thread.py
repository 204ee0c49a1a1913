"""The embedded engine's database thread: calls run one at a time, in order.

SQLite blocks, so every call runs on one thread of its own and the event loop
awaits the result. ``loop.run_in_executor`` does the same through a
``ThreadPoolExecutor``, but pays per call for a ``concurrent.futures.Future``
(with its lock and condition), a work item, the pool's semaphore and a chain
of callbacks between the two futures; a publish makes four such calls. Here a
call is a tuple on a ``SimpleQueue`` and its result one ``call_soon_threadsafe``
back to the loop. A call whose awaiting side was cancelled before it started is
skipped, as the executor skipped it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

__all__ = ["DbThread"]

T = TypeVar("T")

_Job = tuple[Callable[[], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


class DbThread:
    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._thread: threading.Thread | None = None

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the thread, after every call submitted before it."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, done, loop))
        return await done

    def stop(self) -> None:
        """Let the calls already submitted finish, then end the thread."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, done, loop = job
            if done.cancelled():  # nobody waits for it any more, and it has not begun
                continue
            try:
                result, error = fn(), None
            except BaseException as exc:  # handed to the awaiting side
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, done, result, error)


def _settle(done: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if done.cancelled():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
