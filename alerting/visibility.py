"""Metadata is content: what one reader may see of an operation's history.

An event of the log, or an audit record, *concerns* an item: a case, an alert,
a silence, a channel, a webhook. It is shown to a reader only if the reader may
see that item as it is now, as well as the record the event carries (an item
relabelled since is as hidden in its history as it is today; an event labelled
higher than its item stays hidden too). Ids, fingerprints, names, actors and
times of a hidden item therefore never reach the reader through the log, the
board's replay or an export's audit records.

A :class:`ReaderView` serves one request: it reads each item's current state
once and remembers the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alerting.kinds import ALERT, CASE, SILENCE, SUBSCRIPTION
from channels.access import Access
from channels.webhooks import KIND as WEBHOOK
from hub.documents import JsonObject, any_kind
from hub.engine.port import Operations, Records
from hub.feeds import FeedItem
from hub.labels import Policy
from hub.models import AuditRecord, Channel, OperationId, OpEvent
from hub.principal import Principal

__all__ = ["History", "ReaderView", "Replayed", "as_replayed"]

#: The labelled kinds an audit record's target may name, tried in this order.
_TARGET_KINDS: tuple[str, ...] = (ALERT, CASE, SILENCE, WEBHOOK, SUBSCRIPTION)
#: A target written as "<kind>:<id>".
_PREFIXES: dict[str, str] = {"case": CASE, "alert": ALERT, "silence": SILENCE,
                             "channel": "channel", "webhook": WEBHOOK}


class History(Records, Operations, Protocol):
    """The part of the store a reader's view reads: records and channels."""


class ReaderView:
    def __init__(self, access: Access, store: History, principal: Principal,
                 op_id: OperationId) -> None:
        self._access = access
        self._store = store
        self._principal = principal
        self._op_id = op_id
        self._channels: dict[str, Channel] | None = None
        self._seen: dict[tuple[str, str], bool] = {}

    async def channels(self) -> dict[str, Channel]:
        if self._channels is None:
            self._channels = {ch.id: ch for ch in await self._store.list_channels(self._op_id)}
        return self._channels

    def _sees_doc(self, doc: JsonObject | None) -> bool:
        return self._access.sees(self._principal, doc)

    async def _sees_channel(self, ch_id: str) -> bool:
        ch = (await self.channels()).get(ch_id)
        return ch is None or self._access.cleared(self._principal, ch)

    async def sees_item(self, kind: str, item_id: str) -> bool:
        """Whether the reader may see item ``item_id`` of ``kind`` as it is now (an item
        that is no more, or of a kind that carries no label, is the operation's)."""
        known = self._seen.get((kind, item_id))
        if known is not None:
            return known
        if kind == "channel":
            shown = await self._sees_channel(item_id)
            self._seen[(kind, item_id)] = shown
            return shown
        found = await self._store.get_record(self._op_id, any_kind(kind), item_id[:64])
        return await self._judge(kind, item_id, found[0] if found else None)

    async def _judge(self, kind: str, item_id: str, doc: JsonObject | None) -> bool:
        shown = self._sees_doc(doc)
        if shown and doc is not None and doc.get("channel_id"):
            shown = await self._sees_channel(str(doc["channel_id"]))
        if shown and doc is not None and doc.get("case_id") and kind != CASE:
            shown = await self.sees_item(CASE, str(doc["case_id"]))
        self._seen[(kind, item_id)] = shown
        return shown

    async def sees_event(self, event: OpEvent) -> bool:
        """The event's own record, and the item it concerns as it is now."""
        record = event.data.get("record")
        if not self._sees_doc(record if isinstance(record, dict) else None):
            return False
        return await self.sees_item(event.kind, event.record_id)

    async def sees_audit(self, entry: AuditRecord) -> bool:
        """An audit record of the operation, if what it concerns is the reader's to see."""
        target = entry.target
        prefix, _, rest = target.partition(":")
        if rest and prefix in _PREFIXES:
            return await self.sees_item(_PREFIXES[prefix], rest)
        if target in await self.channels():
            return await self._sees_channel(target)
        if target == self._op_id or not target or target == "-":
            return True
        for kind in _TARGET_KINDS:
            known = self._seen.get((kind, target))
            if known is not None:
                return known
            found = await self._store.get_record(self._op_id, any_kind(kind), target[:64])
            if found is not None:
                return await self._judge(kind, target, found[0])
        return True  # a user, a session, a rule or a policy: the operation's


@dataclass(frozen=True, slots=True)
class Replayed:
    """An event read back for a socket's replay, labelled for who may see it now: the
    join of its own label and its item's current one (hub.gateway passes it over for
    a reader below that, as it does any labelled item)."""

    event: OpEvent
    label: object

    @property
    def seq(self) -> int:
        return self.event.seq

    @property
    def feed_key(self) -> str:
        return self.event.feed_key

    def frame(self) -> dict[str, object]:
        return self.event.frame()


async def as_replayed(store: Records, policy: Policy, op_id: OperationId,
                      events: Sequence[OpEvent]) -> list[FeedItem]:
    """``events`` for a replay: each whose item now carries a different label than the
    event does goes out under the join of both (one read per item)."""
    current: dict[tuple[str, str], object] = {}
    out: list[FeedItem] = []
    for event in events:
        key = (event.kind, event.record_id)
        if key not in current:
            found = await store.get_record(op_id, any_kind(event.kind), event.record_id)
            current[key] = found[0].get("label") if found else None
        now, then = current[key], event.label
        if now is None or now == then:
            out.append(event)
            continue
        labels = [lb for lb in (policy.of_record(then), policy.of_record(now)) if lb]
        out.append(Replayed(event, policy.join(labels).to_dict()))
    return out
