"""The hash chain, without a store."""

from __future__ import annotations

import dataclasses

from hub.audit import GENESIS, chain_hash, verify_chain
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
