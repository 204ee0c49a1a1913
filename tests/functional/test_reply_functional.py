"""Threaded replies (issue 27): ``reply_to``, a field of the chat body, declared once in
channels/bodies.py, is stored, delivered live and replayed by both engines, over both
wire formats, by the SDK and REST, and documented in OpenAPI; a bad one is refused
naming it."""

from __future__ import annotations

import pytest

from tests.chat import sdk_messages
from tests.conftest import RunningHub


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
async def test_a_reply_is_stored_delivered_and_replayed(running_hub: RunningHub,
                                                        fmt: str) -> None:
    hub = running_hub
    ch = hub.ch("A/general")
    alice = await hub.bot("alice", fmt)
    bruno = await hub.bot("bruno", fmt)
    await bruno.subscribe(ch)
    asked = await alice.publish(ch, "Is bridge 4 open?")
    answer = await bruno.publish(ch, "No, closed since 06:00", reply_to=asked.seq)
    live = await sdk_messages(bruno, 2)
    assert [(m.seq, m.reply_to) for m in live] == [(asked.seq, None),
                                                   (answer.seq, asked.seq)]
    assert live[1].text == "No, closed since 06:00" and live[1].priority == "normal"

    # replayed to a client that subscribes later, over the raw wire format
    raw = await hub.client("alice", fmt)
    await raw.send({"type": "subscribe", "channel": ch, "since_seq": 0, "ref": "s"})
    assert (await raw.recv_type("subscribed", timeout=30))["head_seq"] == answer.seq
    replayed = [await raw.recv_type("message", timeout=30) for _ in range(2)]
    assert "reply_to" not in replayed[0] and replayed[1]["reply_to"] == asked.seq

    # REST: history, a post that replies, and what OpenAPI says of the field
    r = await hub.api("GET", f"/api/channels/{ch}/messages", "alice")
    assert [m.get("reply_to") for m in r.json()["messages"]] == [None, asked.seq]
    posted = await hub.api("POST", f"/api/channels/{ch}/messages", "alice",
                           json={"text": "Thanks", "client_msg_id": f"t-{fmt}",
                                 "reply_to": answer.seq})
    assert posted.status_code == 201 and posted.json()["reply_to"] == answer.seq
    doc = (await hub.api("GET", "/api/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert schemas["Message"]["properties"]["reply_to"]["minimum"] == 1
    body = doc["paths"]["/api/channels/{ch_id}/messages"]["post"]["requestBody"]
    assert "reply_to" in body["content"]["application/json"]["schema"]["properties"]


async def test_a_bad_reply_to_is_refused_naming_it(running_hub: RunningHub) -> None:
    hub = running_hub
    ch = hub.ch("A/general")
    raw = await hub.client("alice", "msgpack")
    for bad in (0, True, 1.5, "3"):
        await raw.send({"type": "publish", "channel": ch, "text": "x", "client_msg_id": "b",
                        "reply_to": bad, "ref": "p"})
        error = await raw.recv_type("error", timeout=30)
        assert error["code"] == "bad_request" and "'reply_to'" in error["reason"], bad
    r = await hub.api("POST", f"/api/channels/{ch}/messages", "alice",
                      json={"text": "x", "client_msg_id": "b", "reply_to": -1})
    assert r.status_code == 400 and "'reply_to'" in r.json()["error"]["message"]
    r = await hub.api("GET", f"/api/channels/{ch}/messages", "alice")
    assert r.json()["messages"] == []  # nothing stored
