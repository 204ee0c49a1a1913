"""Routing, escalation, reminders and silences through a real hub, with an injected clock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.clock import ManualClock
from hub.config import Settings
from hub.models import ChannelId
from tests.conftest import PASSWORD, RunningHub
from tests.procs import HubProcess
from tests.redis_support import cleanup, new_prefix, redis_url

POLICY = {"id": "default", "steps": [
    {"notify": ["assignees", "channel:alerts"], "wait": "5m"},
    {"notify": ["coordinators", "channel:alerts"], "wait": "10m"},
    {"notify": ["everyone", "channel:alerts"]}], "repeat_every": "15m",
    # a notice group per case: these tests count each step's own notice in #alerts
    # (how several alerts share one notice is test_storm_functional's subject)
    "group_by": ["case"]}
RULE = {"id": "critical-case", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical"}


async def _setup(hub: RunningHub) -> None:
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/channels", "alice", json={"name": "alerts"})
    assert r.status_code == 201, r.text
    channel = await hub.hub.engine.store.get_channel(ChannelId(r.json()["id"]))
    assert channel is not None
    hub.channels["A/alerts"] = channel
    for path, body in (("policies", POLICY), ("rules", RULE)):
        r = await hub.api("POST", f"/api/operations/{op}/{path}", "alice", json=body)
        assert r.status_code == 201, r.text


async def _critical_case(hub: RunningHub, title: str = "Dam breach") -> dict[str, Any]:
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", "bruno",
                      json={"title": title, "severity": "critical", "assignees": ["bruno"]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _events(hub: RunningHub, kind: str = "alert") -> list[dict[str, Any]]:
    await hub.settle()
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/events?limit=500", "olga")
    return [e for e in r.json()["events"] if e["kind"] == kind]


async def _notices(hub: RunningHub) -> list[tuple[int, int, list[str]]]:
    return [(e["notice"]["step"], e["notice"]["reminder"], e["notice"]["users"])
            for e in await _events(hub) if e["action"] == "notified"]


async def _channel_texts(hub: RunningHub) -> list[str]:
    await hub.settle()
    r = await hub.api("GET", f"/api/channels/{hub.ch('A/alerts')}/messages", "olga")
    assert r.status_code == 200, r.text
    return [m["text"] for m in r.json()["messages"]]


async def test_escalation_runs_step_by_step_and_stops_at_acknowledgement(
        start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    await _setup(hub)
    alice = await hub.client("alice")
    await alice.subscribe(f"ops:{hub.ops['A'].id}")
    await _critical_case(hub)
    # Step 0 at once: the assignee, and a notice in the alerts channel.
    assert await _notices(hub) == [(0, 0, ["bruno"])]
    notified = None
    while notified is None:
        ev = await alice.recv_type("op_event")
        if ev["kind"] == "alert" and ev["action"] == "notified":
            notified = ev
    assert notified["record"]["escalation"]["step"] == 1
    [text] = await _channel_texts(hub)
    assert text.startswith("CRITICAL alert: Dam breach is critical") and "@bruno" in text
    clock.advance(299)
    await hub.services.evaluator.tick()
    assert len(await _notices(hub)) == 1  # not before its time
    clock.advance(1)
    await hub.services.evaluator.tick()
    assert (await _notices(hub))[1] == (1, 0, ["alice"])
    clock.advance(600)
    await hub.services.evaluator.tick()
    assert (await _notices(hub))[2] == (2, 0, ["alice", "bruno", "olga"])
    clock.advance(900)
    await hub.services.evaluator.tick()
    assert (await _notices(hub))[3] == (2, 1, ["alice", "bruno", "olga"])  # a reminder
    assert len(await _channel_texts(hub)) == 4
    [alert] = (await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts",
                             "olga")).json()["alerts"]
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/alerts/{alert['id']}/ack",
                      "alice")
    assert r.status_code == 200 and r.json()["escalation"]["next_at"] is None
    for _ in range(4):
        clock.advance(900)
        await hub.services.evaluator.tick()
    assert len(await _notices(hub)) == 4 and len(await _channel_texts(hub)) == 4
    audited = [r.action async for r in hub.hub.engine.store.iter_audit()
               if r.action.startswith("alert.")]
    assert audited == ["alert.fired"] + ["alert.notified"] * 4 + ["alert.acknowledged"]


async def test_a_silence_suppresses_notifications_but_keeps_the_record(
        start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    await _setup(hub)
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/silences", "bruno", json={
        "matchers": [{"label": "rule", "value": "critical-case"}], "duration": "1h",
        "reason": "dam crews already on site"})
    assert r.status_code == 201, r.text
    silence = r.json()
    assert silence["created_by"] == "bruno" and silence["ends_at"] == clock.now() + 3600
    r = await hub.api("POST", f"/api/operations/{op}/silences", "olga", json={
        "matchers": [{"label": "rule", "value": "x"}], "duration": "1h", "reason": "r"})
    assert r.status_code == 403  # observers cannot silence
    await _critical_case(hub)
    await hub.settle()
    [alert] = (await hub.api("GET", f"/api/operations/{op}/alerts", "olga")).json()["alerts"]
    assert alert["state"] == "firing" and alert["silenced_by"] == silence["id"]
    assert await _notices(hub) == [] and await _channel_texts(hub) == []
    clock.advance(1800)
    await hub.services.evaluator.tick()
    assert await _notices(hub) == []
    # Ending the silence early resumes the escalation at once.
    r = await hub.api("POST", f"/api/operations/{op}/silences/{silence['id']}/expire", "bruno")
    assert r.status_code == 200 and r.json()["expired_by"] == "bruno"
    assert await _notices(hub) == [(0, 0, ["bruno"])]
    [alert] = (await hub.api("GET", f"/api/operations/{op}/alerts", "olga")).json()["alerts"]
    assert alert["silenced_by"] is None
    actions = [e["action"] for e in await _events(hub)]
    assert actions == ["fired", "silenced", "unsilenced", "notified"]


async def test_a_silence_that_ends_by_itself_resumes_notifications(
        start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    await _setup(hub)
    op = hub.ops["A"].id
    await _critical_case(hub)
    await hub.settle()
    [alert] = (await hub.api("GET", f"/api/operations/{op}/alerts", "olga")).json()["alerts"]
    r = await hub.api("POST", f"/api/operations/{op}/silences", "alice", json={
        "matchers": [{"label": "alert", "value": alert["id"]}], "duration": "20m",
        "reason": "handled by phone"})
    assert r.status_code == 201
    clock.advance(300)  # step 1 falls due inside the silence: held back
    await hub.services.evaluator.tick()
    assert await _notices(hub) == [(0, 0, ["bruno"])]
    clock.advance(900)  # the silence is over: step 1 now
    await hub.services.evaluator.tick()
    assert await _notices(hub) == [(0, 0, ["bruno"]), (1, 0, ["alice"])]


@pytest.fixture
def shared_redis(tmp_path: Path) -> Any:
    url, prefix = redis_url(), new_prefix()
    yield Settings(data_dir=tmp_path / "data", port=0, engine=url, redis_prefix=prefix,
                   publish_rate=10_000.0, publish_burst=10_000, revocation_poll_seconds=0.2,
                   alerting_lease_seconds=30.0)
    cleanup(url, prefix)


@pytest.mark.slow
async def test_two_nodes_raise_each_alert_and_notify_each_step_exactly_once(
        start_hub, shared_redis) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    a: RunningHub = await start_hub(shared_redis, clock=clock)
    b: RunningHub = await start_hub(shared_redis, clock=clock, seeded=False)
    b.ops, b.channels = a.ops, a.channels
    await _setup(a)
    assert a.services.evaluator.leader and not b.services.evaluator.leader
    # Cases written through the node that does not run the pipeline: it wakes the other.
    for i in range(5):
        await _critical_case(b, f"Case {i}")
    for _ in range(200):
        if len(await _notices(a)) == 5:
            break
        await asyncio.sleep(0.02)
    for _ in range(2):  # step 1 and 2, both nodes ticking together
        clock.advance(600)
        await asyncio.gather(a.services.evaluator.tick(), b.services.evaluator.tick())
    # The pipeline's node stops; the other takes the lease over and goes on.
    await a.stop()
    clock.advance(900)
    await b.services.evaluator.tick()
    assert b.services.evaluator.leader
    alerts = [e for e in await _events(b) if e["action"] == "fired"]
    assert len(alerts) == 5 and len({e["id"] for e in alerts}) == 5
    notices = [(e["id"], e["notice"]["step"], e["notice"]["reminder"])
               for e in await _events(b) if e["action"] == "notified"]
    assert len(notices) == len(set(notices)) == 20  # 3 steps + 1 reminder, once each
    texts = await _channel_texts(b)
    assert len(texts) == len(set(texts)) == 20


@pytest.mark.slow
async def test_two_hub_processes_notify_each_step_once_across_a_kill(
        start_hub, shared_redis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Real `liaison serve` processes (so real time, in seconds): the lease holder is
    killed with SIGKILL in the middle of the escalations; the other finishes them."""
    seeded: RunningHub = await start_hub(shared_redis)
    await _setup(seeded)
    op = seeded.ops["A"].id
    fast = {"id": "default", "steps": [
        {"notify": ["assignees", "channel:alerts"], "wait": "1s"},
        {"notify": ["coordinators", "channel:alerts"], "wait": "2s"},
        {"notify": ["everyone", "channel:alerts"]}], "group_by": ["case"],
        "group_interval": "1s"}
    r = await seeded.api("POST", f"/api/operations/{op}/policies", "alice", json=fast)
    assert r.status_code == 200, r.text
    await seeded.stop()  # releases the lease: the first process takes it
    settings = {"engine": shared_redis.engine, "redis_prefix": shared_redis.redis_prefix,
                "alerting_lease_seconds": 2}
    first = await HubProcess(tmp_path / "1.log", data_dir=tmp_path / "1", **settings).start()
    second = await HubProcess(tmp_path / "2.log", data_dir=tmp_path / "2", **settings).start()
    try:
        async with httpx.AsyncClient(base_url=second.url, timeout=10) as http:
            r = await http.post("/api/auth/login", json={"username": "bruno",
                                                         "password": PASSWORD, "bearer": True})
            auth = {"Authorization": f"Bearer {r.json()['token']}"}
            for i in range(3):
                r = await http.post(f"/api/operations/{op}/cases", headers=auth, json={
                    "title": f"Case {i}", "severity": "critical", "assignees": ["bruno"]})
                assert r.status_code == 201, r.text

            async def notices() -> list[tuple[str, int]]:
                r = await http.get(f"/api/operations/{op}/events?limit=500", headers=auth)
                return [(e["id"], e["notice"]["step"]) for e in r.json()["events"]
                        if e["kind"] == "alert" and e["action"] == "notified"]

            for _ in range(100):
                if len(await notices()) >= 3:
                    break
                await asyncio.sleep(0.1)
            first.kill9()  # the lease holder dies mid-escalation
            for _ in range(200):
                if len(await notices()) >= 9:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.5)  # anything extra would show up by now
            seen = await notices()
            assert len(seen) == len(set(seen)) == 9  # 3 alerts x 3 steps, each once
            r = await http.get(f"/api/operations/{op}/events?limit=500", headers=auth)
            fired = [e for e in r.json()["events"] if e["action"] == "fired"]
            assert len(fired) == 3
            r = await http.get(f"/api/channels/{seeded.ch('A/alerts')}/messages?limit=100",
                               headers=auth)
            texts = [m["text"] for m in r.json()["messages"]]
            assert len(texts) == len(set(texts)) == 9
    finally:
        first.stop()
        second.stop()
