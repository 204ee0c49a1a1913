"""Incoming webhooks through a real hub (both engines): scripts written for Slack or
Mattermost post unchanged, a secret that can only post to its channel, idempotent
retries, a rate limit per webhook, and refusals that store nothing."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import pytest

from channels.bodies import chat_body
from hub.models import ChannelId
from hub.principal import Principal
from tests.channels.test_slack import ATTACHMENT_POST, BLOCKS_POST
from tests.conftest import PASSWORD, RunningHub, embedded_settings


async def _hook(hub: RunningHub, channel: str = "A/general", name: str = "Gauges",
                user: str = "alice") -> dict[str, Any]:
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/webhooks", user,
                      json={"name": name, "channel": hub.ch(channel)})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _stored(hub: RunningHub, channel: str = "A/general") -> list[Any]:
    return await hub.hub.engine.store.read_messages(ChannelId(hub.ch(channel)), after_seq=0,
                                                    limit=100)


async def test_a_slack_script_posts_unchanged_and_members_see_it_from_the_webhook(
        running_hub: RunningHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hub = running_hub
    hook = await _hook(hub)
    secret = hook["secret"]
    assert hook["url"].endswith(f"/hooks/{hub.ops['A'].id}/{hook['id']}/{secret}")
    assert len(secret) >= 43 and "secret_sha256" not in hook
    olga = await hub.client("olga")
    await olga.subscribe(hub.ch("A/general"))
    assert hub.http is not None
    r = await hub.http.post(hook["path"], json=ATTACHMENT_POST)
    assert (r.status_code, r.text, r.headers["content-type"]) == \
        (200, "ok", "text/plain; charset=utf-8")
    [seen] = await olga.messages(1)
    assert seen["sender"] == f"hook:{hook['id']}" and seen["agency"] == "WEBHOOK"
    assert seen["sender_name"] == "ci-bot via Gauges"  # says who it is, never a member
    assert seen["text"].startswith("Deploy of build 42 (https://ci.example.org/build/42)")
    assert "▌ Station: Kerns bridge" in seen["text"]

    # The other ways scripts send: a form field, multipart (curl -F), blocks.
    form = "payload=" + quote(json.dumps({"text": "from a form", "username": "Gauges"}))
    r = await hub.http.post(hook["path"], content=form,
                            headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    r = await hub.http.post(hook["path"], files={"payload": (None, '{"text": "from curl -F"}')})
    assert r.status_code == 200, r.text
    r = await hub.http.post(hook["path"], json=BLOCKS_POST)
    assert r.status_code == 200, r.text
    got = await olga.messages(3)
    assert [m["text"] for m in got[:2]] == ["from a form", "from curl -F"]
    assert got[0]["sender_name"] == "Gauges"  # naming itself changes nothing
    assert got[2]["text"].startswith("Shelter status\n*School 4* is @here full")

    # Listing never shows the secret; the secret is in no log and no audit record.
    listed = (await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/webhooks",
                            "alice")).json()["webhooks"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert secret not in json.dumps(listed) and "secret_sha256" not in json.dumps(listed)
    audit = [a.as_dict() async for a in hub.hub.engine.store.iter_audit()]
    assert any(a["action"] == "webhook.create" for a in audit)
    assert secret not in json.dumps(audit)
    events = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/events", "olga")
    assert "secret_sha256" not in events.text and hook["channel_id"] not in events.text
    hub_lines = [r.getMessage() for r in caplog.records  # the test's own HTTP client aside
                 if not r.name.startswith(("httpx", "httpcore", "websockets.client"))]
    assert hub_lines and not [line for line in hub_lines if secret in line]
    assert any(f"/hooks/{hub.ops['A'].id}/{hook['id']}/***" in line for line in hub_lines)


async def test_a_retry_with_the_same_idempotency_key_is_stored_once(
        running_hub: RunningHub) -> None:
    hub = running_hub
    hook = await _hook(hub)
    assert hub.http is not None
    for _ in range(3):
        r = await hub.http.post(hook["path"], json={"text": "gauge 7 at 4.2 m"},
                                headers={"Idempotency-Key": "reading-7-0001"})
        assert r.status_code == 200
    r = await hub.http.post(hook["path"], json={"text": "gauge 7 at 4.3 m"},
                            headers={"Idempotency-Key": "reading-7-0002"})
    assert r.status_code == 200
    assert [chat_body(m).text for m in await _stored(hub)] == ["gauge 7 at 4.2 m",
                                                               "gauge 7 at 4.3 m"]
    long = "\n".join(f"reading {i:05d}" for i in range(600))  # 8,399 chars: three messages
    for _ in range(2):
        r = await hub.http.post(hook["path"], json={"text": long},
                                headers={"Idempotency-Key": "long-one"})
        assert r.status_code == 200
    stored = await _stored(hub)
    assert len(stored) == 5 and "\n".join(chat_body(m).text for m in stored[2:]) == long


async def test_only_a_coordinator_who_sees_the_channel_makes_or_revokes_a_webhook(
        running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    url = f"/api/operations/{op}/webhooks"
    body = {"name": "x", "channel": hub.ch("A/general")}
    assert (await hub.api("POST", url, "bruno", json=body)).status_code == 403  # a member
    assert (await hub.api("POST", url, "xavier", json=body)).status_code == 404  # elsewhere
    assert (await hub.api("GET", url, "olga")).status_code == 403
    other_op = await hub.api("POST", f"/api/operations/{hub.ops['B'].id}/webhooks", "alice",
                             json=body)
    assert other_op.status_code == 404  # alice is not in B
    for bad in ({"name": "", "channel": hub.ch("A/general")}, {"name": "x"},
                {"name": "x" * 65, "channel": hub.ch("A/general")},
                {"name": "x", "channel": hub.ch("B/general")}):
        r = await hub.api("POST", url, "alice", json=bad)
        assert r.status_code in (400, 404), (bad, r.text)
    # An ARMY coordinator does not see the POLICE channel, nor its webhooks.
    root = await hub.hub.engine.store.get_user_by_name("root")
    assert root is not None
    await hub.services.channels.set_member(Principal(root, "t", "session", None, None), op,
                                           "bruno", "coordinator", "t")
    police = {"name": "p", "channel": hub.ch("A/police")}
    assert (await hub.api("POST", url, "bruno", json=police)).status_code == 404
    hook = await _hook(hub, "A/police", "Police feed")
    assert (await hub.api("GET", url, "bruno")).json()["webhooks"] == []
    assert (await hub.api("DELETE", f"{url}/{hook['id']}", "bruno")).status_code == 404
    r = await hub.api("DELETE", f"{url}/{hook['id']}", "alice")
    assert r.status_code == 200 and r.json()["revoked_by"] == "alice"
    assert hub.http is not None
    assert (await hub.http.post(hook["path"], json={"text": "x"})).status_code == 404
    assert await _stored(hub, "A/police") == []


async def test_wrong_secrets_unknown_hooks_and_hostile_bodies_store_nothing(
        running_hub: RunningHub) -> None:
    hub = running_hub
    hook = await _hook(hub)
    assert hub.http is not None
    op, hook_id, secret = hook["path"].split("/")[2:]
    wrong = ("B" if secret[0] == "A" else "A") + secret[1:]
    refused = [f"/hooks/{op}/{hook_id}/{wrong}", f"/hooks/{op}/hook_missing/{secret}",
               f"/hooks/{hub.ops['B'].id}/{hook_id}/{secret}", f"/hooks/op_x/{hook_id}/{secret}"]
    answers = {(r.status_code, r.content) for r in
               [await hub.http.post(p, json={"text": "x"}) for p in refused]}
    assert len(answers) == 1 and next(iter(answers))[0] == 404  # all alike
    assert (await hub.http.get(hook["path"])).status_code in (404, 405)
    for content, ctype, status in [
            (b"{not json", "application/json", 400),
            (b'{"text": NaN}', "application/json", 400),
            (b'{"text": "\\ud800"}', "application/json", 400),
            (b"[" * 10000, "application/json", 400),
            (b'{"text": "' + b"x" * 70_000 + b'"}', "application/json", 413),
            (b"<alert/>", "application/xml", 400),
            (b'{"attachments": [{"fields": [{"value": {}}]}]}', "application/json", 400)]:
        r = await hub.http.post(hook["path"], content=content,
                                headers={"content-type": ctype})
        assert r.status_code == status, (content[:30], r.text)
        assert r.json()["error"]["message"]
    r = await hub.http.post(hook["path"], files={"payload": ("a.json", b'{"text": "x"}')})
    assert r.status_code == 400  # files are refused
    r = await hub.http.post(hook["path"], json={"text": "x"},
                            headers={"Idempotency-Key": "k" * 201})
    assert r.status_code == 400
    assert await _stored(hub) == []
    audit = [a.as_dict() async for a in hub.hub.engine.store.iter_audit()]
    refusals = [a for a in audit if a["action"] == "webhook.refused"]
    assert {a["outcome"] for a in refusals} == {"bad_secret", "unknown"}
    assert secret not in json.dumps(audit)


async def test_each_webhook_has_its_own_rate_limit(start_hub: Any, tmp_path: Any) -> None:
    hub = await start_hub(embedded_settings(tmp_path).replace(webhook_post_rate=0.01,
                                                              webhook_post_burst=2))
    first, second = await _hook(hub, name="one"), await _hook(hub, name="two")
    assert hub.http is not None
    codes = [(await hub.http.post(first["path"], json={"text": f"{i}"})).status_code
             for i in range(3)]
    assert codes == [200, 200, 429]
    r = await hub.http.post(first["path"], json={"text": "again"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    assert (await hub.http.post(second["path"], json={"text": "other"})).status_code == 200
    assert [chat_body(m).text for m in await _stored(hub)] == ["0", "1", "other"]


async def test_a_closed_operation_takes_no_posts(running_hub: RunningHub) -> None:
    hub = running_hub
    hook = await _hook(hub)
    r = await hub.api("PATCH", f"/api/operations/{hub.ops['A'].id}", "root",
                      json={"status": "closed"})
    assert r.status_code == 200
    assert hub.http is not None
    r = await hub.http.post(hook["path"], json={"text": "late"})
    assert r.status_code == 403 and await _stored(hub) == []


async def test_a_webhook_stops_when_its_creator_leaves_and_resumes_when_they_return(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 13: an incoming webhook posts for its creator, so it stops
    (404, as if revoked) while they are not a coordinator of the operation."""
    hub = running_hub
    hook = await _hook(hub)
    assert hub.http is not None
    assert (await hub.http.post(hook["path"], json={"text": "one"})).status_code == 200
    op = hub.ops["A"].id
    r = await hub.api("DELETE", f"/api/operations/{op}/members/alice", "root")
    assert r.status_code == 204, r.text
    refused = await hub.http.post(hook["path"], json={"text": "while alice is away"})
    assert refused.status_code == 404
    r = await hub.api("PUT", f"/api/operations/{op}/members/alice", "root",
                      json={"role": "member"})  # back, but no longer a coordinator
    assert r.status_code in (200, 201, 204), r.text
    assert (await hub.http.post(hook["path"], json={"text": "x"})).status_code == 404
    r = await hub.api("PUT", f"/api/operations/{op}/members/alice", "root",
                      json={"role": "coordinator"})
    assert (await hub.http.post(hook["path"], json={"text": "two"})).status_code == 200
    texts = [chat_body(m).text for m in await _stored(hub)]
    assert "one" in texts and "two" in texts
    assert "while alice is away" not in texts and "x" not in texts


