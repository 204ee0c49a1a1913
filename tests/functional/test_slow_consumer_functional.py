"""A subscriber that stops reading is cut off alone; the others keep receiving."""

from __future__ import annotations

import asyncio

from websockets.exceptions import ConnectionClosed

from hub.errors import CloseCode
from tests.conftest import RunningHub


async def test_stalled_reader_is_closed_4008_others_unaffected(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    hub: RunningHub = await start_hub(hub_settings.replace(send_queue_frames=50,
                                                           sqlite_synchronous="NORMAL"))
    ch = hub.ch("A/general")
    # max_queue=1: the client library stops reading the socket as soon as one
    # message waits, so TCP back-pressure reaches the hub.
    stalled = await hub.client("olga", max_queue=1)
    await stalled.subscribe(ch)
    healthy = await hub.client("bruno")
    await healthy.subscribe(ch)
    alice = await hub.client("alice")

    received: list[int] = []

    async def read_healthy() -> None:
        while True:
            frame = await healthy.recv(timeout=30)
            if frame["type"] == "message":
                received.append(frame["seq"])

    reader = asyncio.create_task(read_healthy())
    text = "flood level report " * 200  # ~3.8 KB per message
    sent = 0
    node = hub.hub.node
    while any(c.principal.username == "olga" for c in node.connections) and sent < 6000:
        ack = await alice.publish(ch, text)
        assert ack["type"] == "ack"
        sent += 1
    assert sent < 6000, "the stalled client was never cut off"
    # The healthy subscriber got everything, in order, while olga was stalled.
    for _ in range(500):
        if len(received) == sent:
            break
        await asyncio.sleep(0.01)
    reader.cancel()
    assert received == list(range(1, sent + 1))

    # When olga's client finally reads, it finds the documented close code.
    code = None
    try:
        while True:
            await stalled.ws.recv()
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
    assert code == CloseCode.SLOW_CONSUMER
    refusals = hub.hub.metrics.refusals.labels("slow_consumer")._value.get()
    assert refusals == 1
