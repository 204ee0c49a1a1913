"""Redacting a message through a real hub (both engines): its text and files gone for
every reader, live and on every later read, its files' bytes deleted unless another
message still carries them, the act audited; only its sender or a coordinator may."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.conftest import RunningHub
from tests.photos import field_photo
from tests.web.pages import upload


async def _photo_message(hub: RunningHub, user: str, data: bytes, cmid: str) -> dict[str, Any]:
    ch = hub.ch("A/general")
    upload_id, sent = await upload(hub, user, data, name=f"{cmid}.jpg", channel=ch)
    assert sent.status_code == 204, sent.text
    r = await hub.api("POST", f"/api/channels/{ch}/messages", user, json={
        "text": f"photo {cmid}", "client_msg_id": cmid, "attach": [upload_id]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _kept(hub: RunningHub) -> set[str]:
    return {p.name for p in (hub.settings.blob_path / "sha256").rglob("*") if p.is_file()}


async def test_a_redacted_message_s_text_and_files_are_gone_for_every_reader(
        running_hub: RunningHub) -> None:
    hub = running_hub
    ch = hub.ch("A/general")
    base = f"/api/channels/{ch}/messages"
    bruno = await hub.client("bruno")
    await bruno.subscribe(ch)
    wrong = await _photo_message(hub, "alice", field_photo(1, 480, 360), "wrong")
    shared = field_photo(2, 480, 360)
    kept_elsewhere = await _photo_message(hub, "alice", shared, "first")
    carried = await _photo_message(hub, "bruno", shared, "second")  # the same bytes again
    await bruno.messages(3)
    own = {wrong["files"][0][k] for k in ("sha256", "preview", "thumbnail")}
    assert own <= _kept(hub)

    for user, status in (("bruno", 403), ("olga", 403), ("xavier", 404)):
        r = await hub.api("POST", f"{base}/{wrong['seq']}/redact", user,
                          json={"reason": "wrong channel"})
        missing = await hub.api("POST", f"{base}/999/redact", user, json={"reason": "x"})
        assert r.status_code == status, (user, r.text)
        if status == 404:  # not a member: exactly like a message that does not exist
            assert (r.status_code, r.json()) == (missing.status_code, missing.json())
    blank = await hub.api("POST", f"{base}/{wrong['seq']}/redact", "alice",
                          json={"reason": "  "})
    assert blank.status_code == 400 and "reason" in blank.json()["error"]["message"]

    r = await hub.api("POST", f"{base}/{wrong['seq']}/redact", "alice",
                      json={"reason": "posted to the wrong channel"})
    assert r.status_code == 200, r.text
    assert r.json()["redacted_by"] == "alice" and r.json()["files_deleted"] == len(own)
    live = await bruno.recv_type("redacted")
    assert (live["channel"], live["seq"], live["by"]) == (ch, wrong["seq"], "alice")
    assert not own & _kept(hub)  # the bytes are gone

    listed = {m["seq"]: m for m in (await hub.api("GET", base, "olga")).json()["messages"]}
    gone = listed[wrong["seq"]]
    assert gone["text"] == "[redacted]" and "files" not in gone
    assert gone["redacted"]["by"] == "alice" and "photo wrong" not in str(gone)
    assert (gone["sender"], gone["ts"]) == (wrong["sender"], wrong["ts"])  # its place kept
    for variant in ("", "?variant=thumbnail"):
        served = await hub.api("GET", f"{base}/{wrong['seq']}/files/0{variant}", "bruno")
        missing = await hub.api("GET", f"{base}/999/files/0{variant}", "bruno")
        assert (served.status_code, served.json()) == (missing.status_code, missing.json())
    again = await hub.api("POST", f"{base}/{wrong['seq']}/redact", "alice",
                          json={"reason": "again"})
    assert again.status_code == 200 and again.json()["files_deleted"] == 0
    assert again.json()["redacted_at"] == r.json()["redacted_at"]

    # A coordinator redacts a message whose photo another message still carries: that
    # one keeps it.
    r = await hub.api("POST", f"{base}/{kept_elsewhere['seq']}/redact", "alice",
                      json={"reason": "duplicate"})
    assert r.status_code == 200 and r.json()["files_deleted"] == 0
    still = await hub.api("GET", f"{base}/{carried['seq']}/files/0", "alice")
    assert still.status_code == 200
    assert hashlib.sha256(still.content).hexdigest() == carried["files"][0]["sha256"]

    audited = [a async for a in hub.hub.engine.store.iter_audit()
               if a.action == "message.redact"]
    assert [(a.actor, a.target, a.details["reason"]) for a in audited] == [
        ("alice", f"{ch}:{wrong['seq']}", "posted to the wrong channel"),
        ("alice", f"{ch}:{kept_elsewhere['seq']}", "duplicate")]
    assert set(audited[0].details["files"]) == own


async def test_notices_and_acknowledgements_are_not_redacted(running_hub: RunningHub) -> None:
    hub = running_hub
    ch = hub.ch("A/general")
    urgent = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
        "text": "Evacuate now", "client_msg_id": "u1", "priority": "urgent"})
    ack = await hub.api("POST", f"/api/channels/{ch}/messages/{urgent.json()['seq']}/ack",
                        "bruno")
    assert ack.status_code in (200, 201), ack.text
    r = await hub.api("POST", f"/api/channels/{ch}/messages/{ack.json()['seq']}/redact",
                      "bruno", json={"reason": "mistake"})
    assert r.status_code == 400 and "acknowledgements" in r.json()["error"]["message"]


async def test_who_never_had_the_message_hears_nothing_of_its_redaction(
        running_hub: RunningHub) -> None:
    hub = running_hub
    ch = hub.ch("A/general")
    bruno = await hub.client("bruno")  # ARMY: not among those the message is released to
    await bruno.subscribe(ch)
    police = {"level": "UNCLASSIFIED", "categories": {"REL TO": ["POLICE"]}}
    hidden = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
        "text": "police only", "client_msg_id": "p1", "label": police})
    assert hidden.status_code == 201, hidden.text
    shown = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
        "text": "for everyone", "client_msg_id": "e1"})
    assert [m["text"] for m in await bruno.messages(1)] == ["for everyone"]
    for seq in (hidden.json()["seq"], shown.json()["seq"]):
        r = await hub.api("POST", f"/api/channels/{ch}/messages/{seq}/redact", "alice",
                          json={"reason": "test"})
        assert r.status_code == 200, r.text
    first = await bruno.recv_type("redacted")
    assert first["seq"] == shown.json()["seq"]  # the one before it was never his
