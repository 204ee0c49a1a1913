"""Names of the documents the store keeps for the features, typed by their shape.

The engines store a feature's record or state as one JSON document they never
look into (``hub.engine.jsondoc``). The feature that owns a kind of document
declares its shape (a ``TypedDict``) and names it once::

    CASE: RecordKind[CaseDoc] = RecordKind("case")

so ``store.get_record(op, CASE, id)`` is typed ``tuple[CaseDoc, int] | None`` and
mypy checks every field a service reads or writes. The name is the string the
engines store under (a ``RecordKind`` *is* that string: events, exports and
logs compare and print it as before).

What a read returns is what the same feature wrote, after its bodies were
validated at the boundary (``hub.bodies``): the store is not an edge, so reads
are not validated again. The tests hold each shape to what is written
(``tests/alerting/test_documents.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar, cast

__all__ = ["D", "JsonObject", "RecordKind", "StateName", "any_kind", "record_in"]

#: A document as the engines take it: any JSON object, a TypedDict included.
JsonObject = Mapping[str, object]

D = TypeVar("D", bound=JsonObject)


class RecordKind(str, Generic[D]):
    """The kind of an operation's versioned records, typed by their document."""

    __slots__ = ()


class StateName(str, Generic[D]):
    """The name of a feature's internal state document of an operation."""

    __slots__ = ()


def any_kind(name: str) -> RecordKind[JsonObject]:
    """A kind named at run time (an event's, an audit target's), for code that reads
    the records of every kind alike: its documents are JSON objects of no known shape."""
    return RecordKind(name)


def record_in(kind: RecordKind[D], event_kind: str, data: Mapping[str, object]) -> D | None:
    """The record an operation log event of ``event_kind`` carries (``data["record"]``),
    if the event is of ``kind``: the document the store wrote with it. None for an
    event of another kind, or one that carries no record (a private record's)."""
    record = data.get("record")
    return cast(D, record) if event_kind == kind and isinstance(record, dict) else None
