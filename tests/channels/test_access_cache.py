"""The access gate's short memory of a channel check (channels/access.py).

Each publish checks the caller against the channel; reading the channel, its
operation and the caller's role once and answering the next checks from that
saves a store round trip per publish. These tests pin down when the memory is
used and, above all, when it is not: after any change the hub makes, after its
time is up, and never for a read that overlapped a change.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from channels.access import Access
from channels.admin_bodies import ChannelChanges, OperationChanges
from channels.permissions import Action
from hub.bodies import convert
from hub.errors import Forbidden, NotFound
from hub.models import ChannelId, UserId
from tests.conftest import Embedded


class Counting:
    """Counts the store reads behind the checks; ``gate`` (if set) holds each read."""

    def __init__(self, env: Embedded, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        store = env.store
        real = store.channel_access

        async def counted(ch_id: ChannelId, user_id: UserId) -> Any:
            self.reads += 1
            self.started.set()
            found = await real(ch_id, user_id)  # read first, as a slow store would
            if self.gate is not None:
                await self.gate.wait()
            return found

        monkeypatch.setattr(store, "channel_access", counted)


def _access(env: Embedded) -> Access:
    return env.services.channels.access


async def test_a_repeated_check_reads_the_store_once_until_its_time_is_up(
        embedded: Embedded, monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(embedded, monkeypatch)
    bruno = await embedded.principal("bruno")
    general = embedded.channels["A/general"].id
    for _ in range(5):
        ch, _, _ = await _access(embedded).channel(bruno, general, Action.POST)
        assert ch.id == general
    assert counting.reads == 1
    embedded.clock.advance(embedded.services.hub.settings.access_cache_seconds)
    await _access(embedded).channel(bruno, general, Action.POST)
    assert counting.reads == 2
    alice = await embedded.principal("alice")  # per caller: alice's role is her own
    await _access(embedded).channel(alice, general, Action.POST)
    assert counting.reads == 3


async def test_the_decision_is_made_afresh_on_every_check(
        embedded: Embedded, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the store's answer is reused: who asks and for what is judged each time."""
    counting = Counting(embedded, monkeypatch)
    olga = await embedded.principal("olga")  # an observer
    general = embedded.channels["A/general"].id
    await _access(embedded).channel(olga, general, Action.READ_CHANNEL)
    with pytest.raises(Forbidden):
        await _access(embedded).channel(olga, general, Action.POST)
    assert counting.reads == 1


async def test_only_posting_reuses_a_reading(embedded: Embedded,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading, subscribing and managing read afresh: their callers may use what moves
    with every message (a channel's last_seq)."""
    counting = Counting(embedded, monkeypatch)
    bruno = await embedded.principal("bruno")
    general = embedded.channels["A/general"].id
    for _ in range(3):
        await _access(embedded).channel(bruno, general, Action.READ_CHANNEL)
    assert counting.reads == 3
    await _access(embedded).channel(bruno, general, Action.POST)  # the last reading
    assert counting.reads == 3


async def test_a_missing_channel_is_read_every_time(
        embedded: Embedded, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is kept for a channel that does not exist: random ids fill no memory."""
    counting = Counting(embedded, monkeypatch)
    bruno = await embedded.principal("bruno")
    for _ in range(3):
        with pytest.raises(NotFound):
            await _access(embedded).channel(bruno, "ch_missing", Action.POST)
    assert counting.reads == 3


async def test_the_hubs_own_changes_take_effect_on_the_next_check(
        embedded: Embedded, monkeypatch: pytest.MonkeyPatch) -> None:
    """No time passes on the clock: only forgetting can explain each refusal."""
    Counting(embedded, monkeypatch)
    svc, access = embedded.services.channels, _access(embedded)
    alice, bruno = await embedded.principal("alice"), await embedded.principal("bruno")
    op, general = embedded.ops["A"].id, embedded.channels["A/general"].id
    police = embedded.channels["A/police"].id

    await access.channel(bruno, general, Action.POST)
    await svc.set_member(alice, op, "bruno", "observer", "test")
    with pytest.raises(Forbidden):
        await access.channel(bruno, general, Action.POST)
    await svc.set_member(alice, op, "bruno", "member", "test")
    await access.channel(bruno, general, Action.POST)
    await svc.remove_member(alice, op, "bruno", "test")
    with pytest.raises(NotFound):
        await access.channel(bruno, general, Action.POST)

    await access.channel(alice, police, Action.POST)
    await svc.update_channel(alice, police, convert({"agencies": ["ARMY"]}, ChannelChanges), "test")
    with pytest.raises(NotFound):  # alice is POLICE: the channel left her agency
        await access.channel(alice, police, Action.POST)

    await access.channel(alice, general, Action.POST)
    root = await embedded.principal("root")  # an administrator closes the operation
    await svc.update_operation(root, op, convert({"status": "closed"}, OperationChanges), "test")
    with pytest.raises(Forbidden):
        await access.channel(alice, general, Action.POST)


async def test_a_read_that_overlaps_a_change_is_not_kept(
        embedded: Embedded, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check whose read began before a change answers that one check, and no later one:
    the next check reads the store again and sees the change."""
    counting = Counting(embedded, monkeypatch)
    access = _access(embedded)
    bruno = await embedded.principal("bruno")
    general = embedded.channels["A/general"].id
    counting.gate = asyncio.Event()
    check = asyncio.create_task(access.channel(bruno, general, Action.POST))
    await asyncio.wait_for(counting.started.wait(), 10)  # its read is done, not returned
    await embedded.store.remove_membership(embedded.ops["A"].id, bruno.user_id)
    access.forget()
    counting.gate.set()
    counting.gate = None
    await asyncio.wait_for(check, 10)  # read before the change: allowed, as it was then
    with pytest.raises(NotFound):
        await access.channel(bruno, general, Action.POST)
    assert counting.reads == 2


async def test_with_no_time_every_check_reads(embedded: Embedded,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(embedded, monkeypatch)
    access = Access(embedded.store, embedded.services.hub.auditor,
                    embedded.services.hub.settings.labels, clock=embedded.clock)
    bruno = await embedded.principal("bruno")
    for _ in range(3):
        await access.channel(bruno, embedded.channels["A/general"].id, Action.POST)
    assert counting.reads == 3


async def test_a_clock_set_back_does_not_stretch_the_memory(
        embedded: Embedded, monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(embedded, monkeypatch)
    bruno = await embedded.principal("bruno")
    general = embedded.channels["A/general"].id
    await _access(embedded).channel(bruno, general, Action.POST)
    embedded.clock.advance(-3600)
    await _access(embedded).channel(bruno, general, Action.POST)
    assert counting.reads == 2
