"""The confidentiality label of a silence (issue 14's need-to-know, for silences).

A silence is a record of the operation like a case: members below its label do
not see it (REST, the event log, live and replayed op events, the board, the
export). Its reason and matchers may say what it is about, so a silence naming
an alert or a case (``alert = ID``, ``case = ID``) must be marked at least as
that record is: by default it takes that record's label, and a label the author
gives must cover it. A silence naming nothing the author can see defaults to the
operation's label, as a case does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alerting.kinds import ALERT, CASE
from channels.access import Access
from channels.labelling import item_label
from hub.documents import any_kind
from hub.engine.port import Store
from hub.errors import BadRequest
from hub.labels import Label
from hub.models import Operation
from hub.principal import Principal

__all__ = ["silence_label"]

_NAMED: dict[str, str] = {"alert": ALERT, "case": CASE}


async def silence_label(store: Store, access: Access, principal: Principal, op: Operation,
                        matchers: Iterable[Mapping[str, Any]], raw: object) -> Label:
    policy, ceiling = access.policy, access.operation_label(op)
    named: list[tuple[str, Label]] = []
    for m in matchers:
        kind, value = _NAMED.get(str(m.get("label"))), str(m.get("value"))
        if kind is None or m.get("op", "=") != "=" or len(value) > 64:  # no record id
            continue
        found = await store.get_record(op.id, any_kind(kind), value)
        if found is not None and access.sees(principal, found[0]):
            named.append((f"{m['label']} {value}",
                          policy.of_record(found[0].get("label")) or ceiling))
    if raw is None:
        distinct = {label for _, label in named}
        return distinct.pop() if len(distinct) == 1 else ceiling
    label = item_label(policy, raw, access.clearance(principal), ceiling)
    for name, inside in named:
        if not policy.covers(label, inside):
            raise BadRequest(f"'label': the silence names {name}, marked "
                             f"{inside.marking()}; its label must cover that")
    return label
