"""Nothing lost: replay with since_seq, idempotent retries, retention resets."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import RunningHub


async def test_reconnect_replays_exactly_the_missed_messages(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    bruno = await running_hub.client("bruno")
    await bruno.subscribe(ch)
    alice = await running_hub.client("alice")
    await alice.publish(ch, "before")
    last_seen = (await bruno.messages(1))[0]["seq"]
    await bruno.close()

    for i in range(1000):
        await alice.publish(ch, f"while away {i}")

    bruno = await running_hub.client("bruno")
    sub = await bruno.subscribe(ch, since_seq=last_seen)
    assert sub["since_seq"] == last_seen and sub["head_seq"] == 1001
    got = await bruno.messages(1000, timeout=30)
    assert [m["seq"] for m in got] == list(range(2, 1002))
    assert [m["text"] for m in got] == [f"while away {i}" for i in range(1000)]
    # Nothing more arrives: no duplicate.
    await alice.publish(ch, "live again")
    nxt = await bruno.messages(1)
    assert nxt[0]["seq"] == 1002 and nxt[0]["text"] == "live again"


async def test_replay_while_others_publish_has_no_gap_or_duplicate(
        running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    alice = await running_hub.client("alice")
    for i in range(600):
        await alice.publish(ch, f"old {i}")
    bruno_pub = await running_hub.client("bruno")

    async def publish_more() -> None:
        for i in range(300):
            await bruno_pub.publish(ch, f"new {i}")

    reader = await running_hub.client("olga")
    publisher = asyncio.create_task(publish_more())
    await reader.subscribe(ch, since_seq=0)
    got = await reader.messages(900, timeout=30)
    await publisher
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(1, 901))


async def test_publish_retry_is_stored_once(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    alice = await running_hub.client("alice")
    bruno = await running_hub.client("bruno")
    await bruno.subscribe(ch)
    cmid = uuid.uuid4().hex
    first = await alice.publish(ch, "fuel at depot 3", cmid)
    again = await alice.publish(ch, "fuel at depot 3", cmid)
    assert first["type"] == again["type"] == "ack"
    assert (first["seq"], first["id"]) == (again["seq"], again["id"])
    assert first["duplicate"] is False and again["duplicate"] is True
    # Over REST too, and a reconnecting client's retry with the same id.
    r = await running_hub.api("POST", f"/api/channels/{ch}/messages", "alice",
                              json={"text": "fuel at depot 3", "client_msg_id": cmid})
    assert r.status_code == 200 and r.json()["duplicate"] is True
    assert r.json()["seq"] == first["seq"]
    await alice.close()
    alice = await running_hub.client("alice")
    third = await alice.publish(ch, "fuel at depot 3", cmid)
    assert third["seq"] == first["seq"]
    history = (await running_hub.api("GET", f"/api/channels/{ch}/messages",
                                     "bruno")).json()["messages"]
    assert len(history) == 1
    assert len(await bruno.messages(1)) == 1
    await alice.publish(ch, "next")
    assert (await bruno.messages(1))[0]["seq"] == 2  # no seq was consumed by the retries


async def test_since_seq_older_than_retention_gets_reset(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    hub: RunningHub = await start_hub(hub_settings.replace(retention_messages=10))
    ch = hub.ch("A/general")
    alice = await hub.client("alice")
    for i in range(25):
        await alice.publish(ch, f"m{i}")
    bruno = await hub.client("bruno")
    sub = await bruno.subscribe(ch, since_seq=3)
    assert sub["first_seq"] == 16 and sub["head_seq"] == 25
    reset = await bruno.recv_type("reset")
    assert reset["reason"] == "retention" and reset["first_seq"] == 16
    await alice.publish(ch, "after reset")
    live = await bruno.messages(1)
    assert live[0]["seq"] == 26
    # A client ahead of the server (e.g. restored from an old backup) is reset too.
    olga = await hub.client("olga")
    await olga.subscribe(ch, since_seq=500)
    assert (await olga.recv_type("reset"))["reason"] == "ahead"


async def test_subscribe_without_since_seq_gets_only_live(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    alice = await running_hub.client("alice")
    await alice.publish(ch, "old")
    bruno = await running_hub.client("bruno")
    sub = await bruno.subscribe(ch)
    assert sub["head_seq"] == 1 and sub["since_seq"] == 1
    await alice.publish(ch, "new")
    assert [m["text"] for m in await bruno.messages(1)] == ["new"]
