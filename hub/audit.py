"""The audit trail's hash chain: pure functions, no I/O.

Each record's hash covers its own fields and the previous record's hash, so
editing, deleting or reordering any record breaks the chain from that point.
The store keeps the chain head (last seq and hash) beside the records, written
in the same transaction, so removing records from the end is detected too;
``liaison audit verify`` prints the head so it can be kept off-host.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from hub.models import AuditRecord

__all__ = ["GENESIS", "VerifyResult", "chain_hash", "verify_chain"]

GENESIS = "0" * 64


def chain_hash(prev_hash: str, seq: int, ts: float, actor: str, action: str, target: str,
               outcome: str, operation_id: str, client: str,
               details: dict[str, object]) -> str:
    body = json.dumps(
        [seq, ts, actor, action, target, outcome, operation_id, client, details],
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    problem: str = ""


def verify_chain(records: Iterable[AuditRecord],
                 head: tuple[int, str] | None) -> VerifyResult:
    """Check every link; ``head`` is the (seq, hash) the store recorded last."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for rec in records:
        if rec.seq != expected_seq:
            return VerifyResult(False, count, prev,
                                f"record {expected_seq} missing or out of order (found {rec.seq})")
        if rec.prev_hash != prev:
            return VerifyResult(False, count, prev, f"record {rec.seq}: link to previous broken")
        digest = chain_hash(rec.prev_hash, rec.seq, rec.ts, rec.actor, rec.action, rec.target,
                            rec.outcome, rec.operation_id, rec.client, rec.details)
        if digest != rec.hash:
            return VerifyResult(False, count, prev, f"record {rec.seq}: contents altered")
        prev = rec.hash
        expected_seq += 1
        count += 1
    if head is not None and (head[0] != count or head[1] != prev):
        return VerifyResult(False, count, prev,
                            f"chain ends at record {count} but the head says {head[0]}")
    return VerifyResult(True, count, prev)
