"""alerting/interop/outgoing_dispatcher.py on the real embedded store: a delivery is made
once, and a quiet operation costs no write per tick (the loop runs every second on the
lease holder)."""

from __future__ import annotations

from typing import Any

import httpx

from alerting.bodies import NewCase
from alerting.config_bodies import NewSubscription
from alerting.interop.outgoing_dispatcher import Dispatcher
from alerting.interop.outgoing_sender import Sender, parse_networks
from alerting.kinds import OUTGOING_STATE
from hub.bodies import convert
from tests.conftest import Embedded


async def test_a_case_is_delivered_once_and_quiet_ticks_write_nothing(
        embedded: Embedded) -> None:
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204, stream=httpx.ByteStream(b""))

    svc = embedded.services
    sender = Sender(allow=parse_networks(["127.0.0.1"]), timeout=5,
                    transport=httpx.MockTransport(receiver))
    dispatcher = Dispatcher(store=embedded.store, clock=embedded.clock,
                            access=svc.channels.access, sender=sender, node_id="n1",
                            lease_seconds=10)
    svc.outgoing._sender = sender  # the subscription's address check uses the same sender
    alice = await embedded.principal("alice")
    op = embedded.ops["A"].id
    await svc.outgoing.create(alice, op, convert({"url": "http://127.0.0.1:9/hook",
                                                  "events": ["case.created"]},
                                                 NewSubscription), "t")
    await svc.cases.create_case(alice, op, NewCase(title="Bridge down"), "t")

    writes: list[str] = []
    put_state = embedded.store.put_state

    async def counting(op_id: Any, name: str, doc: Any) -> None:
        writes.append(name)
        await put_state(op_id, name, doc)

    embedded.store.put_state = counting  # type: ignore[method-assign]
    await dispatcher.tick()
    assert len(sent) == 1 and b"case.created" in sent[0].content
    assert OUTGOING_STATE in writes
    writes.clear()
    for _ in range(3):
        await dispatcher.tick()
    assert writes == [] and len(sent) == 1  # nothing new: nothing written, nothing sent
    await dispatcher.stop()
