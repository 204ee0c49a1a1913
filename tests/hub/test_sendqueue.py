"""hub/sendqueue.py: a bounded FIFO that wakes its one writer and its waiting producers."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.sendqueue import SendQueue


@given(st.integers(1, 5), st.lists(st.one_of(st.integers(0, 99), st.none()), max_size=60))
def test_it_behaves_like_a_bounded_deque(maxsize: int, ops: list[int | None]) -> None:
    """Each int is a put_nowait, each None a get_nowait; compared with a plain model."""
    q: SendQueue[int] = SendQueue(maxsize)
    model: deque[int] = deque()
    for op in ops:
        if op is None:
            if model:
                assert q.get_nowait() == model.popleft()
            else:
                with pytest.raises(IndexError):
                    q.get_nowait()
        else:
            accepted = q.put_nowait(op)
            assert accepted == (len(model) < maxsize)
            if accepted:
                model.append(op)
        assert len(q) == len(model) and q.empty() == (not model)
        assert q.full() == (len(model) >= maxsize)


async def test_the_writer_waits_for_a_frame_and_producers_for_room() -> None:
    q: SendQueue[str] = SendQueue(2)
    got = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not got.done()
    assert q.put_nowait("a")
    assert await asyncio.wait_for(got, 5) == "a"
    assert q.put_nowait("b") and q.put_nowait("c") and not q.put_nowait("d")
    waiting = [asyncio.create_task(q.put(x)) for x in ("e", "f")]  # replays wait for room
    await asyncio.sleep(0)
    assert not any(t.done() for t in waiting)
    out = [await q.get()]
    while len(out) < 4:
        await asyncio.sleep(0)
        out.append(await asyncio.wait_for(q.get(), 5))
    await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert out[:2] == ["b", "c"] and sorted(out[2:]) == ["e", "f"] and q.empty()


async def test_a_cancelled_writer_leaves_the_queue_usable() -> None:
    q: SendQueue[str] = SendQueue(3)
    writer = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    assert q.put_nowait("x")  # no error from the cancelled waiter
    assert await asyncio.wait_for(q.get(), 5) == "x"
