"""hub/lightsync.py: the Event and Queue stand-ins keep asyncio's semantics where the hub
relies on them (a set flag never blocks, a cancelled get never loses an item)."""

from __future__ import annotations

import asyncio
import collections

from hypothesis import given
from hypothesis import strategies as st

from hub.lightsync import Flag, Inbox


async def test_a_flag_wakes_every_waiter_and_a_set_flag_does_not_block() -> None:
    flag = Flag()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 5) == [True, True, True]
    assert flag.is_set() and await flag.wait()
    flag.clear()
    assert not flag.is_set()
    assert Flag(True).is_set()


async def test_a_cancelled_wait_leaves_the_flag_clean() -> None:
    flag = Flag()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert flag._waiters == []
    other = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    flag.set()
    assert await asyncio.wait_for(other, 5) is True


async def test_a_getter_waits_for_the_next_item_in_order() -> None:
    inbox: Inbox[int] = Inbox()
    getter = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not getter.done() and inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert await asyncio.wait_for(getter, 5) == 1
    assert inbox.qsize() == 1 and await inbox.get() == 2
    assert inbox._getters is None  # nobody waits: no list kept


async def test_a_getter_cancelled_after_its_wake_up_loses_nothing() -> None:
    inbox: Inbox[str] = Inbox()
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("a")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(first, return_exceptions=True)
    assert first.cancelled()
    assert await asyncio.wait_for(second, 5) == "a"  # the wake-up was passed on


async def test_a_getter_cancelled_while_waiting_takes_nothing() -> None:
    inbox: Inbox[str] = Inbox()
    getter = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    getter.cancel()
    await asyncio.gather(getter, return_exceptions=True)
    inbox.put_nowait("kept")
    assert inbox.qsize() == 1 and await inbox.get() == "kept"


@given(st.lists(st.one_of(st.integers(), st.none()), max_size=60))
def test_puts_and_gets_in_any_order_match_a_fifo(ops: list[int | None]) -> None:
    """None is a get (when something is there), an int a put: the same as a deque."""

    async def run() -> None:
        inbox: Inbox[int] = Inbox()
        model: collections.deque[int] = collections.deque()
        for op in ops:
            if op is None:
                if model:
                    assert await inbox.get() == model.popleft()
            else:
                inbox.put_nowait(op)
                model.append(op)
            assert inbox.qsize() == len(model) and inbox.empty() == (not model)

    asyncio.run(run())
