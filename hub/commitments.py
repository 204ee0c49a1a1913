"""Commitments to withheld records, and the check of a filtered export against a complete one.

A filtered export (:mod:`alerting.record.export`) leaves out what its exporter may not
see, but its signed manifest commits to each record left out: the SHA-256 of a
per-record salt followed by the record's line. The salt is 32 bytes derived from
a secret of the operation and the record's key, so every export of the same
record commits to it alike, and nobody without the salt can test a guess of
its content. A complete export (a custodian's) reveals every record's salt in
its manifest.

:func:`compare` takes the two archives, each already verified with
:func:`hub.sealed.check`, and says whether they describe the same record: each
record the filtered export holds is in the complete one unchanged, each
commitment matches a record of the complete one, and each record of the
complete one older than the filtered export is either held or committed to.
Records of the operation's *state* (the operation, its channels and members)
may change between two exports and are reported as notes; history (events,
messages, audit records) may only grow. Pure: reports in, problems out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from hub.sealed import Report

__all__ = ["Comparison", "commitment", "compare", "salt"]

#: Record types that describe the operation as it is, not what happened.
STATE = frozenset({"operation", "channel", "member"})


def salt(secret: bytes, key: str) -> str:
    """The salt of the record ``key`` (hex), derived from the operation's secret."""
    return hmac.new(secret, key.encode("utf-8"), hashlib.sha256).hexdigest()


def commitment(salt_hex: str, line: bytes) -> str:
    """SHA-256 over the salt's bytes and the record's line (hex)."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + line).hexdigest()


@dataclass
class Comparison:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    held: int = 0
    committed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def compare(filtered: Report, complete: Report) -> Comparison:
    """Whether ``filtered`` and ``complete`` (both verified) describe the same record."""
    out = Comparison()
    f_meta, c_meta = filtered.meta, complete.meta
    if not c_meta.get("complete") or not isinstance(c_meta.get("salts"), dict):
        out.problems.append("the second archive is not a complete export (a custodian's)")
        return out
    if (f_meta.get("operation") or {}).get("id") != (c_meta.get("operation") or {}).get("id"):
        out.problems.append("the two exports are of different operations")
        return out
    salts: dict[str, Any] = c_meta["salts"]
    exported_at = _number(f_meta.get("exported_at"))
    by_commitment: dict[str, str] = {}
    for key, line in complete.lines.items():
        s = salts.get(key)
        if not isinstance(s, str):
            out.problems.append(f"record {key} of the complete export has no salt")
            continue
        by_commitment[commitment(s, line)] = key
    committed_keys: set[str] = set()
    unmatched = 0
    for c in f_meta.get("commitments") or []:
        match = by_commitment.get(str(c))
        if match is None:
            unmatched += 1
        else:
            committed_keys.add(match)
    if unmatched:
        out.problems.append(f"{unmatched} record(s) withheld from the filtered export match "
                            "no record of the complete one (altered or removed since)")
    out.committed = len(committed_keys)
    for key, line in filtered.lines.items():
        theirs = complete.lines.get(key)
        if theirs == line:
            out.held += 1
        elif _kind(key) in STATE:
            out.notes.append(f"record {key} differs: the operation's state changed between "
                             "the two exports" if theirs is not None else
                             f"record {key} is no longer in the operation's state")
        elif theirs is None:
            out.problems.append(f"record {key} of the filtered export is not in the "
                                "complete one")
        else:
            out.problems.append(f"record {key} differs between the two exports")
    later = 0
    for key, line in complete.lines.items():
        if key in filtered.lines or key in committed_keys or _kind(key) in STATE:
            continue
        ts = _ts(line)
        if exported_at is not None and ts is not None and ts > exported_at:
            later += 1
        else:
            out.problems.append(f"record {key} of the complete export is neither in the "
                                "filtered one nor committed to by it")
    if later:
        out.notes.append(f"{later} record(s) of the complete export came after the "
                         "filtered one was made")
    return out


def _kind(key: str) -> str:
    return key.partition(":")[0]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _ts(line: bytes) -> float | None:
    try:
        return _number(json.loads(line).get("ts"))
    except (ValueError, AttributeError):
        return None
