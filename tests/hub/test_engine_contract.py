"""The engine contract: every engine must pass these (see hub/engine/port.py).

The ``engine`` fixture (tests/hub/conftest.py) is parametrized by engine name,
so a new engine joins by adding its name to ENGINES and cannot quietly weaken a
guarantee.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from hub.audit import load_keys, verify_chain
from hub.boundary import repaired_total
from hub.config import Settings
from hub.engine import Engine, build_engine
from hub.engine.port import AuditEntry, NewMessage, PresenceEntry, RecordWrite
from hub.errors import BadRequest, Conflict, NotFound
from hub.models import (
    Channel,
    ChannelId,
    MessageEvent,
    Operation,
    OperationId,
    Session,
    TypingEvent,
    User,
    UserId,
    ops_topic,
)
from tests.chat import chat


async def _channel(engine: Engine, name: str = "general") -> Channel:
    op = Operation(OperationId("op_1"), "OP-1", "One", "active", "U", (), 0.0)
    if await engine.store.get_operation(op.id) is None:
        await engine.store.create_operation(op)
    ch = Channel(ChannelId(f"ch_{name}"), op.id, name, "", (), 0.0)
    await engine.store.create_channel(ch)
    return ch


def _msg(ch: Channel, cmid: str, sender: str = "usr_1") -> NewMessage:
    return NewMessage(ch.id, f"msg_{cmid}", UserId(sender), "u", "U", "POLICE", 1.0, cmid,
                      **chat(f"text {cmid}"))


async def test_channel_access_reads_the_channel_its_operation_and_the_role_together(
        engine: Engine) -> None:
    from hub.models import Membership, Role

    ch = await _channel(engine)
    await engine.store.set_membership(Membership(ch.operation_id, UserId("usr_m"), Role.MEMBER))
    found = await engine.store.channel_access(ch.id, UserId("usr_m"))
    assert found is not None
    got_ch, got_op, role = found
    assert (got_ch, got_op) == (await engine.store.get_channel(ch.id),
                                await engine.store.get_operation(ch.operation_id))
    assert role is Role.MEMBER
    assert (await engine.store.channel_access(ch.id, UserId("usr_x")))[2] is None  # type: ignore[index]
    assert await engine.store.channel_access(ChannelId("ch_nope"), UserId("usr_m")) is None


async def test_concurrent_appends_get_unique_gap_free_seqs(engine: Engine) -> None:
    ch = await _channel(engine)
    results = await asyncio.gather(*(engine.store.append_message(_msg(ch, str(i)))
                                     for i in range(200)))
    seqs = sorted(m.seq for m, created in results)
    assert seqs == list(range(1, 201)) and all(created for _, created in results)
    stored = await engine.store.read_messages(ch.id, limit=500)
    assert [m.seq for m in stored] == list(range(1, 201))
    assert (await engine.store.get_channel(ch.id)).last_seq == 200  # type: ignore[union-attr]


async def test_append_is_idempotent_per_sender(engine: Engine) -> None:
    ch = await _channel(engine)
    first, created = await engine.store.append_message(_msg(ch, "same"))
    again, created2 = await engine.store.append_message(_msg(ch, "same"))
    assert created and not created2 and again == first
    other, created3 = await engine.store.append_message(_msg(ch, "same", sender="usr_2"))
    assert created3 and other.seq == first.seq + 1
    many = await asyncio.gather(*(engine.store.append_message(_msg(ch, "race"))
                                  for _ in range(20)))
    assert len({m.seq for m, _ in many}) == 1 and sum(c for _, c in many) == 1


async def test_read_ranges(engine: Engine) -> None:
    ch = await _channel(engine)
    for i in range(10):
        await engine.store.append_message(_msg(ch, str(i)))
    read = engine.store.read_messages
    assert [m.seq for m in await read(ch.id, after_seq=7)] == [8, 9, 10]
    assert [m.seq for m in await read(ch.id, before_seq=4)] == [1, 2, 3]
    assert [m.seq for m in await read(ch.id, limit=2, newest_first=True)] == [10, 9]
    assert [m.seq for m in await read(ch.id, after_seq=2, before_seq=5)] == [3, 4]


async def test_a_redacted_body_is_what_every_later_read_finds(engine: Engine) -> None:
    ch = await _channel(engine)
    for i in range(3):
        await engine.store.append_message(_msg(ch, str(i)))
    before = await engine.store.read_messages(ch.id)
    gone = chat("[redacted]")["body"]
    assert await engine.store.redact_message(ch.id, 2, gone)
    after = await engine.store.read_messages(ch.id)
    assert [m.body for m in after] == [before[0].body, gone, before[2].body]
    assert [dataclasses.replace(m, body=b"") for m in after] == \
        [dataclasses.replace(m, body=b"") for m in before]  # the envelope as it was
    assert [m.seq for m in await engine.store.read_messages(ch.id, newest_first=True,
                                                               limit=2)] == [3, 2]
    assert (await engine.store.read_messages(ch.id, newest_first=True))[1].body == gone
    # A retry of the redacted message is answered with it as it now is.
    again, created = await engine.store.append_message(_msg(ch, "1"))
    assert not created and again.body == gone
    assert not await engine.store.redact_message(ch.id, 9, gone)  # no such message
    assert not await engine.store.redact_message(ChannelId("ch_none"), 1, gone)


async def test_notes_are_kept_beside_messages_replaced_by_key_and_go_with_retention(
        engine: Engine) -> None:
    ch = await _channel(engine)
    for i in range(4):
        await engine.store.append_message(_msg(ch, str(i)), retain=3)  # 2, 3, 4 kept
    binary = bytes(range(256))  # bodies are opaque bytes, not text
    assert await engine.store.put_note(ch.id, 2, "tr:es", b"uno")
    assert await engine.store.put_note(ch.id, 2, "tr:fr", binary)
    assert await engine.store.put_note(ch.id, 4, "tr:es", b"tres")
    assert await engine.store.put_note(ch.id, 2, "tr:es", b"dos")  # the same key replaces
    assert not await engine.store.put_note(ch.id, 1, "tr:es", b"gone")  # retained no more
    assert not await engine.store.put_note(ch.id, 9, "tr:es", b"x")  # no such message
    notes = await engine.store.read_notes(ch.id, [2, 3, 4])
    assert notes == {2: {"tr:es": b"dos", "tr:fr": binary}, 4: {"tr:es": b"tres"}}
    assert await engine.store.read_notes(ch.id, []) == {}
    await engine.store.append_message(_msg(ch, "4"), retain=3)  # message 2 goes
    assert await engine.store.read_notes(ch.id, [2, 4]) == {4: {"tr:es": b"tres"}}
    # A message appended again under seq 2 of another channel carries none of these.
    other = await _channel(engine, "other")
    await engine.store.append_message(_msg(other, "a"))
    await engine.store.append_message(_msg(other, "b"))
    assert await engine.store.read_notes(other.id, [1, 2]) == {}


async def test_retention_drops_oldest_and_moves_first_seq(engine: Engine) -> None:
    ch = await _channel(engine)
    for i in range(12):
        await engine.store.append_message(_msg(ch, str(i)), retain=5)
    stored = await engine.store.read_messages(ch.id, limit=100)
    assert [m.seq for m in stored] == [8, 9, 10, 11, 12]
    again = await engine.store.get_channel(ch.id)
    assert again is not None and (again.first_seq, again.last_seq) == (8, 12)


async def test_unique_names(engine: Engine) -> None:
    user = User(UserId("usr_a"), "Alice", "Alice", "POLICE", password_hash="x")
    await engine.store.create_user(user)
    with pytest.raises(Conflict):
        await engine.store.create_user(User(UserId("usr_b"), "alice", "A", "P",
                                            password_hash="x"))
    assert (await engine.store.get_user_by_name("ALICE")) == user
    await _channel(engine, "ops")
    with pytest.raises(Conflict):
        await engine.store.create_channel(Channel(ChannelId("ch_other"), OperationId("op_1"),
                                                  "ops", "", (), 0.0))


async def test_revocations_are_logged_in_order(engine: Engine) -> None:
    store = engine.store
    for i in range(3):
        await store.create_session(Session(f"ses_{i}", f"hash{i}", UserId("usr_a"), "session",
                                           0.0, 0.0, 100.0))
    assert await store.revoke_session("ses_1", 5.0)
    assert not await store.revoke_session("ses_1", 6.0)
    assert await store.revoke_user_sessions(UserId("usr_a"), 7.0) == 2
    revs = await store.revocations_since(0)
    assert [(r.session_id, r.user_id) for r in revs] == [("ses_1", None), (None, "usr_a")]
    assert await store.revocations_since(revs[0].seq) == revs[1:]
    assert all(s.revoked_at for s in await store.list_sessions(UserId("usr_a")))


async def test_audit_chain_and_head(engine: Engine, tmp_path: Path) -> None:
    entries = [AuditEntry(float(i), "a", "login", f"t{i}", "ok") for i in range(50)]
    await asyncio.gather(*(engine.store.append_audit(e) for e in entries))
    records = [r async for r in engine.store.iter_audit()]
    assert [r.seq for r in records] == list(range(1, 51))
    keys = {k.id: k for k in load_keys(tmp_path.with_name(tmp_path.name + "-keys") /
                                        "audit.key")}  # made by build_engine
    result = verify_chain(records, await engine.store.audit_head(), keys)
    assert result.ok and result.count == 50
    assert not verify_chain(records, await engine.store.audit_head()).ok  # needs the key


async def test_limits_count_connections_and_share_buckets(engine: Engine) -> None:
    limits = engine.limits
    assert await limits.admit("usr_a", "c1", 2) and await limits.admit("usr_a", "c2", 2)
    assert not await limits.admit("usr_a", "c3", 2)
    assert await limits.admit("usr_b", "c4", 2)  # per user
    await limits.release("usr_a", "c1")
    assert await limits.admit("usr_a", "c3", 2)
    await limits.heartbeat()
    assert not await limits.admit("usr_a", "c5", 2)
    now = 1_000.0
    assert [await limits.take("k", 1.0, 3, now) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await limits.take("k", 1.0, 3, now)
    assert 0.99 <= wait <= 1.01
    assert await limits.take("k", 1.0, 3, now + 1.0) == 0.0
    assert await limits.take("other", 1.0, 3, now) == 0.0



async def test_failures_are_counted_in_a_sliding_window_and_capped(engine: Engine) -> None:
    limits, now = engine.limits, 5_000.0
    assert await limits.failures("login:user:a", 60.0, now) == 0
    assert [await limits.fail("login:user:a", 60.0, now + i, 3) for i in range(5)] == \
        [1, 2, 3, 4, 4]  # past the cap: reported, not kept
    assert await limits.failures("login:user:a", 60.0, now + 5) == 3
    assert await limits.failures("login:user:b", 60.0, now + 5) == 0
    assert await limits.failures("login:user:a", 60.0, now + 61) == 1  # two slid out
    await limits.forgive("login:user:a")
    assert await limits.failures("login:user:a", 60.0, now + 61) == 0


async def test_appending_publishes_to_subscribed_topics_only(engine: Engine) -> None:
    """The write publishes (no caller does): once per stored message, never for a retry."""
    got: list[tuple[str, object]] = []
    await engine.broker.start(lambda topic, event: got.append((topic, event)))
    ch = await _channel(engine)
    other = await _channel(engine, "other")
    await engine.broker.subscribe(ch.broker_topic)
    for _ in range(200):  # the Redis listener subscribes asynchronously
        if engine.broker.healthy():
            break
        await asyncio.sleep(0.01)
    assert engine.broker.healthy()
    labelled = dataclasses.replace(_msg(ch, "x"), label_json='{"level":"SECRET"}',
                                   real_world=True)
    msg, _ = await engine.store.append_message(labelled)
    # Stored, read back and published with its label and its REAL WORLD mark.
    assert msg.label == {"level": "SECRET"} and msg.real_world
    assert (await engine.store.read_messages(ch.id, limit=1))[0] == msg
    _, created = await engine.store.append_message(_msg(ch, "x"))  # a retry: stored already
    assert not created
    await engine.store.append_message(_msg(other, "y"))
    typing = TypingEvent(ch.id, "alice", "Alice", "POLICE")
    await engine.broker.publish(ch.broker_topic, typing)
    for _ in range(200):
        if len(got) >= 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert [topic for topic, _ in got] == [ch.broker_topic, ch.broker_topic]
    delivered = got[0][1]
    assert isinstance(delivered, MessageEvent) and delivered.message == msg
    assert got[1][1] == typing


async def test_presence_counts_connections(engine: Engine) -> None:
    p = engine.presence
    who = PresenceEntry("alice", "Alice", "POLICE")
    ch = ChannelId("ch_1")
    assert await p.join(ch, who, "c1") is True
    assert await p.join(ch, who, "c2") is False
    assert await p.members(ch) == [who]
    assert await p.leave(ch, who, "c1") is False
    assert await p.leave(ch, who, "c2") is True
    assert await p.members(ch) == []


async def test_redis_persistence_is_checked_at_start(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from tests.redis_support import RedisServer

    for appendonly, fsync, expected in ((False, "always", "no-aof"),
                                        (True, "everysec", "everysec"),
                                        (True, "always", "always")):
        server = RedisServer(appendonly=appendonly, fsync=fsync).start()
        try:
            eng = build_engine(Settings(data_dir=tmp_path, engine=server.url))
            caplog.clear()
            await eng.store.open()
            assert await eng.store.check_persistence() == expected  # type: ignore[attr-defined]
            warned = [r for r in caplog.records if r.levelname == "WARNING"]
            assert bool(warned) == (expected != "always")
            await eng.broker.close()
            await eng.store.close()
        finally:
            server.stop()


def _write(op: str, rid: str, doc: dict, expected: int | None, **kw: object) -> RecordWrite:  # type: ignore[type-arg]
    return RecordWrite(OperationId(op), "case", rid, doc, expected, kw.pop("action", "created"),  # type: ignore[arg-type]
                       "alice", 1.0, {}, **kw)  # type: ignore[arg-type]


async def test_records_versioned_with_an_ordered_gap_free_op_log(engine: Engine) -> None:
    store = engine.store
    ev, created = await store.write_record(_write("op_1", "c1", {"title": "a"}, None))
    assert created and ev.seq == 1 and ev.version == 1 and ev.data["record"] == {"title": "a"}
    with pytest.raises(Conflict):
        await store.write_record(_write("op_1", "c1", {"title": "again"}, None))
    ev2, _ = await store.write_record(_write("op_1", "c1", {"title": "b"}, 1, action="updated"))
    assert (ev2.seq, ev2.version) == (2, 2)
    with pytest.raises(Conflict):  # a second writer still holding version 1 loses
        await store.write_record(_write("op_1", "c1", {"title": "stale"}, 1))
    with pytest.raises(NotFound):
        await store.write_record(_write("op_1", "nope", {"title": "x"}, 3))
    assert await store.get_record(OperationId("op_1"), "case", "c1") == ({"title": "b"}, 2)
    assert await store.get_record(OperationId("op_2"), "case", "c1") is None  # other op
    racers = await asyncio.gather(*(store.write_record(_write("op_1", f"r{i}", {"i": i}, None))
                                    for i in range(30)), return_exceptions=True)
    assert all(not isinstance(r, BaseException) for r in racers)
    events = await store.read_op_events(OperationId("op_1"), limit=100)
    assert [e.seq for e in events] == list(range(1, 33))
    assert await store.op_event_bounds(OperationId("op_1")) == (1, 32)
    assert await store.op_event_bounds(OperationId("op_9")) == (1, 0)
    assert len(await store.list_records(OperationId("op_1"), "case")) == 31
    # Concurrent updates of one version: exactly one wins.
    _doc, version = await store.get_record(OperationId("op_1"), "case", "r0")  # type: ignore[misc]
    outcomes = await asyncio.gather(
        *(store.write_record(_write("op_1", "r0", {"n": n}, version, action="updated"))
          for n in range(10)), return_exceptions=True)
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1


async def test_record_writes_are_idempotent(engine: Engine) -> None:
    store = engine.store
    first, c1 = await store.write_record(_write("op_1", "c1", {"t": 1}, None,
                                                idempotency_key="k1"))
    again, c2 = await store.write_record(_write("op_1", "c1", {"t": 1}, None,
                                                idempotency_key="k1"))
    assert c1 and not c2 and again == first
    assert len(await store.read_op_events(OperationId("op_1"))) == 1


async def test_a_private_records_event_carries_no_part_of_it(engine: Engine) -> None:
    """Webhook secrets and URLs live in private records: every member reads the log."""
    store = engine.store
    ev, _ = await store.write_record(_write("op_1", "w1", {"secret": "whsec_x"}, None,
                                            private=True))
    assert ev.data == {} and "whsec_x" not in str(ev.frame())
    [logged] = await store.read_op_events(OperationId("op_1"))
    assert logged.data == {} and logged.record_id == "w1"
    assert await store.get_record(OperationId("op_1"), "case", "w1") == ({"secret": "whsec_x"},
                                                                         1)


async def test_writing_a_record_publishes_its_op_event(engine: Engine) -> None:
    got: list[object] = []
    await engine.broker.start(lambda topic, event: got.append((topic, event)))
    await engine.broker.subscribe(ops_topic("op_1"))
    for _ in range(200):
        if engine.broker.healthy():
            break
        await asyncio.sleep(0.01)
    ev, _ = await engine.store.write_record(_write("op_1", "c1", {"t": 1}, None))
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(got) == 1
    topic, event = got[0]  # type: ignore[misc]
    assert topic == ops_topic("op_1") and event.event == ev


async def test_records_are_stored_strictly_and_old_poison_is_repaired(engine: Engine) -> None:
    store: Any = engine.store
    await _channel(engine)  # creates operation op_1
    with pytest.raises(BadRequest, match=r"record\.level"):
        await store.write_record(_write("op_1", "c1", {"level": float("nan")}, None))
    await store.write_record(_write("op_1", "c1", {"title": "ok"}, None))
    poisoned = json.dumps({"title": "x\udc00", "level": float("inf")})
    if engine.name == "embedded":
        await store._run(lambda db: db.execute("UPDATE records SET doc=? WHERE id='c1'",
                                               (poisoned,)))
    else:
        await store.r.hset(store.keys.record("op_1", "case", "c1"), "doc", poisoned)
    before = repaired_total()
    doc, _ = await store.get_record(OperationId("op_1"), "case", "c1")
    assert doc == {"title": "x\ufffd", "level": None} and repaired_total() == before + 1
    assert (await store.repair_documents(dry_run=True))["records"] == 1
    assert (await store.repair_documents())["records"] == 1
    assert (await store.repair_documents())["records"] == 0
    doc, _ = await store.get_record(OperationId("op_1"), "case", "c1")
    assert doc == {"title": "x\ufffd", "level": None} and repaired_total() == before + 1
