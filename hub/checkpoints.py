"""Signed checkpoints of the audit trail: what lets anyone verify it with a public key.

The chain of :mod:`hub.audit` is keyed with an HMAC, which only its key holder can
check — and the key holder could rewrite it. So every so often the hub signs the
trail's *digest* with its Ed25519 key (:mod:`hub.signing`) and appends the
signature to the trail itself, as an ``audit.checkpoint`` record. The digest is a
plain SHA-256 chain over every record's canonical form (its HMAC included), which
anyone holding the records can recompute: a checkpoint therefore vouches for every
record before it, and a trail rewritten with the stolen HMAC key no longer matches
the checkpoints signed before the theft.

The signing key can be rotated: a ``signing.key_rotated`` record carries the new
public key, and the checkpoint that covers it is signed with the old one — so a
verifier who trusts the first public key learns each later one from the trail,
and old signatures keep verifying. After a rotation is vouched for, the retired
key signs nothing more.

:func:`verify` is pure: records and trusted public keys in, a report out, naming
every checkpoint that fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.models import AuditRecord
from hub.signing import key_id, load_public_key
from hub.signing import verify as verify_signature

__all__ = ["CHECKPOINT", "ROTATED", "START", "CheckpointReport", "signed_bytes", "step",
           "verify"]

CHECKPOINT = "audit.checkpoint"
ROTATED = "signing.key_rotated"
#: The digest before the first record.
START = "0" * 64


def step(digest: str, record: AuditRecord) -> str:
    """The digest after ``record``: SHA-256 over the previous digest and the record."""
    body = json.dumps(record.as_dict(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    return hashlib.sha256((digest + body).encode("ascii")).hexdigest()


def signed_bytes(upto: int, digest: str) -> bytes:
    """What a checkpoint's signature is over."""
    return f"liaison-audit-checkpoint/1 {upto} {digest}".encode("ascii")


@dataclass
class CheckpointReport:
    problems: list[str] = field(default_factory=list)
    #: Checkpoints that verified, and the last record they vouch for.
    good: int = 0
    covered: int = 0
    records: int = 0
    #: Key ids trusted by the end (the given ones, then each vouched-for rotation).
    keys: list[str] = field(default_factory=list)
    #: Each good checkpoint: its seq, the statement it signed, and its TSA time-stamp
    #: (None when it has none), to be checked by :mod:`hub.timestamps`.
    stamps: list[tuple[int, bytes, str | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(records: Iterable[AuditRecord], trusted: Mapping[str, Ed25519PublicKey], *,
           max_unsigned: int) -> CheckpointReport:
    """Recompute the digest over ``records`` and check every checkpoint in them.

    A problem is named for each checkpoint whose digest or signature fails, each
    signed by a key not trusted (or retired) at that point, and for a tail of more
    than ``max_unsigned`` records no good checkpoint vouches for.
    """
    report = CheckpointReport()
    keys: dict[str, Ed25519PublicKey] = dict(trusted)
    retired: dict[str, int] = {}  # key id -> the seq after which it signs nothing
    pending: list[tuple[int, str, str, Ed25519PublicKey]] = []  # rotations not yet vouched
    digests: dict[int, str] = {0: START}
    digest = START
    for rec in records:
        report.records += 1
        if rec.action == CHECKPOINT:
            _checkpoint(report, rec, digests, keys, retired, pending)
        elif rec.action == ROTATED:
            rotation = _rotation(rec)
            if rotation is None:
                report.problems.append(f"record {rec.seq}: a key rotation without a "
                                       "readable new public key")
            else:
                pending.append((rec.seq, *rotation))
        digest = step(digest, rec)
        digests[rec.seq] = digest
    unsigned = report.records - report.covered
    if unsigned > max_unsigned:
        report.problems.append(
            f"records {report.covered + 1}-{report.records} are vouched for by no signed "
            f"checkpoint ({unsigned} records; at most {max_unsigned} may wait for the next)")
    report.keys = sorted(keys)
    return report


def _checkpoint(report: CheckpointReport, rec: AuditRecord, digests: Mapping[int, str],
                keys: dict[str, Ed25519PublicKey], retired: dict[str, int],
                pending: list[tuple[int, str, str, Ed25519PublicKey]]) -> None:
    d = rec.details
    upto, claimed, kid, signature = (d.get("upto"), d.get("digest"), d.get("key_id"),
                                     d.get("signature"))
    where = f"checkpoint at record {rec.seq}"
    if not (isinstance(upto, int) and isinstance(claimed, str) and isinstance(kid, str)
            and isinstance(signature, str)) or upto not in digests:
        report.problems.append(f"{where}: not a readable checkpoint")
        return
    key = keys.get(kid)
    if key is None:
        report.problems.append(f"{where}: signed with key {kid}, which is not trusted "
                               "(give its public key, or the one it was rotated from)")
        return
    if kid in retired and rec.seq > retired[kid]:
        report.problems.append(f"{where}: signed with key {kid}, retired at record "
                               f"{retired[kid]}")
        return
    if not verify_signature(key, signed_bytes(upto, claimed), signature):
        report.problems.append(f"{where}: the signature of key {kid} does not verify")
        return
    if digests[upto] != claimed:
        report.problems.append(f"{where}: records 1-{upto} are not those key {kid} signed "
                               "(the trail was rewritten)")
        return
    report.good += 1
    report.covered = max(report.covered, upto)
    token = d.get("timestamp")
    report.stamps.append((rec.seq, signed_bytes(upto, claimed),
                          token if isinstance(token, str) else None))
    for seq, old, new_id, new_key in tuple(pending):
        if seq <= upto and old == kid:  # the old key vouches for its successor
            keys[new_id] = new_key
            retired[old] = rec.seq
            pending.remove((seq, old, new_id, new_key))


def _rotation(rec: AuditRecord) -> tuple[str, str, Ed25519PublicKey] | None:
    old, pem = rec.details.get("from"), rec.details.get("public_key")
    if not isinstance(old, str) or not isinstance(pem, str):
        return None
    try:
        public = load_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    return old, key_id(public), public
