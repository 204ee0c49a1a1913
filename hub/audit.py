"""The audit trail's keyed hash chain, and the audit key file.

Each record's hash is an HMAC-SHA256, under the hub's audit key, of its own
fields and the previous record's hash, so editing, deleting or reordering any
record breaks the chain from that point — and, because the key is kept outside
the database, someone who can rewrite the database cannot recompute a valid
chain either. A hash reads ``<key id>:<hex>``, so keys can be rotated: the
key file keeps every key, one per line, and the last one signs new records.
Records written before audit keys existed carry a plain SHA-256 hash; they
are accepted only with ``--unkeyed-before``.

The store keeps the chain head (last seq and hash) beside the records,
written in the same transaction, so removing records from the end is
detected too; ``liaison audit verify`` prints the head so it can be kept
off-host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.models import AuditRecord
from hub.private import private_dir
from hub.signing import private_key_file

__all__ = ["GENESIS", "AuditKey", "VerifyResult", "add_key", "chain_hash", "load_keys",
           "verify_chain"]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditKey:
    id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never print the secret
        return f"AuditKey({self.id!r})"


def chain_hash(prev_hash: str, seq: int, ts: float, actor: str, action: str, target: str,
               outcome: str, operation_id: str, client: str,
               details: dict[str, object], key: AuditKey | None = None) -> str:
    """The record's hash: ``<key id>:<HMAC-SHA256>``, or plain SHA-256 without a key."""
    body = json.dumps(
        [seq, ts, actor, action, target, outcome, operation_id, client, details],
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )
    data = (prev_hash + body).encode()
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return f"{key.id}:{hmac.new(key.secret, data, hashlib.sha256).hexdigest()}"


def load_keys(path: Path, *, create: bool = False) -> list[AuditKey]:
    """Every key in the audit key file, the signing key last.

    The file holds ``<key id> <hex secret>`` lines. With ``create``, a missing
    file is made with one new key, readable by its owner only.

    Raises:
        ValueError: the file is missing (without ``create``), malformed, or readable by
            anyone but its owner.
    """
    if not path.exists():
        if not create:
            raise ValueError(f"no audit key file at {path}")
        add_key(path)
    keys = []
    for n, line in enumerate(private_key_file(path).decode("ascii").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or ":" in parts[0]:
            raise ValueError(f"{path}:{n}: expected '<key id> <hex secret>'")
        try:
            keys.append(AuditKey(parts[0], bytes.fromhex(parts[1])))
        except ValueError:
            raise ValueError(f"{path}:{n}: the secret is not hex") from None
    if not keys:
        raise ValueError(f"{path}: no keys")
    return keys


def add_key(path: Path) -> AuditKey:
    """Append a new signing key to the key file (creating it, mode 0600)."""
    key = AuditKey(f"k{secrets.token_hex(4)}", secrets.token_bytes(32))
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="ascii") as f:
        f.write(f"{key.id} {key.secret.hex()}\n")
    return key


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    problem: str = ""


def verify_chain(records: Iterable[AuditRecord], head: tuple[int, str] | None,
                 keys: Mapping[str, AuditKey] | None = None,
                 unkeyed_before: int = 0, *, links_only: bool = False) -> VerifyResult:
    """Check every link; ``head`` is the (seq, hash) the store recorded last.

    With ``keys``, every record from ``unkeyed_before`` on must be signed by
    one of them; without, only the links and plain hashes can be checked. With
    ``links_only`` (a verifier holding no HMAC key, who relies on the signed
    checkpoints of :mod:`hub.checkpoints` for the contents), keyed records are
    checked for their place in the chain only.
    """
    prev = GENESIS
    expected_seq = 1
    count = 0
    for rec in records:
        if rec.seq != expected_seq:
            return VerifyResult(False, count, prev,
                                f"record {expected_seq} missing or out of order (found {rec.seq})")
        if rec.prev_hash != prev:
            return VerifyResult(False, count, prev, f"record {rec.seq}: link to previous broken")
        kid, sep, _ = rec.hash.partition(":")
        key = None
        if sep and links_only:
            prev = rec.hash
            expected_seq += 1
            count += 1
            continue
        if sep:
            if keys is None:
                return VerifyResult(False, count, prev, f"record {rec.seq} is signed with "
                                    f"audit key {kid}: give the key file to verify it")
            key = keys.get(kid)
            if key is None:
                return VerifyResult(False, count, prev, f"record {rec.seq}: signed with "
                                    f"audit key {kid}, which is not in the key file")
        elif keys is not None and rec.seq >= unkeyed_before:
            return VerifyResult(False, count, prev, f"record {rec.seq} is not signed with an "
                                "audit key (rewritten, or written before keys: see "
                                "--unkeyed-before)")
        digest = chain_hash(rec.prev_hash, rec.seq, rec.ts, rec.actor, rec.action, rec.target,
                            rec.outcome, rec.operation_id, rec.client, rec.details, key)
        if not hmac.compare_digest(digest, rec.hash):
            return VerifyResult(False, count, prev, f"record {rec.seq}: contents altered")
        prev = rec.hash
        expected_seq += 1
        count += 1
    if head is not None and (head[0] != count or head[1] != prev):
        return VerifyResult(False, count, prev,
                            f"chain ends at record {count} but the head says {head[0]}")
    return VerifyResult(True, count, prev)
