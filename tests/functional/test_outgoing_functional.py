"""Outgoing webhooks through a real hub, to a real HTTP receiver on loopback: signed,
retried until the receiver recovers, delivered after a restart and after the lease
holder is killed mid-delivery, and never sent to a private address unless allowed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.clock import ManualClock
from tests.alerting.interop.test_outgoing import verify
from tests.conftest import RunningHub, embedded_settings, free_port

LOOPBACK = ("127.0.0.1/32",)


@dataclass
class Receiver:
    """A webhook receiver: records what arrives; answers from a script, then 200."""

    port: int
    answers: list[int] = field(default_factory=list)  # statuses to give first, in order
    hang: asyncio.Event | None = None  # while set-able and unset: the first call hangs
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.got.append(({k.lower(): v for k, v in request.headers.items()}, body))
        self.arrived.set()
        if self.hang is not None and not self.hang.is_set() and len(self.got) == 1:
            await self.hang.wait()
        return Response(status_code=self.answers.pop(0) if self.answers else 200)

    async def wait_for(self, count: int, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(port=free_port())
    app = Starlette(routes=[Route("/hook", r.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=r.port,
                                           log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield r
    if r.hang is not None:
        r.hang.set()
    server.should_exit = True
    await task


async def _subscribe(hub: RunningHub, url: str, **extra: Any) -> Any:
    return await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/outgoing-webhooks",
                         "alice", json={"url": url, "name": "pager", **extra})


async def _case(hub: RunningHub, title: str, severity: str = "major") -> dict[str, Any]:
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", "alice",
                      json={"title": title, "severity": severity})
    assert r.status_code == 201
    return r.json()  # type: ignore[no-any-return]


async def _log(hub: RunningHub, sub_id: str) -> list[dict[str, Any]]:
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/outgoing-webhooks/"
                             f"{sub_id}/deliveries", "alice")
    assert r.status_code == 200
    return r.json()["deliveries"]  # type: ignore[no-any-return]


async def test_events_arrive_signed_in_the_hubs_json_and_slacks(
        start_hub: Any, tmp_path: Path, receiver: Receiver) -> None:
    hub = await start_hub(embedded_settings(tmp_path).replace(webhook_allow_networks=LOOPBACK))
    r = await _subscribe(hub, receiver.url, events=["case.created", "case.closed"])
    assert r.status_code == 201, r.text
    sub, secret = r.json(), r.json()["secret"]
    case = await _case(hub, "Bridge down")
    await receiver.wait_for(1)
    headers, body = receiver.got[0]
    assert verify(secret, headers, body)
    assert headers["webhook-id"].startswith(f"dl_{sub['id']}_")
    assert abs(int(headers["webhook-timestamp"]) - case["created_at"]) < 60
    doc = json.loads(body)
    assert doc["type"] == "case.created" and doc["operation"]["code"] == "OP-A"
    assert doc["data"]["record"]["title"] == "Bridge down"
    # Slack-compatible, for another team's chat, with the messages of a channel.
    r = await _subscribe(hub, receiver.url, format="slack", events=["message.created"],
                         channels=[hub.ch("A/general")])
    assert r.status_code == 201, r.text
    alice = await hub.client("alice")
    await alice.subscribe(hub.ch("A/general"))
    assert (await alice.publish(hub.ch("A/general"), "Ferry resumes at 14:00"))["type"] == "ack"
    await receiver.wait_for(2)
    assert json.loads(receiver.got[1][1]) == {"text": "Alice (POLICE) in OP-A #general: "
                                                      "Ferry resumes at 14:00"}
    [delivered] = await _log(hub, sub["id"])
    assert delivered["state"] == "delivered" and delivered["last_status"] == 200
    assert "payload" not in delivered
    listed = (await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/outgoing-webhooks",
                            "alice")).json()["webhooks"]
    assert len(listed) == 2 and secret not in json.dumps(listed)
    # The subscription's secret and URL are in no event every member reads.
    events = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/events", "olga")
    assert secret not in events.text and receiver.url not in events.text


async def test_a_failing_receiver_is_retried_with_backoff_until_it_recovers(
        start_hub: Any, tmp_path: Path, receiver: Receiver) -> None:
    clock = ManualClock()
    hub = await start_hub(embedded_settings(tmp_path).replace(webhook_allow_networks=LOOPBACK),
                          clock=clock)
    sub = (await _subscribe(hub, receiver.url, events=["case.created"])).json()
    receiver.answers = [500, 503]
    await _case(hub, "Bridge down")
    await receiver.wait_for(1)
    for attempt in (2, 3):
        await asyncio.sleep(0.2)
        assert len(receiver.got) == attempt - 1  # nothing before the wait is over
        clock.advance(5 * 2 ** (attempt - 2) * 1.25 + 1)  # the longest jittered wait
        await receiver.wait_for(attempt)
    ids = {h["webhook-id"] for h, _ in receiver.got}
    assert len(ids) == 1  # every attempt carries the same id
    async with asyncio.timeout(10):
        while (log := await _log(hub, sub["id"]))[0]["state"] != "delivered":
            await asyncio.sleep(0.05)
    assert log[0]["attempts"] == 3
    assert [e["status"] for e in log[0]["log"]] == [500, 503, 200]


async def test_a_delivery_survives_a_hub_restart(start_hub: Any, tmp_path: Path,
                                                 receiver: Receiver) -> None:
    settings = embedded_settings(tmp_path).replace(webhook_allow_networks=LOOPBACK)
    clock = ManualClock()
    hub = await start_hub(settings, clock=clock)
    sub = (await _subscribe(hub, receiver.url, events=["case.created"])).json()
    receiver.answers = [503]
    await _case(hub, "Bridge down")
    await receiver.wait_for(1)
    await hub.stop()
    again = await start_hub(settings, clock=clock, seeded=False)
    again.ops, again.channels = hub.ops, hub.channels
    clock.advance(10)
    await receiver.wait_for(2)
    assert receiver.got[0][0]["webhook-id"] == receiver.got[1][0]["webhook-id"]
    async with asyncio.timeout(10):
        while (await _log(again, sub["id"]))[0]["state"] != "delivered":
            await asyncio.sleep(0.05)


async def test_a_private_address_is_refused_without_the_allowlist(
        running_hub: RunningHub, receiver: Receiver) -> None:
    hub = running_hub
    for url in (receiver.url, "http://localhost:9/", "http://10.0.0.5/hook",
                "http://169.254.169.254/latest/meta-data/", "http://[::1]:80/",
                "http://[::ffff:127.0.0.1]/"):
        r = await _subscribe(hub, url)
        assert r.status_code == 400 and "webhook_allow_networks" in r.json()["error"]["message"]
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/outgoing-webhooks", "bruno",
                      json={"url": "https://pager.example.org/"})
    assert r.status_code == 403  # a member, not a coordinator
    await _case(hub, "Bridge down")
    await asyncio.sleep(1.5)  # a dispatcher tick: nothing may have been sent
    assert receiver.got == []


async def test_410_gone_disables_the_subscription(start_hub: Any, tmp_path: Path,
                                                  receiver: Receiver) -> None:
    hub = await start_hub(embedded_settings(tmp_path).replace(webhook_allow_networks=LOOPBACK))
    sub = (await _subscribe(hub, receiver.url, events=["case.created"])).json()
    receiver.answers = [410]
    await _case(hub, "one")
    await receiver.wait_for(1)
    url = f"/api/operations/{hub.ops['A'].id}/outgoing-webhooks"
    async with asyncio.timeout(10):
        while (await hub.api("GET", url, "alice")).json()["webhooks"][0]["state"] != "disabled":
            await asyncio.sleep(0.05)
    await _case(hub, "two")
    await asyncio.sleep(1.5)
    assert len(receiver.got) == 1
    [log] = await _log(hub, sub["id"])
    assert log["state"] == "failed" and log["last_status"] == 410


@pytest.mark.slow
async def test_a_lease_holder_killed_mid_delivery_is_replaced_and_the_delivery_resent(
        start_hub: Any, tmp_path: Path, receiver: Receiver) -> None:
    import redis.asyncio as aioredis

    from hub.config import Settings
    from tests.procs import HubProcess
    from tests.redis_support import cleanup, new_prefix, redis_url

    url, prefix = redis_url(), new_prefix()
    settings = Settings(data_dir=tmp_path / "x", engine=url, redis_prefix=prefix,
                        publish_rate=10_000.0, publish_burst=10_000,
                        alerting_lease_seconds=2.0, webhook_allow_networks=LOOPBACK)
    node = None
    try:
        first = await start_hub(settings)  # seeds the operation; makes the subscription
        sub = (await _subscribe(first, receiver.url, events=["case.created"])).json()
        await first.stop()  # releases its leases
        node = await HubProcess(tmp_path / "p.log", engine=url, redis_prefix=prefix,
                                alerting_lease_seconds=2, data_dir=tmp_path / "p",
                                webhook_allow_networks="127.0.0.1/32").start()
        lease = f"{prefix}lease:webhooks"
        r = aioredis.Redis.from_url(url)
        async with asyncio.timeout(10):  # the subprocess holds the dispatch lease
            while not await r.get(lease):
                await asyncio.sleep(0.05)
        holder = (await r.get(lease)).split(b"\t")[0]
        other = await start_hub(settings.replace(data_dir=tmp_path / "y"), seeded=False)
        other.ops, other.channels = first.ops, first.channels
        assert holder.decode() != other.hub.node.id
        receiver.hang = asyncio.Event()  # the first attempt never gets an answer
        await _case(other, "Bridge down")
        await receiver.wait_for(1)
        node.kill9()  # mid-delivery
        await receiver.wait_for(2, timeout=30)  # the other process takes over and resends
        assert receiver.got[0][0]["webhook-id"] == receiver.got[1][0]["webhook-id"]
        assert (await r.get(lease)).split(b"\t")[0].decode() == other.hub.node.id
        async with asyncio.timeout(10):
            while (await _log(other, sub["id"]))[0]["state"] != "delivered":
                await asyncio.sleep(0.05)
        await r.aclose()
    finally:
        if node is not None:
            node.stop()
        cleanup(url, prefix)


async def test_a_webhook_carries_only_what_its_creator_may_see(
        start_hub: Any, tmp_path: Path, receiver: Receiver) -> None:
    hub = await start_hub(embedded_settings(tmp_path).replace(webhook_allow_networks=LOOPBACK))
    op = hub.ops["A"].id
    assert (await hub.api("PATCH", f"/api/operations/{op}", "root",
                          json={"label": "SECRET"})).status_code == 200
    await hub.clear(bruno="SECRET", alice="RESTRICTED")  # ARMY and POLICE
    r = await _subscribe(hub, receiver.url, events=["case.created"])
    assert r.status_code == 201, r.text
    for title, label in (("above her", "SECRET"), ("for her", "RESTRICTED")):
        r = await hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                          json={"title": title, "label": label})
        assert r.status_code == 201, r.text
    await receiver.wait_for(1)
    await hub.services.dispatcher.tick()  # a tick after both were logged
    titles = [json.loads(body)["data"]["record"]["title"] for _, body in receiver.got]
    assert titles == ["for her"]
