"""A change of who may post takes effect on the very next publish, although the hub
answers repeated access checks from memory (``access_cache_seconds``).

The hubs here keep a check's answer for a minute, so only the hub's forgetting —
on the node that made the change at once, on the others through the control
events — can explain a refusal within the tests' bounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from hub.config import Settings
from tests.conftest import RunningHub, WsClient
from tests.redis_support import cleanup, new_prefix, redis_url

MINUTE = 60.0


async def _refused_within(client: WsClient, ch: str, seconds: float) -> dict[str, Any]:
    """Publish until refused; every try that is still accepted is a stored message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        reply = await client.publish(ch, "still allowed?")
        if reply["type"] == "error" or loop.time() > deadline:
            return reply
        await asyncio.sleep(0.05)


async def test_changes_refuse_the_next_publish(start_hub: Callable[..., Any],
                                               hub_settings: Settings) -> None:
    hub: RunningHub = await start_hub(hub_settings.replace(access_cache_seconds=MINUTE))
    op, ch = hub.ops["A"].id, hub.ch("A/general")
    bruno, alice = await hub.client("bruno"), await hub.client("alice")
    assert (await bruno.publish(ch, "warm"))["type"] == "ack"
    assert (await bruno.publish(ch, "warm again"))["type"] == "ack"

    r = await hub.api("PUT", f"/api/operations/{op}/members/bruno", "alice",
                      json={"role": "observer"})
    assert r.status_code == 200
    reply = await bruno.publish(ch, "as an observer")
    assert reply["type"] == "error" and reply["code"] == "forbidden"

    r = await hub.api("DELETE", f"/api/operations/{op}/members/bruno", "alice")
    assert r.status_code == 204
    reply = await bruno.publish(ch, "removed")
    assert reply["type"] == "error" and reply["code"] == "not_found"

    assert (await alice.publish(hub.ch("A/police"), "warm"))["type"] == "ack"
    r = await hub.api("PATCH", f"/api/channels/{hub.ch('A/police')}", "alice",
                      json={"agencies": ["ARMY"]})
    assert r.status_code == 200
    reply = await alice.publish(hub.ch("A/police"), "not my agency now")
    assert reply["type"] == "error" and reply["code"] == "not_found"

    assert (await alice.publish(ch, "warm"))["type"] == "ack"
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"status": "closed"})
    assert r.status_code == 200
    reply = await alice.publish(ch, "after the close")
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    texts = [m["text"] for m in (await hub.api("GET", f"/api/channels/{ch}/messages",
                                               "alice")).json()["messages"]]
    assert texts == ["warm", "warm again", "warm"]


async def test_what_moves_with_each_message_is_never_read_from_memory(
        start_hub: Callable[..., Any], hub_settings: Settings) -> None:
    hub: RunningHub = await start_hub(hub_settings.replace(access_cache_seconds=MINUTE))
    ch = hub.ch("A/general")
    bruno = await hub.client("bruno")
    for i in range(3):
        assert (await bruno.publish(ch, f"m{i}"))["type"] == "ack"
    got = (await hub.api("GET", f"/api/channels/{ch}", "bruno")).json()
    assert got["last_seq"] == 3


@pytest.mark.slow
async def test_a_change_on_one_node_reaches_the_checks_of_another(
        start_hub: Callable[..., Any], tmp_path: Any) -> None:
    url, prefix = redis_url(), new_prefix()
    settings = Settings(data_dir=tmp_path / "data", engine=url, redis_prefix=prefix,
                        publish_rate=10_000.0, publish_burst=10_000,
                        access_cache_seconds=MINUTE)
    try:
        a: RunningHub = await start_hub(settings)
        b: RunningHub = await start_hub(settings, seeded=False)
        b.ops, b.channels = a.ops, a.channels
        op, ch = a.ops["A"].id, a.ch("A/general")
        bruno, alice = await b.client("bruno"), await b.client("alice")
        await bruno.subscribe(ch)
        assert (await bruno.publish(ch, "warm"))["type"] == "ack"
        assert (await alice.publish(ch, "warm"))["type"] == "ack"
        assert len(await bruno.messages(2, timeout=20)) == 2

        r = await a.api("DELETE", f"/api/operations/{op}/members/bruno", "alice")
        assert r.status_code == 204
        # The control event reaches node b: it drops bruno's subscription, then refuses.
        assert (await bruno.recv_type("unsubscribed", timeout=20))["reason"] == \
            "access_revoked"
        reply = await bruno.publish(ch, "removed")
        assert reply["type"] == "error" and reply["code"] == "not_found"

        r = await a.api("PATCH", f"/api/operations/{op}", "root", json={"status": "closed"})
        assert r.status_code == 200
        reply = await _refused_within(alice, ch, 20)  # well inside the minute
        assert reply["type"] == "error" and reply["code"] == "forbidden"
    finally:
        cleanup(url, prefix)
