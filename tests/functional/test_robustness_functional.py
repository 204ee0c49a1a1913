"""Hostile and broken input gets documented errors; the hub stays up."""

from __future__ import annotations

import asyncio
import json

import msgpack
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import RunningHub, WsClient


async def _closed_with(client: WsClient) -> int | None:
    with pytest.raises(ConnectionClosed):
        for _ in range(50):
            await client.recv(timeout=5)
    return client.ws.close_code


async def _still_alive(client: WsClient) -> None:
    await client.send({"type": "ping", "ref": "alive"})
    assert (await client.recv_type("pong"))["ref"] == "alive"


async def test_oversized_frames_close_with_1009(running_hub: RunningHub) -> None:
    alice = await running_hub.client("alice")
    await alice.send_raw("x" * (running_hub.settings.max_frame_bytes + 1))
    assert await _closed_with(alice) == 1009
    # Before authentication too.
    raw = WsClient(await running_hub.raw_ws(), "json")
    await raw.send_raw(json.dumps({"type": "hello", "token": "a" * 70_000}))
    assert await _closed_with(raw) == 1009
    assert (await running_hub.api("GET", "/healthz")).status_code == 200


async def test_long_text_is_refused_with_too_large(running_hub: RunningHub) -> None:
    alice = await running_hub.client("alice")
    reply = await alice.publish(running_hub.ch("A/general"),
                                "y" * (running_hub.settings.max_text_chars + 1))
    assert reply["type"] == "error" and reply["code"] == "too_large"
    await _still_alive(alice)


@pytest.mark.parametrize("payload", [
    "{not json", "[1, 2", '{"type": "ping"', "NaN", "[]", '"just a string"', "[" * 5000,
    '{"a":' * 3000,
])
async def test_malformed_json_gets_error_frame(running_hub: RunningHub, payload: str) -> None:
    alice = await running_hub.client("alice")
    await alice.send_raw(payload)
    err = await alice.recv_type("error")
    assert err["code"] in ("bad_frame", "bad_request")
    await _still_alive(alice)


HOSTILE_MSGPACK = {
    "declared 2**32 string": b"\x81\xa4type\xdb\xff\xff\xff\xff" + b"x" * 8,
    "declared 2**32 array": b"\xdd\xff\xff\xff\xff\xc0",
    "declared 2**32 map": b"\xdf\xff\xff\xff\xff\xc0",
    "nesting 10**4 deep": b"\x91" * 10_000 + b"\xc0",
    "ext type": msgpack.packb({"type": msgpack.ExtType(5, b"boom")}),
    "non-str key": msgpack.packb({1: "ping"}),
    "truncated": msgpack.packb({"type": "ping", "ref": "abcdef"})[:-3],
    "trailing bytes": msgpack.packb({"type": "ping"}) + b"\x00\x01",
    "bin value": msgpack.packb({"type": "ping", "ref": b"\x00" * 10}, use_bin_type=True),
    "not a map": msgpack.packb([1, 2, 3]),
}


@pytest.mark.parametrize("name", list(HOSTILE_MSGPACK))
async def test_hostile_msgpack_gets_error_frame(running_hub: RunningHub, name: str) -> None:
    client = await running_hub.client("alice", "msgpack")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.send_raw(HOSTILE_MSGPACK[name])
    err = await client.recv_type("error")
    assert loop.time() - started < 1.0
    assert err["code"] in ("bad_frame", "bad_request")
    await _still_alive(client)


@pytest.mark.parametrize("frame,code", [
    ({"type": "publish", "channel": 123, "text": "x", "client_msg_id": "a"}, "bad_request"),
    ({"type": "publish", "channel": {"$gt": ""}, "text": "x", "client_msg_id": "a"},
     "bad_request"),
    ({"type": "publish", "channel": "c", "text": ["x"], "client_msg_id": "a"}, "bad_request"),
    ({"type": "publish", "channel": "c", "text": "x"}, "bad_request"),
    ({"type": "publish", "channel": "c", "text": "x", "client_msg_id": "a",
      "priority": "flash"}, "bad_request"),
    ({"type": "subscribe", "channel": "c", "since_seq": "5"}, "bad_request"),
    ({"type": "subscribe", "channel": "c", "since_seq": -1}, "bad_request"),
    ({"type": "subscribe", "channel": "c", "since_seq": True}, "bad_request"),
    ({"type": "subscribe"}, "bad_request"),
    ({"type": "launch"}, "unknown_type"),
    ({"type": 7}, "bad_request"),
    ({"type": "ping", "ref": {"x": 1}}, "bad_request"),
    ({"type": "unsubscribe", "channel": "never"}, "not_subscribed"),
])
async def test_wrong_types_get_error_frames(running_hub: RunningHub, frame: dict,  # type: ignore[type-arg]
                                            code: str) -> None:
    for fmt in ("json", "msgpack"):
        client = await running_hub.client("alice", fmt)
        await client.send(frame)
        err = await client.recv_type("error")
        assert err["code"] == code, (fmt, err)
        assert isinstance(err["reason"], str) and err["reason"]
        await _still_alive(client)


