"""Cases read in each person's language through a real hub (both engines) and a real
Apertium APy: a case says the language it is written in (or it is detected), its
translations are kept once per version, and every screen that shows its title — the
case list, the live board and its snapshot — shows it in the reader's language, only to
those who may read the case."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hub.config import Settings
from hub.sealed import RECORDS
from tests.apertium import Apy, apy
from tests.conftest import WsClient
from tests.functional.test_translation_functional import Counted, _hub, frame_where


@pytest.fixture(scope="module")
def engine() -> Iterator[Apy]:
    yield from apy()


async def _board(client: WsClient, op: str) -> dict[str, Any]:
    await client.send({"type": "subscribe", "channel": f"ops:{op}", "board": True, "ref": "b"})
    await client.recv_type("subscribed", timeout=30)
    return await client.recv_type("board", timeout=30)


async def _case_translated(client: WsClient, case_id: str, version: int,
                           timeout: float = 60.0) -> dict[str, Any]:
    """The ``translated`` frame of version ``version`` of a case."""
    return await frame_where(client, lambda f: f["type"] == "translated" and f.get("case")
                             == case_id and f["version"] == version, timeout)


async def _nothing_translated_before_a_pong(client: WsClient) -> list[dict[str, Any]]:
    """The ``translated`` frames this client got before its ping is answered (a frame
    the node sent it earlier is ahead of the pong in its queue)."""
    await client.send({"type": "ping", "ref": "p"})
    got = []
    while True:
        frame = await client._recv_wire(30)
        if frame["type"] == "pong":
            break
        got.append(frame)
    return [f for f in [*client.pending, *got] if f["type"] == "translated"]


async def test_a_case_read_in_each_reader_s_language_on_the_board_and_in_the_list(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    op = hub.ops["A"].id
    counted = Counted(hub)
    alice = await hub.client("alice", lang="en")
    bruno = await hub.client("bruno", lang="es")
    for c in (alice, bruno):
        assert (await _board(c, op))["translations"] == {}
    made = await hub.api("POST", f"/api/operations/{op}/cases", "bruno", json={
        "title": "El puente del norte está cerrado", "description": "Envíen los botes",
        "lang": "es", "severity": "major"})
    assert made.status_code == 201 and made.json()["lang"] == "es", made.text
    case_id = made.json()["id"]

    # The English reader's board gets the title in English, live, for this version.
    frame = await _case_translated(alice, case_id, 1)
    tr = frame["translation"]
    assert (frame["channel"], frame["lang"]) == (f"ops:{op}", "en")
    assert "bridge" in tr["title"].lower() and "boat" in tr["description"].lower()
    assert (tr["source"], tr["detected"], tr["engine"], tr["route"]) == \
        ("es", False, "apertium", ["es", "en"])
    assert "original" not in tr
    # Its writer reads Spanish: nothing to translate for them, nothing sent.
    assert await _nothing_translated_before_a_pong(bruno) == []

    # A board opened later has it in its snapshot; the list and the case have it too.
    olga = await hub.client("olga", lang="en")
    snapshot = await _board(olga, op)
    assert snapshot["translations"][case_id]["title"] == tr["title"]
    assert snapshot["translations"][case_id]["version"] == 1
    listed = await hub.api("GET", f"/api/operations/{op}/cases?lang=en", "olga")
    [row] = [c for c in listed.json()["cases"] if c["id"] == case_id]
    assert row["title"] == "El puente del norte está cerrado"  # the original, kept
    assert row["translation"]["title"] == tr["title"]
    for plain in ("", "?lang=es"):
        r = await hub.api("GET", f"/api/operations/{op}/cases{plain}", "olga")
        assert all("translation" not in c for c in r.json()["cases"]), plain
    bad = await hub.api("GET", f"/api/operations/{op}/cases?lang=english", "olga")
    assert bad.status_code == 400 and "lang" in bad.text
    asked = len(counted.asked)
    assert asked == 2  # title and description, once

    # A change that leaves the texts as they were: the new version reads in English at
    # once, without asking the engine again.
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{case_id}", "bruno",
                      json={"version": 1, "status": "in_progress"})
    assert r.status_code == 200, r.text
    again = await _case_translated(alice, case_id, 2)
    assert again["translation"]["title"] == tr["title"] and len(counted.asked) == asked
    # New texts: translated again.
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{case_id}", "bruno",
                      json={"version": 2, "title": "El puente del sur está cerrado"})
    assert r.status_code == 200, r.text
    third = await _case_translated(alice, case_id, 3)
    assert "south" in third["translation"]["title"].lower()
    assert len(counted.asked) == asked + 2


async def test_a_case_that_does_not_say_its_language_is_detected_and_a_hidden_one_is_not_told(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url, default="en", ceiling="RESTRICTED")
    op = hub.ops["A"].id
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"label": "RESTRICTED"})
    assert r.status_code == 200, r.text
    await hub.clear(alice="RESTRICTED")
    alice = await hub.client("alice", lang="en")
    olga = await hub.client("olga", lang="en")  # not cleared for RESTRICTED
    for c in (alice, olga):
        await _board(c, op)
    hidden = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "El convoy sale al amanecer", "severity": "major", "label": "RESTRICTED",
        "lang": "es"})
    assert hidden.status_code == 201, hidden.text
    detected = await hub.api("POST", f"/api/operations/{op}/cases", "bruno", json={
        "title": "El puente del norte está cerrado desde esta mañana", "severity": "major",
        "label": "UNCLASSIFIED"})
    assert detected.status_code == 201 and "lang" not in detected.json(), detected.text

    said = await _case_translated(alice, detected.json()["id"], 1)
    assert (said["translation"]["source"], said["translation"]["detected"]) == ("es", True)
    secret = await _case_translated(alice, hidden.json()["id"], 1)
    assert "convoy" in secret["translation"]["title"].lower()
    # Olga hears of the case she may read and of nothing she may not, live or later.
    await _case_translated(olga, detected.json()["id"], 1)
    told = await _nothing_translated_before_a_pong(olga)
    assert all(f.get("case") != hidden.json()["id"] for f in told), told
    snapshot = await _board(await hub.client("olga", lang="en"), op)
    assert set(snapshot["translations"]) == {detected.json()["id"]}
    listed = await hub.api("GET", f"/api/operations/{op}/cases?lang=en", "olga")
    assert [c["id"] for c in listed.json()["cases"]] == [detected.json()["id"]]
    # CAP says the detected language first, then the translation.
    cap = await hub.api("GET", f"/api/operations/{op}/cap/cases/{detected.json()['id']}",
                        "olga")
    assert cap.status_code == 200, cap.text
    assert cap.text.index("<language>es</language>") < cap.text.index("<language>en</language>")


async def test_a_translator_corrects_a_case_s_title_for_every_reader_of_that_language(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url, translators=["olga"])
    op = hub.ops["A"].id
    counted = Counted(hub)
    bruno = await hub.client("bruno", lang="es")
    await _board(bruno, op)
    made = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Evacuate the north bank now", "severity": "major", "lang": "en"})
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    machine = (await _case_translated(bruno, case_id, 1))["translation"]["title"]
    assert "banco" in machine
    path = f"/api/operations/{op}/cases/{case_id}/translations/es"
    corrected = {"title": "Evacuen ya la orilla norte"}
    refused = await hub.api("PUT", path, "bruno", json=corrected)
    assert refused.status_code == 403  # a member, not a translator
    hidden = await hub.api("PUT", path, "xavier", json=corrected)
    missing = await hub.api("PUT", path.replace(case_id, "case_missing"), "xavier",
                            json=corrected)
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    for lang in ("en", "fr"):  # the case's own; one the operation does not read in
        wrong = await hub.api("PUT", path.replace("/es", f"/{lang}"), "olga", json=corrected)
        assert wrong.status_code == 400 and "'lang'" in wrong.json()["error"]["message"]
    blank = await hub.api("PUT", path, "olga", json={"title": " "})
    assert blank.status_code == 400 and "title" in blank.text
    r = await hub.api("PUT", path, "olga", json=corrected)
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["reviewed_by"], r.json()["machine"]) == \
        (corrected["title"], "olga", [machine, ""])

    # Every Spanish reader reads the correction: live, in the case, in the list.
    live = (await _case_translated(bruno, case_id, 1))["translation"]
    assert (live["title"], live["reviewed_by"]) == (corrected["title"], "olga")
    for reader in ("bruno", "alice"):
        got = await hub.api("GET", f"/api/operations/{op}/cases/{case_id}?lang=es", reader)
        assert got.json()["translation"]["title"] == corrected["title"]
        assert got.json()["title"] == "Evacuate the north bank now"  # the original kept
    # A change that leaves the texts as they were keeps the correction, with no engine call.
    asked = len(counted.asked)
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{case_id}", "alice",
                      json={"version": 1, "status": "in_progress"})
    assert r.status_code == 200, r.text
    again = (await _case_translated(bruno, case_id, 2))["translation"]
    assert (again["title"], again["reviewed_by"]) == (corrected["title"], "olga")
    assert len(counted.asked) == asked

    audited = [a async for a in hub.hub.engine.store.iter_audit()
               if a.action == "case.translation_review"]
    assert [(a.actor, a.target, a.details["lang"], a.details["machine"]) for a in audited] \
        == [("olga", case_id, "es", [machine, ""])]
    export = await hub.api("GET", f"/api/operations/{op}/export", "alice")
    body = zipfile.ZipFile(io.BytesIO(export.content)).read(RECORDS).decode()
    [kept] = [json.loads(line) for line in body.splitlines()
              if '"type":"case_translation"' in line]
    assert (kept["title"], kept["reviewed_by"], kept["machine"], kept["engine"],
            kept["version"]) == (corrected["title"], "olga", [machine, ""], "apertium", 2)
