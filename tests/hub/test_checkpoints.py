"""hub/checkpoints.py is the parser of what a trail's checkpoints claim: whatever an
edited trail holds in a checkpoint's details, verify() names the record, never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.checkpoints import CHECKPOINT, ROTATED, START, signed_bytes, step, verify
from hub.models import AuditRecord
from hub.signing import Signer

SIGNER = Signer.generate()
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
FIELDS = st.sampled_from(["upto", "digest", "key_id", "signature", "from", "public_key"])


def _trail(details: dict[str, object], action: str) -> list[AuditRecord]:
    first = AuditRecord(1, 1.0, "alice", "login", "s", "ok", "", "", {}, "0" * 64, "h1")
    digest = step(START, first)
    good = {"upto": 1, "digest": digest, "key_id": SIGNER.key_id,
            "signature": SIGNER.sign(signed_bytes(1, digest))}
    return [first, AuditRecord(2, 2.0, "hub", action, "audit:1", "ok", "", "",
                               {**good, **details}, "h1", "h2")]


def test_a_good_checkpoint_verifies() -> None:
    report = verify(_trail({}, CHECKPOINT), {SIGNER.key_id: SIGNER.public}, max_unsigned=5)
    assert report.ok and report.good == 1 and report.covered == 1


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(FIELDS, JSON, min_size=1, max_size=4),
       st.sampled_from([CHECKPOINT, ROTATED]))
def test_any_edited_details_are_named_never_raised(details: dict[str, object],
                                                     action: str) -> None:
    report = verify(_trail(details, action), {SIGNER.key_id: SIGNER.public}, max_unsigned=0)
    changed = action == CHECKPOINT and any(
        details[k] != v for k, v in _trail({}, CHECKPOINT)[1].details.items() if k in details)
    if changed:
        assert not report.ok and any("record 2" in p for p in report.problems), report
    if action == ROTATED and {"from", "public_key"} - set(details):
        assert any("record 2" in p for p in report.problems), report
