"""hub/engine/redis_keys.py: every key the Redis engine names, and the slots they share.

The names are part of the stored data: a changed name would orphan what a
running deployment holds, so they are pinned here (layout 2 moved the
directory under ``{dir}``; the store moves a layout-1 keyspace on open). Each Lua script must touch
keys of one cluster slot; the hash tags make that so.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from redis.crc import key_slot

from hub.engine.redis_keys import RedisKeys
from hub.models import CONTROL_TOPIC

K = RedisKeys("P:")
ENGINE = Path(__file__).resolve().parents[3] / "hub" / "engine"


def slot(key: str) -> int:
    return int(key_slot(key.encode()))


def test_identity_and_operation_keys_keep_their_names() -> None:
    assert [K.user("u1"), K.username("Alice"), K.users(), K.user_sessions("u1"),
            K.user_operations("u1"), K.session("s1"), K.sessions(), K.token_hash("ab"),
            K.revocations()] == [
        "P:{dir}:user:u1", "P:{dir}:username:alice", "P:{dir}:users",
        "P:{dir}:user:u1:sessions", "P:{dir}:user:u1:ops", "P:{dir}:session:s1",
        "P:{dir}:sessions", "P:{dir}:tokenhash:ab", "P:{dir}:revocations"]
    assert [K.op_meta("o1"), K.op_code("Flood-7"), K.op_ids(), K.op_members("o1"),
            K.op_channels("o1"), K.channel_name("o1", "General"), K.layout()] == [
        "P:{dir}:op:o1", "P:{dir}:opcode:flood-7", "P:{dir}:ops", "P:{dir}:op:o1:members",
        "P:{dir}:op:o1:channels", "P:{dir}:op:o1:chname:general", "P:{dir}:layout"]


def directory_keys() -> list[str]:
    return [K.user("u1"), K.username("a"), K.users(), K.user_sessions("u1"),
            K.user_operations("u1"), K.session("s1"), K.sessions(), K.token_hash("ab"),
            K.revocations(), K.op_meta("o1"), K.op_code("c"), K.op_ids(), K.op_members("o1"),
            K.op_channels("o1"), K.channel_name("o1", "n"), K.audit(), K.audit_head(),
            K.layout()]


def test_the_directory_is_one_slot_so_its_transactions_and_scripts_run_on_a_cluster() -> None:
    assert len({slot(k) for k in directory_keys()}) == 1


def test_layout_1_names_move_under_the_directory_tag_and_nothing_else_moves() -> None:
    for key in directory_keys():
        if key != K.layout():
            assert K.upgraded(key.replace("{dir}:", "")) == key
    for key in [K.record("o1", "case", "c1"), K.channel("c1"), K.lease("x"),
                K.connections("u1"), K.rate("x"), K.presence("c1"), K.presence_channels(),
                K.marker("m"), "other:user:u1",
                *directory_keys()]:
        assert K.upgraded(key) is None, key


def test_a_prefix_with_braces_is_refused() -> None:
    with pytest.raises(ValueError, match="braces"):
        RedisKeys("hub{a}:")


def test_record_log_and_coordination_keys_keep_their_names() -> None:
    assert [K.record("o1", "case", "c1"), K.records("o1"), K.record_ids("o1", "case"),
            K.op_log("o1"), K.op_log_head("o1"), K.op_state("o1"),
            K.op_retry("o1", "bob", "k")] == [
        "P:op:{o1}:rec:case:c1", "P:op:{o1}:rec:*:*", "P:op:{o1}:kind:case", "P:op:{o1}:log",
        "P:op:{o1}:meta", "P:op:{o1}:state", "P:op:{o1}:idem:bob:k"]
    assert [K.lease("alerting"), K.marker("totp:u1"), K.connections("u1"), K.rate("x"),
            K.presence("c1"), K.presence_channels(), K.audit(), K.audit_head()] == [
        "P:lease:alerting", "P:marker:totp:u1", "P:conns:u1", "P:rate:x",
        "P:presence:{c1}", "P:presence:channels", "P:{dir}:audit", "P:{dir}:audit:head"]


def test_a_chat_channels_keys_and_shard_channel_share_one_slot() -> None:
    keys = [K.channel("c1"), K.channel_log("c1"), K.channel_retry("c1", "u1", "m1"),
            K.channel_events("o1", "c1"), K.topic("ch:o1:c1")]
    assert len({slot(k) for k in keys}) == 1
    assert K.channel("c1") == "P:ch:{c1}" and K.channel_log("c1") == "P:ch:{c1}:log"


def test_a_record_write_touches_one_slot_with_its_event_channel() -> None:
    keys = [K.record("o1", "case", "c1"), K.op_log_head("o1"), K.op_log("o1"),
            K.op_retry("o1", "bob", ""), K.record_ids("o1", "case"), K.op_events("o1"),
            K.topic("ops:o1")]
    assert len({slot(k) for k in keys}) == 1


def test_topics_map_to_their_shard_channels() -> None:
    assert K.topic(CONTROL_TOPIC) == "P:control"
    assert K.topic("ops:o1") == "P:op:{o1}:events"
    assert K.topic("ch:o1:c1") == "P:op:o1:ch:{c1}"
    assert K.node("n1") == "P:node:n1"


def test_no_other_engine_module_spells_a_key() -> None:
    """Every key comes from RedisKeys: no f-string elsewhere starts with a prefix."""
    offenders = []
    for path in sorted(ENGINE.glob("redis_*.py")):
        if path.name == "redis_keys.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(
                    node.values[0], ast.FormattedValue):
                first = ast.unparse(node.values[0].value)
                if first in ("prefix", "self.prefix", "self.p", "self._p", "p"):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
