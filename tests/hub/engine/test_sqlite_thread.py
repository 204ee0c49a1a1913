"""hub/engine/sqlite_thread.py: calls run in order on one thread; errors and cancels come back."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hub.engine.sqlite_thread import DbThread


async def test_calls_run_in_submission_order_on_one_other_thread() -> None:
    worker = DbThread("test-db")
    seen: list[tuple[int, str]] = []

    def call(i: int) -> int:
        seen.append((i, threading.current_thread().name))
        return i * 2

    try:
        results = await asyncio.gather(*(worker.run(lambda i=i: call(i)) for i in range(200)))
    finally:
        worker.stop()
    assert results == [i * 2 for i in range(200)]
    assert [i for i, _ in seen] == list(range(200))
    assert {name for _, name in seen} == {"test-db"}
    assert threading.current_thread().name not in {name for _, name in seen}


async def test_an_error_is_raised_to_the_caller_and_the_thread_goes_on() -> None:
    worker = DbThread("test-db")

    def boom() -> None:
        raise LookupError("no such row")

    try:
        with pytest.raises(LookupError, match="no such row"):
            await worker.run(boom)
        assert await worker.run(lambda: "still here") == "still here"
    finally:
        worker.stop()


async def test_a_call_cancelled_before_it_began_is_skipped() -> None:
    worker = DbThread("test-db")
    gate, ran = threading.Event(), []
    try:
        first = asyncio.ensure_future(worker.run(gate.wait))  # occupies the thread
        await asyncio.sleep(0)
        second = asyncio.ensure_future(worker.run(lambda: ran.append("second")))
        await asyncio.sleep(0)
        second.cancel()
        gate.set()
        assert await first is True
        assert await worker.run(lambda: ran.append("third")) is None
        assert ran == ["third"]
        assert second.cancelled()
    finally:
        worker.stop()


async def test_stop_lets_submitted_calls_finish_and_a_later_call_starts_a_new_thread() -> None:
    worker = DbThread("test-db")
    assert await worker.run(lambda: 1) == 1
    worker.stop()
    assert await worker.run(lambda: 2) == 2  # the store refuses calls after close itself
    worker.stop()
    worker.stop()  # twice is harmless
