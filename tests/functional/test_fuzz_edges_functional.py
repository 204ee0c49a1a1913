"""Arbitrary JSON at every REST body and WebSocket frame of a real hub.

Whatever arrives — NaN, infinities, 1e999, huge integers, lone surrogates,
deep nesting, wrong types — the hub answers with a 4xx or an error frame,
never a 5xx or a closed socket, and never stores a record that a list,
a replay or a board snapshot cannot serve.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunningHub

_NASTY_FLOATS = st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -0.0, 0.5])
_NASTY_INTS = st.sampled_from([2**53, -(2**53), 2**64, 10**30, -1, 0, 1])
_NASTY_TEXT = st.sampled_from(["\udc00", "a\ud800b", "é", "", " ", "x" * 5000, "{title:>9}",
                               "channel:police", "critical", "15m"])
_SCALAR = (st.none() | st.booleans() | _NASTY_FLOATS | _NASTY_INTS | _NASTY_TEXT
           | st.floats() | st.integers() | st.text(max_size=12))
_VALUE = st.recursive(_SCALAR, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                      max_leaves=12)
_DEEP = st.integers(min_value=10, max_value=40).map(lambda n: {"a": json.loads(
    "[" * n + "1" + "]" * n)})

# Keys each body understands, so values reach the validators behind the boundary.
_KEYS = ["title", "severity", "fields", "location", "assignees", "summary", "labels",
         "fingerprint", "route", "escalation", "matchers", "duration", "reason", "id", "when",
         "for", "kind", "window", "threshold", "steps", "text", "client_msg_id", "priority",
         "version", "topic", "agencies", "role", "name", "status", "classification",
         "username", "password", "totp", "bearer"]
BODIES = st.one_of(st.dictionaries(st.sampled_from(_KEYS), _VALUE, max_size=5), _DEEP, _VALUE)


def _dump(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")


ROUTES = [
    ("POST", "/api/operations/{op}/cases"), ("POST", "/api/operations/{op}/alerts"),
    ("POST", "/api/operations/{op}/silences"), ("POST", "/api/operations/{op}/rules"),
    ("POST", "/api/operations/{op}/rules/dry-run"), ("POST", "/api/operations/{op}/policies"),
    ("POST", "/api/channels/{ch}/messages"), ("PATCH", "/api/channels/{ch}"),
    ("PATCH", "/api/operations/{op}"), ("PUT", "/api/operations/{op}/members/bruno"),
    ("POST", "/api/operations/{op}/channels"), ("POST", "/api/auth/login"),
]
LISTS = ["/api/operations/{op}/cases", "/api/operations/{op}/alerts",
         "/api/operations/{op}/silences", "/api/operations/{op}/rules",
         "/api/operations/{op}/policies", "/api/operations/{op}/events?limit=500",
         "/api/channels/{ch}/messages?limit=500"]


async def _lists_serve(hub: RunningHub) -> None:
    op, ch = hub.ops["A"].id, hub.ch("A/general")
    for path in LISTS:
        r = await hub.api("GET", path.format(op=op, ch=ch), "alice")
        assert r.status_code == 200, (path, r.text)


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), body=BODIES)
async def test_rest_bodies_never_5xx_nor_poison(running_hub: RunningHub, route: tuple[str, str],
                                                body: Any) -> None:
    method, path = route
    url = path.format(op=running_hub.ops["A"].id, ch=running_hub.ch("A/general"))
    for user in ("alice", "bruno"):
        r = await running_hub.api(method, url, user, content=_dump(body),
                                  headers={"Content-Type": "application/json"})
        assert r.status_code < 500, (route, body, r.text)
    await _lists_serve(running_hub)


FRAME_TYPES = ["publish", "case", "subscribe", "unsubscribe", "typing", "ping", "hello"]


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(FRAME_TYPES), fields=st.dictionaries(
    st.sampled_from(["channel", "text", "client_msg_id", "priority", "since_seq", "board",
                     "operation", "action", "case", "data", "ack_of", "ref", "token"]),
    _VALUE, max_size=5), fmt=st.sampled_from(["json", "msgpack"]))
async def test_ws_frames_never_close_the_socket(running_hub: RunningHub, kind: str,
                                                fields: dict[str, Any], fmt: str) -> None:
    client = await running_hub.client("bruno", fmt)
    frame = {**fields, "type": kind}
    if fmt == "json":
        await client.send_raw(json.dumps(frame, allow_nan=True))
    else:
        import msgpack
        try:
            data = msgpack.packb(frame)
        except (OverflowError, ValueError, TypeError):
            await client.close()
            return  # not representable in msgpack either
        await client.send_raw(data)
    await client.send({"type": "ping", "ref": "alive"})
    while True:
        reply = await client.recv(timeout=10)
        if reply["type"] == "pong" and reply.get("ref") == "alive":
            break
    await client.close()
    await _lists_serve(running_hub)