async def test_wrong_message_kind_for_the_format(running_hub: RunningHub) -> None:
    client = await running_hub.client("alice", "msgpack")
    await client.send_raw('{"type": "ping"}')  # text on a msgpack connection
    assert (await client.recv_type("error"))["code"] == "bad_frame"
    await _still_alive(client)


@pytest.mark.parametrize("first", [
    {"type": "subscribe", "channel": "x"},
    {"type": "publish", "channel": "x", "text": "t", "client_msg_id": "1"},
    {"type": "ping"},
    {"type": "hello"},
    {"type": "hello", "token": "lhs_forged"},
])
async def test_frames_before_authentication_close_4001(running_hub: RunningHub,
                                                       first: dict) -> None:  # type: ignore[type-arg]
    client = WsClient(await running_hub.raw_ws(), "json")
    await client.send({**first, "ref": "first"})
    err = await client.recv()
    assert err["type"] == "error" and err["code"] == "unauthenticated"
    assert err["ref"] == "first" and err["retryable"] is False  # ref echoed when readable
    assert await _closed_with(client) == 4001


async def test_garbage_before_authentication_closes_4001(running_hub: RunningHub) -> None:
    client = WsClient(await running_hub.raw_ws("msgpack"), "msgpack")
    await client.send_raw(b"\xc1\xc1\xc1")
    assert await _closed_with(client) == 4001


async def test_silent_client_is_closed_4002(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    hub = await start_hub(hub_settings.replace(hello_timeout_seconds=0.3), seeded=False)
    client = WsClient(await hub.raw_ws(), "json")
    err = await client.recv(timeout=10)
    assert err["code"] == "auth_timeout" and err["retryable"] is True
    assert await _closed_with(client) == 4002


async def test_cross_origin_upgrade_is_refused(running_hub: RunningHub) -> None:
    host = running_hub.url.removeprefix("http://")
    for origin in ("http://evil.example", f"http://{host}.evil.example", "null",
                   f"http://evil.example/{host}", "file://", f"ftp://{host}",
                   f"https://{host}"):  # other schemes, https on a plain-http hub too
        with pytest.raises(InvalidStatus) as info:
            await running_hub.raw_ws(origin=origin)
        assert info.value.response.status_code == 403, origin
    refused = [r async for r in running_hub.hub.engine.store.iter_audit()
               if r.action == "ws.origin_refused"]
    assert len(refused) == 7
    # Our own origin is fine.
    ws = await running_hub.raw_ws(origin=f"http://{host}")
    await ws.close()


async def test_cookie_authenticates_only_same_origin(running_hub: RunningHub) -> None:
    assert running_hub.http is not None
    r = await running_hub.http.post("/api/auth/login", json={"username": "alice",
                                                             "password": "correct horse battery"})
    assert r.status_code == 200 and "token" not in r.json()
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    value = cookie.split(";")[0]
    host = running_hub.url.removeprefix("http://")
    ws = await running_hub.raw_ws(origin=f"http://{host}",
                                  additional_headers={"Cookie": value})
    client = WsClient(ws, "json")
    await client.send({"type": "hello"})
    assert (await client.recv())["type"] == "welcome"
    # Without an Origin (not a browser) the cookie is ignored: a token is needed.
    ws2 = WsClient(await running_hub.raw_ws(additional_headers={"Cookie": value}), "json")
    await ws2.send({"type": "hello"})
    assert (await ws2.recv())["code"] == "unauthenticated"
    await client.close()


async def test_no_token_is_accepted_in_the_url(running_hub: RunningHub) -> None:
    token = await running_hub.login("alice")
    for query in (f"?token={token}", f"?access_token={token}", f"?auth={token}"):
        client = WsClient(await _ws_with_query(running_hub, query), "json")
        await client.send({"type": "hello"})
        assert (await client.recv())["code"] == "unauthenticated"
        assert await _closed_with(client) == 4001
        r = await running_hub.api("GET", f"/api/me{query}")
        assert r.status_code == 401


async def _ws_with_query(hub: RunningHub, query: str):  # type: ignore[no-untyped-def]
    from websockets.asyncio.client import connect

    return await connect(hub.ws_url + query, subprotocols=["liaison.v1.json"])  # type: ignore[list-item]


async def test_rest_bad_input(running_hub: RunningHub) -> None:
    assert running_hub.http is not None
    r = await running_hub.http.post("/api/auth/login", content=b"{bad",
                                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = await running_hub.http.post("/api/auth/login", content=b"username=a",
                                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    r = await running_hub.http.post("/api/auth/login", json={"username": ["a"], "password": 1})
    assert r.status_code == 400
    big = {"username": "a", "password": "b" * 100_000}
    r = await running_hub.http.post("/api/auth/login", json=big)
    assert r.status_code == 413
    r = await running_hub.api("GET", "/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
