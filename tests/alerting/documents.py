"""Holding alerting's declared document shapes (alerting.documents) to what is stored.

:func:`conforms` checks one document against its TypedDict both ways: every key it
holds is declared, and msgspec's strict conversion (types, required keys) passes.
:func:`stored_conform` does so for every record and state document of an
operation as an engine holds it, so a test that has driven a real hub through
its features proves the declarations say what the services really write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from alerting import documents as d
from alerting import kinds
from channels.custodians import STATE as CUSTODIANS
from channels.custodians import CustodianState
from channels.webhooks import KIND as INCOMING_WEBHOOK
from channels.webhooks import HookDoc
from hub.documents import RecordKind, StateName
from hub.engine.port import Records
from hub.models import OperationId

#: Every record kind with its document type.
RECORDS: dict[RecordKind[Any], Any] = {
    kinds.CASE: d.CaseDoc, kinds.ALERT: d.AlertDoc, kinds.RULE: d.RuleDoc,
    kinds.POLICY: d.PolicyDoc, kinds.SILENCE: d.SilenceDoc, kinds.CAP: d.CapDoc,
    kinds.SUBSCRIPTION: d.SubscriptionDoc, INCOMING_WEBHOOK: HookDoc,
}
#: Every state document of fixed name with its type.
STATES: dict[StateName[Any], Any] = {
    kinds.PIPELINE_STATE: d.PipelineState, kinds.OUTGOING_STATE: d.OutgoingState,
    kinds.SALT_STATE: d.SaltState, CUSTODIANS: CustodianState,
}


def conforms(doc: Mapping[str, Any], shape: Any) -> None:
    """Raise AssertionError naming the first difference between ``doc`` and ``shape``."""
    declared = set(shape.__required_keys__) | set(shape.__optional_keys__)
    undeclared = sorted(set(doc) - declared)
    assert not undeclared, f"{shape.__name__} does not declare {undeclared}: {_short(doc)}"
    try:
        msgspec.convert(doc, shape, strict=True)
    except msgspec.ValidationError as exc:
        raise AssertionError(f"{shape.__name__}: {exc}: {_short(doc)}") from None


def _short(doc: Mapping[str, Any]) -> str:
    text = repr(dict(doc))
    return text if len(text) <= 400 else text[:400] + "..."


async def stored_conform(store: Records, op_id: OperationId) -> dict[str, int]:
    """Check every stored document of the operation; how many of each kind there were."""
    counts: dict[str, int] = {}
    for kind, shape in RECORDS.items():
        docs = await store.list_records(op_id, kind)
        for doc, _ in docs:
            conforms(doc, shape)
        counts[str(kind)] = len(docs)
    for name, shape in STATES.items():
        state = await store.get_state(op_id, name)
        if state is not None:
            conforms(state, shape)
            counts[str(name)] = 1
    for sub, _ in await store.list_records(op_id, kinds.SUBSCRIPTION):
        log = await store.get_state(op_id, kinds.log_key(sub["id"]))
        for delivery_id in (log or {"ids": []})["ids"]:
            delivery = await store.get_state(op_id, kinds.delivery_key(delivery_id))
            assert delivery is not None, delivery_id
            conforms(delivery, d.DeliveryDoc)
            counts["delivery"] = counts.get("delivery", 0) + 1
    return counts
