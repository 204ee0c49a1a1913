"""The authorization matrix, generated from the app's route table and the frame types.

Every REST route with an id in its path and every client frame that names a
channel, feed, operation or case is tried by ten kinds of caller. A caller
who may not see the thing must get an answer byte-identical to the one for
an id that does not exist; everybody else is either allowed or (if they may
see the thing but their role does not allow the action) refused with 403.
A new route or frame type joins the matrix without editing this file: ids
are filled in by parameter or field name, and an unknown name fails loudly.
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.routing import Route

from hub.principal import Principal
from hub.protocol import ClientFrame
from hub.tus import metadata_header
from tests.conftest import PASSWORD, RunningHub, WsClient


@dataclass
class Caller:
    name: str
    token: str | None
    #: May know the targets exist: gets 2xx, 4xx validation or 403, never a 2xx-for-missing.
    may_see: bool


@dataclass
class World:
    real: dict[str, str]
    missing: dict[str, str]
    callers: list[Caller]


async def _world(hub: RunningHub) -> World:
    op_a = hub.ops["A"]
    police = hub.ch("A/police")  # restricted to POLICE: bruno (ARMY) is an outsider
    case = (await hub.api("POST", f"/api/operations/{op_a.id}/cases", "alice",
                          json={"title": "bridge", "severity": "critical"})).json()
    alert = (await hub.api("POST", f"/api/operations/{op_a.id}/alerts", "alice",
                           json={"summary": "gauge"})).json()
    silence = (await hub.api("POST", f"/api/operations/{op_a.id}/silences", "alice",
                             json={"matchers": [{"label": "rule", "value": "x"}],
                                   "duration": "1h", "reason": "r"})).json()
    alice = await hub.client("alice")
    await alice.subscribe(police)
    urgent = await alice.publish(police, "urgent", priority="urgent")
    assert urgent["type"] == "ack", urgent
    hook = (await hub.api("POST", f"/api/operations/{op_a.id}/webhooks", "alice",
                          json={"name": "feed", "channel": police})).json()
    # A public address, an event that never happens here: nothing is ever sent.
    outgoing = (await hub.api("POST", f"/api/operations/{op_a.id}/outgoing-webhooks", "alice",
                              json={"url": "https://93.184.216.34/hook",
                                    "events": ["case.closed"]})).json()
    upload = await hub.api("POST", "/api/uploads", "alice", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": "10",
        "Upload-Metadata": metadata_header({"channel": police})})
    assert upload.status_code == 201, upload.text
    real = {"op_id": op_a.id, "ch_id": police, "case_id": case["id"], "alert_id": alert["id"],
            "silence_id": silence["id"], "username": "ghost", "seq": str(urgent["seq"]),
            "action": "ack", "hook_id": hook["id"], "secret": "not-its-secret",
            "sub_id": outgoing["id"], "z": "3", "x": "4", "y": "2",  # a map tile
            "upload_id": upload.headers["location"].rsplit("/", 1)[1], "index": "0",
            "ref": f"c.{case['id']}.0",  # a webhook link's file (unsigned here)
            "lang": "es"}
    missing = {**real, "op_id": "op_missing", "ch_id": "ch_missing", "case_id": "case_missing",
               "alert_id": "al-missing-1", "silence_id": "sil_missing",
               "hook_id": "hook_missing", "sub_id": "wh_missing", "upload_id": "up_missing"}

    h = hub.hub
    store = h.engine.store
    bot = await h.auth.create_user(username="otherbot", display_name="Bot", agency="POLICE",
                                   password=None, is_bot=True, actor="test")
    bot_token, _ = await h.auth.create_api_token(bot, name="b", scope=(hub.ops["B"].id,),
                                                 actor="test")
    root_user = await store.get_user_by_name("root")
    assert root_user is not None
    await hub.services.channels.set_member(Principal(root_user, "t", "session", None, None),
                                           hub.ops["B"].id, "otherbot", "member", "test")
    bruno = await store.get_user_by_name("bruno")
    assert bruno is not None
    revoked_token, revoked = await h.auth.create_api_token(bruno, name="r",
                                                           scope=(op_a.id,), actor="test")
    await store.revoke_session(revoked.id, h.clock.now())
    dora = await h.auth.create_user(username="dora", display_name="Dora", agency="POLICE",
                                    password=PASSWORD, actor="test")
    root = await store.get_user_by_name("root")
    assert root is not None
    await hub.services.channels.set_member(Principal(root, "t", "session", None, None),
                                           op_a.id, "dora", "member", "test")
    dora_token = await hub.login("dora")
    await store.update_user(dora.id, disabled=True)

    callers = [
        Caller("anonymous", None, False),
        Caller("other operation", await hub.login("xavier"), False),
        Caller("observer", await hub.login("olga"), True),
        Caller("member", await hub.login("bruno"), True),
        Caller("coordinator", await hub.login("alice"), True),
        Caller("bot scoped elsewhere", bot_token, False),
        Caller("revoked token", revoked_token, False),
        Caller("disabled user", dora_token, False),
        Caller("non-member admin", await hub.login("root"), True),
    ]
    return World(real, missing, callers)


def _id_routes(hub: RunningHub) -> list[tuple[str, str, list[str]]]:
    out = []
    routes = [r for r in _app(hub).routes if isinstance(r, Route) and r.param_convertors]
    for route in routes:
        for method in sorted((route.methods or set()) - {"HEAD"}):
            out.append((method, route.path_format, sorted(route.param_convertors)))
    assert len(out) >= 25, out  # the table is really read
    return out


def _app(hub: RunningHub) -> Any:
    assert hub.app is not None
    return hub.app


def _fill(path: str, ids: dict[str, str]) -> str:
    for name in ids:
        path = path.replace("{" + name + "}", ids[name])
    assert "{" not in path, f"no test id for a parameter of {path}: add it to _world"
    return path


async def _call(hub: RunningHub, caller: Caller, method: str, url: str,
                body: bytes = b"{}") -> tuple[int, bytes]:
    assert hub.http is not None
    headers = {"Content-Type": "application/json"}
    if caller.token is not None:
        headers["Authorization"] = f"Bearer {caller.token}"
    r = await hub.http.request(method, url, headers=headers, content=body)
    return r.status_code, r.content


async def test_every_route_answers_like_a_missing_id_to_those_who_may_not_see(
        running_hub: RunningHub) -> None:
    world = await _world(running_hub)
    # The restricted channel's outsider: for channel routes, bruno may not see it.
    outsider = next(c for c in world.callers if c.name == "member")
    checked = 0
    for method, path, params in _id_routes(running_hub):
        for caller in world.callers:
            real = await _call(running_hub, caller, method, _fill(path, world.real))
            missing = await _call(running_hub, caller, method, _fill(path, world.missing))
            assert real[0] < 500 and missing[0] < 500, (method, path, caller.name, real)
            hidden = not caller.may_see or (caller is outsider and "ch_id" in params)
            where = (method, path, caller.name)
            if hidden:
                assert real == missing, (where, real, missing)
                assert real[0] >= 400, (where, real)
            else:  # may see it: allowed (2xx, or 4xx on the empty body) or role-refused
                assert real[0] != 401 and missing[0] in (400, 403, 404), (where, real, missing)
            checked += 1
    assert checked >= 25 * len(world.callers)


async def test_matrix_spot_checks(running_hub: RunningHub) -> None:
    """A few cells spelled out, so the generated matrix above cannot pass vacuously."""
    world = await _world(running_hub)
    by = {c.name: c for c in world.callers}
    cases = _fill("/api/operations/{op_id}/cases", world.real)
    valid = b'{"title": "Levee"}'
    assert (await _call(running_hub, by["observer"], "POST", cases, valid))[0] == 403
    # A body the declaration refuses is refused at the edge, before anyone is asked: the
    # same 400 whoever calls, so it tells nothing of the operation.
    assert (await _call(running_hub, by["observer"], "POST", cases))[0] == 400
    assert (await _call(running_hub, by["other operation"], "POST", cases))[0] == 400
    assert (await _call(running_hub, by["other operation"], "POST", cases, valid))[0] == 404
    assert (await _call(running_hub, by["member"], "POST", cases))[0] == 400
    assert (await _call(running_hub, by["non-member admin"], "GET", cases))[0] == 403
    assert (await _call(running_hub, by["other operation"], "GET", cases))[0] == 404
    assert (await _call(running_hub, by["revoked token"], "GET", cases))[0] == 401
    assert (await _call(running_hub, by["disabled user"], "GET", cases))[0] == 401
    msgs = _fill("/api/channels/{ch_id}/messages", world.real)
    assert (await _call(running_hub, by["member"], "GET", msgs))[0] == 404  # ARMY, POLICE-only
    assert (await _call(running_hub, by["coordinator"], "GET", msgs))[0] == 200


def _frame_types(hub: RunningHub) -> dict[str, type]:
    """The core's frames and every frame a feature declared to this hub's codec."""
    out: dict[str, type] = dict(hub.hub.handlers.declared)
    for cls in typing.get_args(ClientFrame):
        if dataclasses.is_dataclass(cls):
            literal = typing.get_type_hints(cls)["type"]
            out[typing.get_args(literal)[0]] = cls
    return out


def _field_names(cls: type) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    return [f.name for f in msgspec.structs.fields(cls)]


_SCALARS = {"text": "hello", "client_msg_id": None, "priority": "normal", "action": "update",
            "since_seq": None, "board": False, "ack_of": None, "token": None, "client": "t",
            "data": {"version": 1, "severity": "minor"}, "label": None, "ack": None,
            "real_world": False, "reply_to": None, "attach": None, "lang": "en"}


def _frame(kind: str, cls: type, ids: dict[str, str]) -> dict[str, Any] | None:
    """A frame of this type aimed at the test ids, built from its fields' names."""
    frame: dict[str, Any] = {"type": kind, "ref": "r"}
    targets = False
    for name in _field_names(cls):
        if name in ("type", "ref"):
            continue
        if name == "channel":
            frame["channel"] = ids["ch_id"] if kind != "subscribe" else ids["feed"]
            targets = True
        elif name == "operation":
            frame["operation"] = ids["op_id"]
            targets = True
        elif name == "case":
            frame["case"] = ids["case_id"]
            targets = True
        elif name in _SCALARS:
            value = _SCALARS[name]
            if value is not None:
                frame[name] = value
            elif name == "client_msg_id":
                frame[name] = uuid.uuid4().hex
        else:
            raise AssertionError(f"no test value for frame field {kind}.{name}: add one")
    return frame if targets else None