async def test_a_long_post_counts_each_message_it_becomes(start_hub: Any, tmp_path: Any) -> None:
    """Issue 24, finding 14: a post split into several messages spends one token of the
    webhook's rate limit per message, not one per request."""
    hub = await start_hub(embedded_settings(tmp_path).replace(webhook_post_rate=0.01,
                                                              webhook_post_burst=10))
    hook = await _hook(hub)
    assert hub.http is not None
    long = "word " * (hub.settings.max_text_chars * 4 // 5 - 10)  # four messages' worth
    codes = [(await hub.http.post(hook["path"], json={"text": long})).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    assert len(await _stored(hub)) == 8


async def test_a_flood_of_refused_webhook_posts_writes_a_bounded_audit(
        start_hub: Any, hub_settings: Any) -> None:
    """Issue 24, finding 14: unauthenticated posts to /hooks are audited up to the
    per-address limit, then once as throttled; the right secret still posts, and the
    flood locks nobody out of logging in."""
    hub = await start_hub(hub_settings.replace(login_failures_per_address=3))
    hook = await _hook(hub)
    assert hub.http is not None
    op, hook_id, secret = hook["path"].split("/")[2:]
    wrong = ("B" if secret[0] == "A" else "A") + secret[1:]
    for _ in range(25):
        r = await hub.http.post(f"/hooks/{op}/{hook_id}/{wrong}", json={"text": "x"})
        assert r.status_code == 404
    audit = [a.as_dict() async for a in hub.hub.engine.store.iter_audit()]
    assert [a["outcome"] for a in audit if a["action"] == "webhook.refused"] == \
        ["bad_secret"] * 3 + ["throttled"]
    r = await hub.http.post(hook["path"], json={"text": "still posts"})
    assert r.status_code in (200, 201), r.text
    r = await hub.http.post("/api/auth/login", json={"username": "alice",
                                                     "password": PASSWORD})
    assert r.status_code == 200, r.text
