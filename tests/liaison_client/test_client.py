"""liaison_client/client.py against a real hub (both engines): a bot that loses nothing and
doubles nothing across a hub restart, resumes its subscriptions and resends its outbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from channels.bodies import chat_body
from liaison_client import Ack, Client, ClientError, OpEvent
from tests.chat import sdk_messages
from tests.conftest import RunningHub


async def _bot(hub: RunningHub, user: str, fmt: str = "msgpack") -> Client:
    client = Client(hub.ws_url, await hub.login(user), fmt=fmt, name="test-bot/1")
    await client.start()
    return client


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
async def test_a_bot_loses_nothing_and_doubles_nothing_across_a_hub_restart(
        running_hub: RunningHub, start_hub: Any, fmt: str) -> None:
    hub = running_hub
    channel = hub.ch("A/general")
    bot = await _bot(hub, "bruno", fmt)
    await bot.subscribe(channel)
    alice = await _bot(hub, "alice", fmt)
    before = [await alice.publish(channel, f"alice {i}") for i in range(5)]
    assert [a.seq for a in before] == [1, 2, 3, 4, 5]
    mine = [asyncio.create_task(bot.publish(channel, f"bot {i}")) for i in range(3)]
    await asyncio.gather(*mine)

    await hub.stop()  # the hub goes away; the bot keeps writing into its outbox
    while_down = [asyncio.create_task(bot.publish(channel, f"bot late {i}")) for i in range(4)]
    await asyncio.sleep(0.3)
    assert bot.unacknowledged == 4
    again = await start_hub(hub.settings, seeded=False, port=hub._server.config.port)  # type: ignore[union-attr]
    again.ops, again.channels = hub.ops, hub.channels
    acks: list[Ack] = await asyncio.wait_for(asyncio.gather(*while_down), 30)
    assert not any(a.duplicate for a in acks) and bot.unacknowledged == 0
    after = [await alice.publish(channel, f"alice after {i}") for i in range(3)]
    assert bot.reconnects >= 1 and alice.reconnects >= 1

    got = await sdk_messages(bot, 15)
    assert [m.seq for m in got] == list(range(1, 16))  # every one, once, in order
    texts = [m.text for m in got]  # the SDK's messages
    assert sorted(t for t in texts if t.startswith("bot late")) == [f"bot late {i}"
                                                                    for i in range(4)]
    assert after[-1].seq == 15
    stored = await again.hub.engine.store.read_messages(channel, after_seq=0, limit=100)  # type: ignore[arg-type]
    assert [m.seq for m in stored] == list(range(1, 16))
    assert len({chat_body(m).text for m in stored}) == 15
    await bot.close()
    await alice.close()


async def test_a_bot_follows_an_operation_and_writes_cases(running_hub: RunningHub) -> None:
    hub = running_hub
    bot = await _bot(hub, "bruno")
    sub = await bot.subscribe(f"ops:{hub.ops['A'].code}")
    assert sub.channel == f"ops:{hub.ops['A'].id}"  # the canonical key
    ack = await bot.case(hub.ops["A"].id, "create",
                         {"title": "Dam", "severity": "major", "idempotency_key": "k1"})
    again = await bot.case(hub.ops["A"].id, "create",
                           {"title": "Dam", "severity": "major", "idempotency_key": "k1"})
    assert ack.version == 1 and again.duplicate and again.id == ack.id
    async with asyncio.timeout(10):
        async for frame in bot.frames():
            if isinstance(frame, OpEvent):
                assert frame.kind == "case" and frame.action == "created"
                assert frame.record is not None and frame.record["title"] == "Dam"
                break
    with pytest.raises(ClientError) as refused:
        await bot.case(hub.ops["A"].id, "update", {"version": 7, "title": "x"}, case=ack.id)
    assert refused.value.code == "conflict"
    await bot.close()


async def test_refusals_come_back_as_errors(running_hub: RunningHub) -> None:
    hub = running_hub
    with pytest.raises(ClientError) as bad:
        await Client(hub.ws_url, "lht_not-a-token").start()
    assert bad.value.code == "unauthenticated"
    olga = await _bot(hub, "olga")  # an observer
    with pytest.raises(ClientError) as forbidden:
        await olga.publish(hub.ch("A/general"), "may I?")
    assert forbidden.value.code == "forbidden" and olga.unacknowledged == 0
    with pytest.raises(ClientError) as hidden:
        await olga.subscribe("ch_nowhere")
    assert hidden.value.code == "not_found"
    await olga.close()
    with pytest.raises(ValueError):
        Client(hub.ws_url, "t", fmt="xml")


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
async def test_a_bot_sends_and_reads_labelled_and_real_world_messages(
        running_hub: RunningHub, fmt: str) -> None:
    """Issue 27, item 3: the SDK had drifted from the hub — it could neither send nor read a
    message's label or its REAL WORLD marking."""
    hub = running_hub
    op = hub.ops["A"].id
    assert (await hub.api("PATCH", f"/api/operations/{op}", "root",
                          json={"exercise": True})).status_code == 200
    bot = await _bot(hub, "alice", fmt)
    await bot.subscribe(hub.ch("A/general"))
    police = {"level": "UNCLASSIFIED", "categories": {"REL TO": ["POLICE"]}}
    await bot.publish(hub.ch("A/general"), "for the police", label=police)
    await bot.publish(hub.ch("A/general"), "a real casualty", priority="urgent",
                      ack="each_agency", real_world=True)
    first, second = await sdk_messages(bot, 2)
    assert first.label is not None and first.label["categories"] == {"REL TO": ["POLICE"]}
    assert first.real_world is False
    assert second.real_world is True and second.priority == "urgent"
    alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    assert any(a["real_world"] and "a real casualty" in a["summary"] for a in alerts)
    await bot.close()