async def test_every_frame_answers_like_a_missing_id_to_those_who_may_not_see(
        running_hub: RunningHub) -> None:
    world = await _world(running_hub)
    kinds = _frame_types(running_hub)
    assert {"subscribe", "publish", "typing", "case", "unsubscribe"} <= set(kinds)
    feeds = [f"ops:{world.real['op_id']}", world.real["ch_id"]]
    checked = 0
    for caller in world.callers:
        if caller.token is None:
            continue
        client = WsClient(await running_hub.raw_ws(), "json")
        await client.send({"type": "hello", "token": caller.token, "ref": "h"})
        welcome = await client.recv(timeout=10)
        if caller.name in ("revoked token", "disabled user"):
            assert welcome["type"] == "error" and welcome["code"] == "unauthenticated"
            bogus = WsClient(await running_hub.raw_ws(), "json")
            await bogus.send({"type": "hello", "token": "lhs_" + "x" * 40, "ref": "h"})
            assert await bogus.recv(timeout=10) == welcome  # revoked = never existed
            continue
        assert welcome["type"] == "welcome", (caller.name, welcome)
        for kind, cls in kinds.items():
            for feed in feeds if kind == "subscribe" else feeds[1:]:
                real = _frame(kind, cls, {**world.real, "feed": feed})
                if real is None:
                    continue
                missing_feed = "ops:op_missing" if feed.startswith("ops:") else "ch_missing"
                missing = _frame(kind, cls, {**world.missing, "feed": missing_feed})
                assert missing is not None
                answers = []
                for frame in (real, missing):
                    if "client_msg_id" in frame:
                        frame["client_msg_id"] = uuid.uuid4().hex
                    await client.send(frame)
                    answers.append(await _reply(client))
                hidden = not caller.may_see or (
                    caller.name == "member" and feed == world.real["ch_id"]
                    and kind != "case")
                where = (caller.name, kind, feed)
                if hidden:
                    assert answers[0] == answers[1], (where, answers)
                else:
                    assert answers[1]["type"] == "error", (where, answers)
                checked += 1
        await client.close()
    assert checked >= 20


async def _reply(client: WsClient) -> dict[str, Any]:
    """The answer to the frame just sent (ack, subscribed, error...), skipping the live
    traffic; for frames that answer nothing (typing), a ping marks the end."""
    await client.send({"type": "ping", "ref": "end"})
    answer: dict[str, Any] | None = None
    while True:
        frame = await client.recv(timeout=10)
        if frame["type"] == "pong" and frame.get("ref") == "end":
            return answer or {"type": "nothing"}
        if frame.get("ref") == "r" and answer is None:
            answer = {k: v for k, v in frame.items()
                      if k not in ("seq", "id", "ts", "since_seq", "head_seq", "first_seq")}
