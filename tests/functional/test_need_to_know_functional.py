"""Need-to-know, searched in bodies, not status codes (issue 24, item 3).

Hypothesis builds a labelled world in a fresh operation of three agencies:
channels released to different agencies, chat messages, cases (some critical,
so rules fire and route notices into the channels), pushed alerts routed into
channels, urgent messages every agency must acknowledge, silences, incoming
webhooks and what they post, CAP warnings, and a rate rule counting them all.
Every item's text carries a unique marker. Then, for each reader (POLICE, ARMY,
RED-CROSS, each a coordinator), every output path is read — REST reads and
lists, the event log, the board and board?at=, rules, policies, silences,
webhooks, timelines, CAP documents and feed, dry-run, the signed export,
WebSocket replays of the op feed and of every channel, and what the reader's
own outgoing webhook received — and the bodies are searched for the markers and
ids of what that reader may not see.

CAP warnings carry no marking, so they are the operation's (every reader must
find them). The browser's offline copies after a session ends are searched by
tests/web/test_offline_browser.py, which drives Chromium.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.config import Settings
from hub.models import OperationId
from hub.principal import Principal
from tests.alerting.documents import stored_conform
from tests.alerting.interop.test_cap_in import STORM
from tests.conftest import PASSWORD, RunningHub, free_port

AGENCIES = {"alice": "POLICE", "bruno": "ARMY", "chloe": "RED-CROSS"}
AUTHOR = {agency: user for user, agency in AGENCIES.items()}
RELEASES = [(), ("POLICE",), ("ARMY",), ("POLICE", "ARMY"), ("RED-CROSS",)]
KINDS = ["message", "case", "critical case", "alert", "urgent", "silence", "webhook", "cap"]
EVENTS = ["alert.fired", "alert.notified", "alert.acknowledged", "alert.resolved",
          "case.created", "case.updated", "case.closed", "message.created"]

WORLDS = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(RELEASES)),
                  min_size=2, max_size=6)


def _label(release: tuple[str, ...]) -> dict[str, Any] | None:
    return {"level": "UNCLASSIFIED", "categories": {"REL TO": list(release)}} \
        if release else None


@dataclass
class Inbox:
    """Each reader's outgoing-webhook receiver, on loopback: what arrived, by reader."""

    port: int = field(default_factory=free_port)
    got: dict[str, list[str]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, reader: str) -> str:
        return f"http://127.0.0.1:{self.port}/{reader}"

    async def handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        self.got.setdefault(request.path_params["reader"], []).append(body)
        self.arrived.set()
        return Response(status_code=200)

    async def wait_for(self, reader: str, text: str) -> None:
        async with asyncio.timeout(60):
            while not any(text in body for body in self.got.get(reader, [])):
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def inbox() -> Any:
    box = Inbox()
    app = Starlette(routes=[Route("/{reader}", box.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=box.port,
                                           log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield box
    server.should_exit = True
    await task


@pytest.fixture
async def hub(start_hub: Any, hub_settings: Settings) -> RunningHub:
    """One hub, on each engine, for every world hypothesis builds; it may deliver
    outgoing webhooks to the loopback inbox."""
    return await start_hub(  # type: ignore[no-any-return]
        hub_settings.replace(webhook_allow_networks=("127.0.0.1/32",)))


@dataclass
class World:
    op: str
    uid: str
    channels: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    #: (marker, release) of every item.
    items: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    sentinel: str = ""


async def _ok(hub: RunningHub, method: str, path: str, user: str, **kw: Any) -> Any:
    r = await hub.api(method, path, user, **kw)
    assert r.status_code in (200, 201), (path, r.text)
    return r.json()


async def _build(hub: RunningHub, plan: list[tuple[str, tuple[str, ...]]],
                 inbox: Inbox) -> World:
    uid = uuid.uuid4().hex[:8]
    op = (await _ok(hub, "POST", "/api/operations", "root", json={
        "code": f"NK-{uid}", "name": f"Need to know {uid}",
        "agencies": ["POLICE", "ARMY", "RED-CROSS"]}))["id"]
    for user in AGENCIES:
        await _ok(hub, "PUT", f"/api/operations/{op}/members/{user}", "root",
                  json={"role": "coordinator"})
    world = World(op, uid)
    for release in RELEASES:
        marker = f"MK{uid}room{len(world.channels)}"
        world.channels[release] = await _ok(
            hub, "POST", f"/api/operations/{op}/channels", "root",
            json={"name": f"room-{marker}".lower() if release else "general",
                  "agencies": list(release)})
        if release:
            world.items.append((marker.lower(), release))
        # A rule per channel: critical cases are announced there.
        await _ok(hub, "POST", f"/api/operations/{op}/rules",
                  AUTHOR[release[0]] if release else "alice", json={
            "id": f"crit-{uid}-{len(world.channels)}", "when": 'severity == "critical"',
            "severity": "critical", "summary": "{title} is critical",
            "route": [f"channel:{world.channels[release]['name']}"]})
    await _ok(hub, "POST", f"/api/operations/{op}/rules", "alice", json={
        "id": f"burst-{uid}", "kind": "rate", "window": "1h", "threshold": 2,
        "summary": "{count} new cases"})
    for reader, agency in AGENCIES.items():  # every event, every channel it sees
        await _ok(hub, "POST", f"/api/operations/{op}/outgoing-webhooks", reader, json={
            "url": inbox.url(reader), "name": f"copy for {reader}", "events": EVENTS,
            "channels": [ch["id"] for release, ch in world.channels.items()
                         if not release or agency in release]})
    for i, (kind, release) in enumerate(plan):
        marker = f"MK{uid}i{i}"
        if kind == "cap":
            release = ()  # a CAP warning is the operation's
        world.items.append((marker, release))
        author = AUTHOR[release[0]] if release else "alice"
        ch = world.channels[release]["id"]
        if kind in ("message", "urgent"):
            body: dict[str, Any] = {"text": f"{marker} convoy at the pass",
                                    "client_msg_id": f"c-{marker}"}
            if kind == "urgent":
                body |= {"priority": "urgent", "ack": "each_agency"}
            await _ok(hub, "POST", f"/api/channels/{ch}/messages", author, json=body)
        elif kind in ("case", "critical case"):
            await _ok(hub, "POST", f"/api/operations/{op}/cases", author, json={
                "title": f"{marker} informant", "label": _label(release),
                "severity": "critical" if kind == "critical case" else "minor"})
        elif kind == "alert":
            await _ok(hub, "POST", f"/api/operations/{op}/alerts", author, json={
                "summary": f"{marker} source exposed", "fingerprint": f"fp-{marker}",
                "label": _label(release), "severity": "critical",
                "route": [f"channel:{world.channels[release]['name']}"]})
        elif kind == "silence":
            await _ok(hub, "POST", f"/api/operations/{op}/silences", author, json={
                "matchers": [{"label": "fingerprint", "value": f"fp-{marker}"}],
                "duration": "2h", "reason": f"{marker} crews on site",
                "label": _label(release)})
        elif kind == "webhook":
            hook = await _ok(hub, "POST", f"/api/operations/{op}/webhooks", author,
                             json={"name": f"{marker} gauges", "channel": ch})
            assert hub.http is not None
            r = await hub.http.post(hook["path"], json={"text": f"{marker} river high"})
            assert r.status_code == 200, r.text
        else:
            await _cap(hub, op, uid, marker)
    await hub.settle()
    world.sentinel = (await _ok(hub, "POST", f"/api/operations/{op}/cases", "alice",
                                json={"title": f"SENTINEL {uid}", "severity": "info"}))["id"]
    for release, ch in world.channels.items():  # the last message of each channel
        await _ok(hub, "POST", f"/api/channels/{ch['id']}/messages",
                  AUTHOR[release[0]] if release else "alice",
                  json={"text": "SENTINEL", "client_msg_id": f"end-{uid}"})
    await hub.settle()
    return world


async def _cap(hub: RunningHub, op: str, uid: str, marker: str) -> None:
    """A CAP warning whose headline is ``marker``, posted by the operation's bot."""
    store, name = hub.hub.engine.store, f"cap-{uid}"
    bot = await store.get_user_by_name(name)
    if bot is None:
        bot = await hub.hub.auth.create_user(username=name, display_name=name,
                                             agency="POLICE", password=None, is_bot=True,
                                             actor="test")
        await _ok(hub, "PUT", f"/api/operations/{op}/members/{name}", "root",
                  json={"role": "member"})
    token, _ = await hub.hub.auth.create_api_token(bot, name=marker, scope=(OperationId(op),),
                                                   actor="test")
    doc = STORM.replace("KSTO1055887203", marker).replace(
        "SEVERE THUNDERSTORM WARNING", f"{marker} WARNING")
    assert hub.http is not None
    r = await hub.http.post(f"/api/operations/{op}/cap", content=doc.encode(),
                            headers={"Content-Type": "application/cap+xml",
                                     "Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 201), r.text


async def _hidden_ids(hub: RunningHub, world: World, reader: str) -> set[str]:
    """Ids of the records and channels of the world ``reader`` may not see, by the
    store's own labels (derived alerts included: rule, rate and urgent-message ones)."""
    store, access = hub.hub.engine.store, hub.services.alerts.access
    user = await store.get_user_by_name(reader)
    assert user is not None
    who = Principal(user, "t", "session", None, None)
    hidden = {ch["id"] for release, ch in world.channels.items()
              if release and AGENCIES[reader] not in release}
    for kind in ("case", "alert"):
        for doc, _ in await store.list_records(world.op, kind):  # type: ignore[arg-type]
            if not access.sees(who, doc):
                hidden.add(str(doc["id"]))
                if doc.get("fingerprint"):
                    hidden.add(str(doc["fingerprint"]))
    return hidden


async def _bodies(hub: RunningHub, world: World, reader: str, everything: list[str],
                  inbox: Inbox) -> dict[str, str]:
    """Every output path ``reader`` can ask for, by name: its body as text."""
    op, out = world.op, {}
    await inbox.wait_for(reader, f"SENTINEL {world.uid}")
    out["outgoing webhook"] = "\n".join(inbox.got[reader])

    async def get(path: str) -> None:
        r = await hub.api("GET", path, reader)
        out[path] = r.text

    for path in ("/api/operations", f"/api/operations/{op}", f"/api/operations/{op}/channels",
                 f"/api/operations/{op}/members", f"/api/operations/{op}/alerts",
                 f"/api/operations/{op}/cases", f"/api/operations/{op}/rules",
                 f"/api/operations/{op}/policies", f"/api/operations/{op}/silences",
                 f"/api/operations/{op}/webhooks", f"/api/operations/{op}/outgoing-webhooks",
                 f"/api/operations/{op}/cap/feed", f"/api/operations/{op}/board?at=1900000000"):
        await get(path)
    after = 0
    while True:
        r = await hub.api("GET", f"/api/operations/{op}/events?after_seq={after}&limit=500",
                          reader)
        out[f"events after {after}"] = r.text
        page = r.json()
        if not page["has_more"]:
            break
        after = page["next_after_seq"]
    for item in everything:  # ids of every kind, seen or not
        for path in (f"/api/operations/{op}/cases/{item}",
                     f"/api/operations/{op}/cases/{item}/timeline",
                     f"/api/operations/{op}/cap/cases/{item}",
                     f"/api/operations/{op}/cap/alerts/{item}", f"/api/channels/{item}",
                     f"/api/channels/{item}/messages"):
            await get(path)
    r = await hub.api("POST", f"/api/operations/{op}/rules/dry-run", reader,
                      json={"id": "try", "when": "true", "summary": "{title}"})
    out["dry-run"] = r.text
    r = await hub.api("POST", f"/api/operations/{op}/rules/dry-run", reader,
                      json={"id": "try", "kind": "rate", "window": "1h", "threshold": 1})
    out["dry-run rate"] = r.text
    client = await hub.client(reader)
    await client.subscribe(f"ops:{op}", since_seq=0)
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1].get("id") != world.sentinel:
        frame = await client.recv(timeout=15)
        if frame["type"] in ("op_event", "board", "error"):
            frames.append(frame)
    out["ws op feed"] = json.dumps(frames)
    for release, ch in world.channels.items():
        got = await _replay(client, ch["id"])
        if got[-1]["type"] == "error":
            # Refused: exactly as for a channel that does not exist, the id it was
            # asked for echoed and nothing more.
            made_up = await _replay(client, "ch_doesnotexist")
            assert json.dumps(got).replace(ch["id"], "ch_doesnotexist") == \
                json.dumps(made_up)
            continue
        out[f"ws channel {release}"] = json.dumps(got)
    await client.ws.close()
    r = await hub.api("GET", f"/api/operations/{op}/export", reader)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        out["export"] = "\n".join(archive.read(n).decode() for n in archive.namelist()
                                  if not n.endswith(".sig"))
    return out


async def _replay(client: Any, ch_id: str) -> list[dict[str, Any]]:
    """A channel's replay from its start up to its SENTINEL message, or the refusal."""
    await client.send({"type": "subscribe", "channel": ch_id, "since_seq": 0, "ref": "s"})
    got = []
    while True:
        frame = await client.recv(timeout=15)
        if frame["type"] in ("presence", "typing"):
            continue
        got.append(frame)
        if frame["type"] == "error" or (frame["type"] == "message"
                                        and frame.get("channel") == ch_id
                                        and frame["text"] == "SENTINEL"):
            return got


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("LIAISON_WORLDS", "3")), deadline=None,
          database=None,
          suppress_health_check=list(HealthCheck))
@given(plan=WORLDS)
async def test_no_body_holds_a_marker_or_id_its_reader_may_not_see(
        hub: RunningHub, inbox: Inbox, plan: list[tuple[str, tuple[str, ...]]]) -> None:
    if await hub.hub.engine.store.get_user_by_name("chloe") is None:
        await hub.hub.auth.create_user(username="chloe", display_name="Chloe",
                                       agency="RED-CROSS", password=PASSWORD, actor="test")
    world = await _build(hub, plan, inbox)
    everything = set()
    for reader in AGENCIES:
        everything |= await _hidden_ids(hub, world, reader)
    for reader, agency in AGENCIES.items():
        hidden = {m for m, release in world.items if release and agency not in release}
        hidden |= await _hidden_ids(hub, world, reader)
        shown = {m for m, release in world.items if not release or agency in release}
        bodies = await _bodies(hub, world, reader, sorted(everything), inbox)
        leaks = sorted((where, secret) for where, body in bodies.items()
                       for secret in hidden if secret in body)
        assert leaks == [], f"{reader} ({agency}) reads what is not theirs: {leaks[:10]}"
        # The search is not vacuous: what the reader may see is there.
        every = "\n".join(bodies.values())
        assert all(m in every for m in shown), (reader, [m for m in shown if m not in every])
    # Every document the features wrote, the pipeline and the dispatcher included, has
    # the shape alerting.documents (and channels.webhooks) declares.
    counts = await stored_conform(hub.hub.engine.store, OperationId(world.op))
    assert counts["case"] and counts["rule"] and counts["alerting"], counts
