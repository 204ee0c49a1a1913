"""Delivers outgoing webhooks, at least once, from one hub process at a time.

The process holding the ``webhooks`` lease runs :meth:`Dispatcher.tick` every
second. For each operation with active subscriptions it:

1. **enqueues**: reads the operation's log (and the chosen channels' messages)
   past its cursors; each event a subscription takes becomes a *delivery*
   record with a fixed id (``dl_<subscription>_<seq>``, or with the channel
   for a message) that holds the body's data as it was then; the id is the
   ``webhook-id`` of every attempt, so receivers can drop repeats. Creating an
   existing delivery is a no-op, so reading the same events twice (after a
   crash) enqueues nothing twice.
   Deliveries are internal state documents of the operation (not records: they
   would flood the log every member reads), indexed per subscription.
2. **sends** the deliveries that are due, a few at a time (:class:`Sender`):
   a 2xx marks it delivered; anything else logs the attempt and schedules the
   next (:func:`alerting.interop.outgoing.next_attempt`) or gives up; ``410 Gone``
   disables the subscription.

Cursors and the queue of due deliveries live in the operation's ``outgoing``
state document, written after the records they point at, so a process that
dies at any point leaves work that the next lease holder redoes: a delivery
whose attempt was cut off is sent again with the same id. A subscription
whose creator no longer manages the operation, or no longer sees one of its
channels, is disabled rather than sending what they may not see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from alerting.cases.translations import case_translation
from alerting.documents import (
    DeliveryAttempt,
    DeliveryDoc,
    DeliveryLog,
    OutgoingState,
    SubscriptionDoc,
)
from alerting.interop.outgoing import (
    ALERT_EVENTS,
    CASE_EVENTS,
    MESSAGE_EVENT,
    body_for,
    event_type,
    file_link,
    next_attempt,
    signed_headers,
    with_links,
)
from alerting.interop.outgoing_sender import Sender
from alerting.kinds import OUTGOING_STATE, SUBSCRIPTION, delivery_key, log_key
from alerting.pipeline.alert_translations import alert_translation
from channels.access import Access
from channels.bodies import TranslationNote
from channels.translations import note_key
from hub.clock import Clock
from hub.engine.port import RecordWrite, Store
from hub.errors import Conflict
from hub.models import ChannelId, Operation, OperationId, Role
from hub.principal import Principal

__all__ = ["Dispatcher"]

log = logging.getLogger("alerting.interop.outgoing_dispatcher")

LEASE = "webhooks"
TICK_SECONDS = 1.0
PAGE = 200
SENDS_AT_ONCE = 8
LOG_KEPT = 20  # attempts kept in a delivery's log
LOG_INDEXED = 500  # deliveries a subscription's log lists


class Dispatcher:
    def __init__(self, *, store: Store, clock: Clock, access: Access, sender: Sender,
                 node_id: str, lease_seconds: float, public_url: str = "",
                 link_seconds: float = 7 * 24 * 3600.0,
                 jitter: Callable[[], float] = random.random) -> None:
        self._public_url = public_url
        self._link_seconds = link_seconds
        self._store = store
        self._clock = clock
        self._access = access
        self._sender = sender
        self.node_id = node_id
        self._lease_seconds = lease_seconds
        self._jitter = jitter
        self.leader = False

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("webhook dispatch failed; retrying next tick")
            await asyncio.sleep(TICK_SECONDS)

    async def stop(self) -> None:
        if self.leader:
            self.leader = False
            with contextlib.suppress(Exception):
                await self._store.release_lease(LEASE, self.node_id)
        await self._sender.close()

    async def tick(self) -> None:
        self.leader = await self._store.claim_lease(LEASE, self.node_id, self._clock.now(),
                                                    self._lease_seconds)
        if not self.leader:
            return
        for op in await self._store.list_operations():
            subs = [doc for doc, _ in await self._store.list_records(op.id, SUBSCRIPTION)]
            if subs:
                await self._run(op, subs)

    async def _run(self, op: Operation, subs: list[SubscriptionDoc]) -> None:
        state = await self._store.get_state(op.id, OUTGOING_STATE)
        queue: dict[str, float] = dict(state.get("queue") or {}) if state else {}
        readers: dict[str, Principal] = {}
        active = [s for s in subs if s["state"] == "active" and await self._allowed(op, s,
                                                                                  readers)]
        cursor = state["cursor"] if state else min((s["since_seq"] for s in subs), default=0)
        cursor = await self._enqueue_events(op, active, cursor, queue, readers)
        channels: dict[str, int] = dict(state.get("channels") or {}) if state else {}
        for sub in active:
            for ch_id in sub["channels"]:
                key = f"{sub['id']}:{ch_id}"
                after = channels.get(key, sub["since_channels"].get(ch_id, 0))
                channels[key] = await self._enqueue_messages(op, sub, ch_id, after, queue,
                                                             readers[sub["id"]])
        current: OutgoingState = {"cursor": cursor, "channels": channels, "queue": dict(queue)}
        if current != state:  # a quiet operation costs no write each tick
            await self._store.put_state(op.id, OUTGOING_STATE, current)
        due = sorted((at, d) for d, at in queue.items() if at <= self._clock.now())
        if not due:
            return
        gate = asyncio.Semaphore(SENDS_AT_ONCE)

        async def one(delivery_id: str) -> None:
            async with gate:
                await self._send(op, delivery_id, queue)

        await asyncio.gather(*(one(d) for _, d in due[:PAGE]))
        if queue != current["queue"]:
            sent: OutgoingState = {**current, "queue": queue}
            await self._store.put_state(op.id, OUTGOING_STATE, sent)

    async def _allowed(self, op: Operation, sub: SubscriptionDoc,
                       readers: dict[str, Principal]) -> bool:
        """Its creator still manages the operation and sees its channels; else disable it.
        (``readers`` gets the creator, whose clearance decides which events it carries.)"""
        user = await self._store.get_user_by_name(sub["created_by"])
        role = await self._access.role(Principal(user, "", "session", None, None), op.id) \
            if user is not None and not user.disabled else None
        reason = None
        if role is not Role.COORDINATOR:
            reason = "its creator no longer coordinates the operation"
        else:
            assert user is not None
            who = Principal(user, "", "session", None, None)
            for ch_id in sub["channels"]:
                ch = await self._store.get_channel(ChannelId(ch_id))
                if ch is None or not self._access.visible(who, role, ch):
                    reason = "its creator no longer sees one of its channels"
        if reason is None:
            assert user is not None
            readers[sub["id"]] = Principal(user, "", "session", None, None)
            return True
        await self._disable(op.id, sub["id"], reason)
        return False

    async def _enqueue_events(self, op: Operation, subs: list[SubscriptionDoc], cursor: int,
                              queue: dict[str, float], readers: dict[str, Principal]) -> int:
        """Each subscription gets the events of the kinds it asked for whose record its
        creator's clearance reaches (a webhook is never a way around a label)."""
        while True:
            events = await self._store.read_op_events(op.id, after_seq=cursor, limit=PAGE)
            for event in events:
                kind = event_type(event.kind, event.action)
                record = event.data.get("record")
                for sub in subs:
                    if kind is not None and kind in sub["events"] \
                            and event.seq > sub["since_seq"] \
                            and self._access.sees(readers[sub["id"]],
                                                  record if isinstance(record, dict) else None):
                        data = {"id": event.record_id, "action": event.action,
                                "actor": event.actor, "seq": event.seq,
                                "version": event.version, **event.data}
                        await self._enqueue(op, sub, f"dl_{sub['id']}_{event.seq}", kind,
                                            event.ts, data, queue)
                cursor = event.seq
            if len(events) < PAGE:
                return cursor

    async def _enqueue_messages(self, op: Operation, sub: SubscriptionDoc, ch_id: str,
                                after: int, queue: dict[str, float], reader: Principal) -> int:
        ch = await self._store.get_channel(ChannelId(ch_id))
        while ch is not None:
            messages = await self._store.read_messages(ch.id, after_seq=after, limit=PAGE)
            for m in messages:
                after = m.seq
                if m.label_json and not self._access.sees(reader, {"label": m.label}):
                    continue  # above the subscription creator's clearance
                data = {**m.frame(), "channel_name": ch.name,
                        "exercise": (ch.exercise or op.exercise) and not m.real_world}
                await self._enqueue(op, sub, f"dl_{sub['id']}_{ch.id}_{m.seq}", MESSAGE_EVENT,
                                    m.ts, data, queue)
            if len(messages) < PAGE:
                break
        return after

    async def _enqueue(self, op: Operation, sub: SubscriptionDoc, delivery_id: str,
                       kind: str, ts: float, data: dict[str, object],
                       queue: dict[str, float]) -> None:
        existing = await self._store.get_state(op.id, delivery_key(delivery_id))
        if existing is not None:
            if existing["state"] == "pending":
                queue.setdefault(delivery_id, existing["next_at"] or 0.0)
            return  # enqueued before: reading the log again changes nothing
        now = self._clock.now()
        doc: DeliveryDoc = {
            "id": delivery_id, "subscription_id": sub["id"], "event": kind, "ts": ts,
            "payload": data, "state": "pending", "attempts": 0, "created_at": now,
            "next_at": now, "last_status": None, "last_error": None, "delivered_at": None,
            "log": []}
        await self._store.put_state(op.id, delivery_key(delivery_id), doc)
        index = await self._store.get_state(op.id, log_key(sub["id"]))
        ids = [*(index["ids"] if index else []), delivery_id][-LOG_INDEXED:]
        kept: DeliveryLog = {"ids": ids}
        await self._store.put_state(op.id, log_key(sub["id"]), kept)
        queue[delivery_id] = now

    async def _said(self, op_id: OperationId, event: str, data: Mapping[str, Any],
                    lang: str) -> str | None:
        """The kept translation into ``lang`` of what a message says, a case is called or
        an alert's summary says, if there is one (never made for a delivery: the engine
        is asked once per text)."""
        if event == MESSAGE_EVENT and isinstance(data.get("seq"), int) \
                and data.get("lang") != lang:
            ch = ChannelId(str(data.get("channel", "")))
            kept = (await self._store.read_notes(ch, [data["seq"]])).get(data["seq"], {})
            note = kept.get(note_key(lang))
            return msgspec.msgpack.decode(note, type=TranslationNote).text if note else None
        record = data.get("record")
        if event in CASE_EVENTS and isinstance(record, Mapping):
            found = await self._store.get_state(op_id, case_translation(str(record["id"]),
                                                                        lang))
            if found is not None and found["original"][0] == record.get("title"):
                return found["title"]
        if event in ALERT_EVENTS and isinstance(record, Mapping):
            told = await self._store.get_state(op_id, alert_translation(str(record["id"]),
                                                                        lang))
            if told is not None and told["original"][0] == record.get("summary") \
                    and told["source"] != lang:
                return told["summary"]
        return None

    async def _send(self, op: Operation, delivery_id: str, queue: dict[str, float]) -> None:
        doc = await self._store.get_state(op.id, delivery_key(delivery_id))
        if doc is None or doc["state"] != "pending":
            queue.pop(delivery_id, None)
            return
        sub_found = await self._store.get_record(op.id, SUBSCRIPTION, doc["subscription_id"])
        if sub_found is None or sub_found[0]["state"] != "active":
            await self._finish(op.id, doc, state="cancelled", status=None,
                               error="the subscription is disabled")
            queue.pop(delivery_id, None)
            return
        sub = sub_found[0]
        now = self._clock.now()
        expires = int(now + self._link_seconds)  # from this attempt: a retry links afresh

        def link(ref: str) -> str:
            return self._public_url + file_link(sub["secret"], op.id, sub["id"], ref, expires)

        lang = sub.get("lang", "en")
        body = body_for(sub["format"], event=doc["event"], ts=doc["ts"],
                        operation={"id": op.id, "code": op.code, "name": op.name},
                        data=with_links(doc["event"], doc["payload"], link), lang=lang,
                        said=await self._said(op.id, doc["event"], doc["payload"], lang)
                        if sub["format"] == "slack" else None)
        attempt = await self._sender.post(sub["url"],
                                          signed_headers(sub["secret"], delivery_id,
                                                         int(now), body), body)
        attempts = doc["attempts"] + 1
        if attempt.ok:
            await self._finish(op.id, {**doc, "attempts": attempts}, state="delivered",
                               status=attempt.status, error=None)
            queue.pop(delivery_id, None)
            return
        retry = None if attempt.status == 410 else next_attempt(attempts, now, self._jitter())
        await self._finish(op.id, {**doc, "attempts": attempts, "next_at": retry},
                           state="pending" if retry else "failed", status=attempt.status,
                           error=attempt.error)
        if retry is None:
            queue.pop(delivery_id, None)
        else:
            queue[delivery_id] = retry
        if attempt.status == 410:
            await self._disable(op.id, sub["id"], "the receiver answered 410 Gone")

    async def _finish(self, op_id: OperationId, doc: DeliveryDoc, *, state: str,
                      status: int | None, error: str | None) -> None:
        now = self._clock.now()
        entry: DeliveryAttempt = {"at": now, "status": status, "error": error}
        done: DeliveryDoc = {
            **doc, "state": state, "last_status": status, "last_error": error,
            "log": [*doc["log"], entry][-LOG_KEPT:],
            "delivered_at": now if state == "delivered" else doc["delivered_at"]}
        await self._store.put_state(op_id, delivery_key(doc["id"]), done)

    async def _disable(self, op_id: OperationId, sub_id: str, reason: str) -> None:
        found = await self._store.get_record(op_id, SUBSCRIPTION, sub_id)
        if found is None:
            return
        doc, version = found
        with contextlib.suppress(Conflict):
            await self._store.write_record(RecordWrite(
                op_id, SUBSCRIPTION, sub_id,
                {**doc, "state": "disabled", "disabled_reason": reason}, version, "disabled",
                "hub", self._clock.now(), {}, private=True))
        log.info("outgoing webhook %s: %s", sub_id, reason, extra={"operation": op_id})
