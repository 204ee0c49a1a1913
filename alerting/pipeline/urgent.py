"""Urgent messages every agency must acknowledge, tracked as alerts.

An urgent message published with ``"ack": "each_agency"`` raises an alert about
it: critical, told to everyone who can read it through its escalation policy,
needing an acknowledgement from each agency that can read it and has someone
who may acknowledge (:mod:`alerting.pipeline.ack_sets`; the sender's own agency counts
as told and acknowledged by the sender). Acknowledging the
message acknowledges that alert for the acknowledger's agency, so the
alert machinery does the rest: escalation goes on for the agencies still to
acknowledge, clients show who is pending, the ledger records who was told when
and who acknowledged, and the export carries it. The channel service calls
these through the hooks the composition root sets.
"""

from __future__ import annotations

from alerting.documents import AckDoc, AlertDoc
from alerting.kinds import POLICY
from alerting.pipeline.ack_sets import AckSets
from alerting.pipeline.alerts import acknowledge, fingerprint, new_alert
from alerting.pipeline.records import AlertRecords
from channels.access import Access
from channels.bodies import chat_body
from hub.clock import Clock
from hub.engine.port import Store
from hub.errors import Conflict, NotFound
from hub.labels import Label
from hub.models import Channel, Message
from hub.principal import Principal

__all__ = ["UrgentMessages"]


def _fingerprint(ch: Channel, seq: int) -> str:
    return fingerprint({"urgent_message": ch.id, "seq": seq})


class UrgentMessages:
    def __init__(self, *, store: Store, records: AlertRecords, clock: Clock,
                 access: Access, ack_sets: AckSets) -> None:
        self._store = store
        self._ack_sets = ack_sets
        self._records = records
        self._clock = clock
        self._access = access

    def _label(self, ch: Channel, message: Message) -> Label:
        """The message's effective label: its own, else its channel's. The alert copies
        the message, so it is exactly as hidden as the message."""
        own = self._access.policy.of_record(message.label)
        return own if own is not None else self._access.channel_label(ch)

    async def track(self, principal: Principal, ch: Channel, message: Message) -> None:
        """Raise the alert for ``message`` (idempotent: a retried publish raises none)."""
        op = await self._store.get_operation(ch.operation_id)
        if op is None:
            return
        label = self._label(ch, message)
        agencies = await self._ack_sets.of(op.id, label)
        policy = "default" if await self._store.get_record(op.id, POLICY, "default") else None
        now = self._clock.now()
        sender: dict[str, AckDoc] = {message.agency: {"by": message.sender, "at": message.ts}}
        text = chat_body(message).text

        def build(alert_id: str) -> AlertDoc:
            alert = new_alert(
                alert_id=alert_id, operation_id=op.id, source="message",
                fp=_fingerprint(ch, message.seq), severity="critical",
                summary=f"Urgent message in #{ch.name} from {message.sender_name} "
                        f"({message.agency}): {text[:300]}",
                details=text, now=now,
                # a real event sent inside an exercise is REAL WORLD, never also EXERCISE
                exercise=(ch.exercise or op.exercise) and not message.real_world,
                real_world=message.real_world,
                labels={"channel": ch.name, "channel_id": ch.id, "message": str(message.seq)},
                route=("everyone",), policy=policy, label=label.to_dict(),
                ack_agencies=agencies.required, informed_agencies=agencies.informed,
                raised_by=message.sender,
                summary_words={"key": "alert.urgent_summary", "values": {
                    "channel": ch.name, "sender": message.sender_name,
                    "agency": message.agency, "text": text[:300]}})
            alert["acks"] = {a: v for a, v in sender.items() if a in agencies.required}
            alert["told"] = {message.agency: message.ts}
            return alert

        await self._records.raise_alert(op.id, _fingerprint(ch, message.seq), build,
                                        actor=principal.username, count_repeat=False)

    async def acknowledged(self, principal: Principal, ch: Channel, seq: int) -> None:
        """Someone acknowledged urgent message ``seq``: for their agency, so is its alert."""
        found = await self._records.active(ch.operation_id, _fingerprint(ch, seq))
        if found is None:
            return  # an urgent message anyone may acknowledge: no alert about it
        now = self._clock.now()
        try:
            await self._records.transition(
                ch.operation_id, found[0]["id"], "acknowledged", principal.username,
                lambda a: acknowledge(a, actor=principal.username, now=now,
                                      agency=principal.agency))
        except (Conflict, NotFound):
            pass  # resolved or changed meanwhile: the message's own ack is stored anyway
