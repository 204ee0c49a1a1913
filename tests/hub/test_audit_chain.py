"""The hash chain, without a store."""

from __future__ import annotations

import dataclasses

from hub.audit import GENESIS, AuditKey, chain_hash, verify_chain
from hub.models import AuditRecord


def chain(n: int) -> list[AuditRecord]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        h = chain_hash(prev, seq, float(seq), "a", "login", "t", "ok", "", "1.2.3.4", {"k": seq})
        out.append(AuditRecord(seq, float(seq), "a", "login", "t", "ok", "", "1.2.3.4",
                               {"k": seq}, prev, h))
        prev = h
    return out


def test_intact_chain_verifies() -> None:
    records = chain(10_000)
    result = verify_chain(records, (10_000, records[-1].hash))
    assert result.ok and result.count == 10_000


def test_any_single_change_is_detected() -> None:
    records = chain(200)
    head = (200, records[-1].hash)
    edited = records.copy()
    edited[57] = dataclasses.replace(edited[57], target="other")
    assert not verify_chain(edited, head).ok
    assert not verify_chain(records[:80] + records[81:], head).ok
    swapped = records.copy()
    swapped[5], swapped[6] = swapped[6], swapped[5]
    assert not verify_chain(swapped, head).ok
    assert not verify_chain(records[:-1], head).ok  # tail cut: the head disagrees


def test_unkeyed_records_need_the_key_holder_to_allow_them() -> None:
    records = chain(20)  # plain SHA-256, as written before audit keys
    head = (20, records[-1].hash)
    keys = {"k1": AuditKey("k1", b"s" * 32)}
    assert verify_chain(records, head).ok
    refused = verify_chain(records, head, keys)
    assert not refused.ok and "not signed" in refused.problem
    assert verify_chain(records, head, keys, unkeyed_before=21).ok
    assert not verify_chain(records, head, keys, unkeyed_before=10).ok


def test_keyed_chain_and_a_wrong_key() -> None:
    key = AuditKey("k1", b"s" * 32)
    prev, records = GENESIS, []
    for seq in range(1, 6):
        h = chain_hash(prev, seq, 1.0, "a", "x", "t", "ok", "", "c", {}, key)
        records.append(AuditRecord(seq, 1.0, "a", "x", "t", "ok", "", "c", {}, prev, h))
        prev = h
    head = (5, prev)
    assert verify_chain(records, head, {"k1": key}).ok
    assert not verify_chain(records, head, {"k1": AuditKey("k1", b"t" * 32)}).ok
    assert not verify_chain(records, head).ok  # keyed records need the key file
    assert "k1" in repr(key) and "sss" not in repr(key)
