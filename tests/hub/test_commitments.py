"""hub/commitments.py: a filtered export checked against a complete one, from reports.

The archives themselves (signed, sealed, read back) are exercised end to end in
tests/functional/test_custody_functional.py; here each verdict of :func:`compare` is
reached with two hand-made reports of what :func:`hub.sealed.check` read.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from hub.commitments import commitment, compare, salt
from hub.sealed import Report

SECRET = bytes(range(32))
EXPORTED_AT = 1_000.0


def line(kind: str, n: int, ts: float = 500.0, text: str = "") -> tuple[str, bytes]:
    key = f"{kind}:{n}"
    return key, json.dumps({"type": kind, "key": key, "ts": ts, "text": text}).encode()


def complete(*lines: tuple[str, bytes], op: str = "op-1") -> Report:
    return Report(meta={"complete": True, "operation": {"id": op},
                        "salts": {k: salt(SECRET, k) for k, _ in lines}},
                  lines=dict(lines))


def filtered(held: list[tuple[str, bytes]], withheld: list[tuple[str, bytes]],
             op: str = "op-1") -> Report:
    return Report(meta={"complete": False, "operation": {"id": op}, "exported_at": EXPORTED_AT,
                        "commitments": sorted(commitment(salt(SECRET, k), v)
                                              for k, v in withheld)},
                  lines=dict(held))


def test_an_export_that_holds_some_records_and_commits_to_the_rest_is_the_same_record() -> None:
    a, b, c = line("message", 1), line("message", 2), line("event", 3)
    result = compare(filtered([a], [b, c]), complete(a, b, c))
    assert result.ok and (result.held, result.committed) == (1, 2)
    assert result.notes == []


def test_a_withheld_record_rewritten_afterwards_is_a_problem() -> None:
    a, b = line("message", 1), line("message", 2, text="said")
    rewritten = (b[0], line("message", 2, text="unsaid")[1])
    result = compare(filtered([a], [b]), complete(a, rewritten))
    assert not result.ok
    assert any("match no record" in p for p in result.problems)
    assert any("message:2" in p and "neither" in p for p in result.problems)


def test_a_held_record_that_differs_or_is_gone_is_named() -> None:
    a, b = line("message", 1, text="x"), line("audit", 2)
    changed = (a[0], line("message", 1, text="y")[1])
    result = compare(filtered([a, b], []), complete(changed))
    assert sorted(result.problems) == [
        "record audit:2 of the filtered export is not in the complete one",
        "record message:1 differs between the two exports"]


def test_the_operation_s_state_may_change_between_exports_and_is_only_noted() -> None:
    ch = ("channel:c1", b'{"type":"channel","name":"ops"}')
    renamed = ("channel:c1", b'{"type":"channel","name":"ops-2"}')
    member = ("member:bruno", b'{"type":"member"}')
    result = compare(filtered([ch, member], []), complete(renamed))
    assert result.ok
    assert len(result.notes) == 2 and any("no longer" in n for n in result.notes)


def test_records_made_after_the_filtered_export_are_noted_not_refused() -> None:
    a, late = line("message", 1), line("message", 2, ts=EXPORTED_AT + 60)
    result = compare(filtered([a], []), complete(a, late))
    assert result.ok and result.notes == ["1 record(s) of the complete export came after "
                                          "the filtered one was made"]


def test_an_older_record_neither_held_nor_committed_to_is_a_problem() -> None:
    a, hidden = line("message", 1), line("message", 2)
    assert compare(filtered([a], []), complete(a, hidden)).problems == [
        "record message:2 of the complete export is neither in the filtered one nor "
        "committed to by it"]


def test_the_second_archive_must_be_complete_and_of_the_same_operation() -> None:
    a = line("message", 1)
    not_complete = Report(meta={"operation": {"id": "op-1"}}, lines=dict([a]))
    assert compare(filtered([a], []), not_complete).problems == [
        "the second archive is not a complete export (a custodian's)"]
    assert compare(filtered([a], []), complete(a, op="op-2")).problems == [
        "the two exports are of different operations"]


def test_a_complete_export_without_a_record_s_salt_is_a_problem() -> None:
    a, b = line("message", 1), line("message", 2)
    report = complete(a, b)
    del report.meta["salts"][b[0]]
    assert "record message:2 of the complete export has no salt" in \
        compare(filtered([a, b], []), report).problems


@given(st.binary(max_size=64), st.text(min_size=1, max_size=40),
       st.text(min_size=1, max_size=40))
def test_salts_and_commitments_are_stable_and_tell_records_apart(
        line_bytes: bytes, key: str, other: str) -> None:
    s = salt(SECRET, key)
    assert len(bytes.fromhex(s)) == 32 and s == salt(SECRET, key)
    assert commitment(s, line_bytes) == commitment(s, line_bytes)
    assert commitment(s, line_bytes) != commitment(s, line_bytes + b"x")
    if other != key:
        assert salt(SECRET, other) != s
