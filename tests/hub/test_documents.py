"""hub/documents.py: kinds and state names are the strings the engines store under.

That the port is typed by them is mypy's to check (``.venv/bin/mypy``); here, what
they are at run time, and what :func:`record_in` gives for each kind of event.
"""

from __future__ import annotations

import json

import msgpack

from hub.documents import JsonObject, RecordKind, StateName, any_kind, record_in

CASE: RecordKind[JsonObject] = RecordKind("case")
STATE: StateName[JsonObject] = StateName("alerting")


def test_a_kind_is_its_name_wherever_a_string_goes() -> None:
    assert CASE == "case" and hash(CASE) == hash("case") and f"{CASE}:1" == "case:1"
    assert {"case": 1}[CASE] == 1 and str(CASE) == "case" and type(str(CASE)) is str
    assert json.dumps({CASE: CASE}) == '{"case": "case"}'
    assert msgpack.unpackb(msgpack.packb([CASE, STATE])) == ["case", "alerting"]
    assert any_kind("alert") == "alert" and isinstance(any_kind("alert"), RecordKind)


def test_an_event_gives_its_record_only_for_its_own_kind() -> None:
    record = {"id": "case-1", "title": "Levee"}
    assert record_in(CASE, "case", {"record": record, "changes": {}}) is record
    assert record_in(CASE, "alert", {"record": record}) is None
    # a private record's event carries no record; a malformed one is not a record
    assert record_in(CASE, "case", {"extra": 1}) is None
    assert record_in(CASE, "case", {"record": ["id"]}) is None
