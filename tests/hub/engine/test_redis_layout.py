"""hub/engine/redis_layout.py: a keyspace written by an older hub is moved, not orphaned.

Layout 1 named the directory keys without a hash tag; layout 2 (needed on a
Redis Cluster) puts them under ``{dir}``. A hub opening a layout-1 keyspace
renames them once, and what the old hub stored reads back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from channels.bodies import ChatBody, Priority, chat_body
from hub.config import Settings
from hub.engine import Engine, build_engine
from hub.engine.port import AuditEntry, NewMessage
from hub.engine.redis_keys import LAYOUT, RedisKeys
from hub.models import (
    Channel,
    ChannelId,
    Membership,
    Operation,
    OperationId,
    Role,
    Session,
    User,
    UserId,
)
from tests.chat import chat
from tests.redis_support import cleanup, cluster_url, new_prefix, redis_url


async def opened(url: str, prefix: str, tmp_path: Path) -> Engine:
    eng = build_engine(Settings(data_dir=tmp_path, engine=url, redis_prefix=prefix))
    await eng.store.open()
    return eng


@pytest.fixture
async def url_prefix() -> AsyncIterator[tuple[str, str]]:
    url, prefix = redis_url(), new_prefix()
    yield url, prefix
    cleanup(url, prefix)


async def fill(eng: Engine) -> None:
    store = eng.store
    await store.create_user(User(UserId("usr_a"), "Ana", "Ana A", "POLICE",
                                 password_hash="hash", created_at=1.0))
    await store.create_operation(Operation(OperationId("op_1"), "OP-1", "One", "active", "U",
                                           (), 1.0))
    await store.set_membership(Membership(OperationId("op_1"), UserId("usr_a"), Role.MEMBER))
    await store.create_session(Session("ses_1", "th", UserId("usr_a"), "session", 1.0, 1.0,
                                       None))
    await store.append_audit(AuditEntry(1.0, "ana", "login", "ana", "ok"))


async def test_a_layout_1_keyspace_is_moved_on_open_and_reads_back(
        url_prefix: tuple[str, str], tmp_path: Path) -> None:
    url, prefix = url_prefix
    old = await opened(url, prefix, tmp_path)
    await fill(old)
    await old.store.close()
    raw = aioredis.from_url(url, decode_responses=True)
    try:
        # Turn the keyspace back into layout 1, as an older hub left it.
        tagged = [k async for k in raw.scan_iter(match=f"{prefix}{{dir}}:*")]
        assert len(tagged) > 8
        for key in tagged:
            await raw.rename(key, key.replace("{dir}:", ""))
        await raw.delete(f"{prefix}layout")  # was {dir}:layout, renamed above

        eng = await opened(url, prefix, tmp_path)
        try:
            user = await eng.store.get_user_by_name("ana")
            assert user is not None and user.id == "usr_a"
            assert [o.code for o in await eng.store.list_operations(UserId("usr_a"))] == ["OP-1"]
            session = await eng.store.get_session("th")
            assert session is not None and session.user_id == "usr_a"
            assert await eng.store.audit_head() is not None
            assert await raw.get(f"{prefix}{{dir}}:layout") == str(LAYOUT)
            left = [k async for k in raw.scan_iter(match=f"{prefix}*")
                    if "{" not in k]
            assert left == []
        finally:
            await eng.store.close()
    finally:
        await raw.aclose()


async def test_a_current_keyspace_is_left_alone(url_prefix: tuple[str, str],
                                                tmp_path: Path) -> None:
    url, prefix = url_prefix
    eng = await opened(url, prefix, tmp_path)
    await fill(eng)
    await eng.store.close()
    raw = aioredis.from_url(url, decode_responses=True)
    try:
        # A key that merely looks like layout 1 but appears after the upgrade (say,
        # written by a foreign tool) is not touched: the layout marker says done.
        await raw.set(f"{prefix}users", "not ours")
        again = await opened(url, prefix, tmp_path)
        await again.store.close()
        assert await raw.get(f"{prefix}users") == "not ours"
    finally:
        await raw.aclose()


async def test_a_cluster_keyspace_starts_at_the_current_layout(tmp_path: Path) -> None:
    url, prefix = cluster_url(), new_prefix()
    try:
        eng = await opened(url, prefix, tmp_path)
        await fill(eng)
        user = await eng.store.get_user(UserId("usr_a"))
        assert user is not None and user.username == "Ana"
        await eng.store.close()
    finally:
        cleanup(url, prefix)


async def test_a_layout_2_keyspace_has_its_messages_converted_to_envelopes(
        url_prefix: tuple[str, str], tmp_path: Path) -> None:
    """Layout 3 (issue 27): a channel log's entries written with the chat fields become
    envelopes around a chat body, in place; every message reads back unchanged."""
    url, prefix = url_prefix
    old = await opened(url, prefix, tmp_path)
    await fill(old)
    ch = Channel(ChannelId("ch_1"), OperationId("op_1"), "general", "", (), 1.0)
    await old.store.create_channel(ch)
    await old.store.append_message(NewMessage(
        ch.id, "msg_1", UserId("usr_a"), "Ana", "Ana A", "POLICE", 2.0, "c-1",
        **chat("new layout")))
    await old.store.close()
    keys = RedisKeys(prefix)
    raw = aioredis.from_url(url, decode_responses=True)
    try:  # what a layout-2 hub wrote: the chat fields beside the envelope's
        await raw.xadd(keys.channel_log(ch.id), {
            "id": "msg_2", "sender_id": "usr_a", "sender": "Ana", "sender_name": "Ana A",
            "agency": "POLICE", "text": "bridge is out", "ts": "3.5", "priority": "urgent",
            "client_msg_id": "c-2", "label": "", "real_world": "1"}, id="2-1")
        await raw.hset(keys.channel(ch.id), "last_seq", 2)
        await raw.set(keys.layout(), 2)
        eng = await opened(url, prefix, tmp_path)
        try:
            assert await raw.get(keys.layout()) == str(LAYOUT) == "3"
            entries = await raw.xrange(keys.channel_log(ch.id))
            assert [eid for eid, _ in entries] == ["1-1", "2-1"]
            assert all("body" in f and "text" not in f for _, f in entries)
            first, second = await eng.store.read_messages(ch.id)
            assert chat_body(first) == ChatBody(text="new layout")
            assert chat_body(second) == ChatBody(text="bridge is out", priority=Priority.URGENT)
            assert (second.seq, second.id, second.ts, second.client_msg_id,
                    second.real_world) == (2, "msg_2", 3.5, "c-2", True)
            more, created = await eng.store.append_message(NewMessage(
                ch.id, "msg_3", UserId("usr_a"), "Ana", "Ana A", "POLICE", 4.0, "c-3",
                **chat("after")))
            assert created and more.seq == 3
        finally:
            await eng.store.close()
    finally:
        await raw.aclose()
