"""Alerts bots push read in each person's language through a real hub (both engines) and
a real Apertium APy: an alert says the language its summary is written in (or it is
detected), its texts are translated once (not again on every repeat), and the list, the
live board and its snapshot, CAP and the Slack-style webhook show them in the reader's
language, only to those who may read the alert, and never for an alert above the
operation's translation ceiling."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from alerting.interop.cap_in import NS, schema
from hub.config import Settings
from hub.sealed import RECORDS
from tests.apertium import Apy, apy
from tests.conftest import WsClient
from tests.functional.test_case_translation_functional import (
    _board,
    _nothing_translated_before_a_pong,
)
from tests.functional.test_outgoing_functional import LOOPBACK, Receiver, receiver
from tests.functional.test_translation_functional import Counted, _hub, frame_where

__all__ = ["receiver"]  # the webhook receiver fixture


@pytest.fixture(scope="module")
def engine() -> Iterator[Apy]:
    yield from apy()


async def _alert_translated(client: WsClient, alert_id: str,
                            timeout: float = 60.0) -> dict[str, Any]:
    return await frame_where(client, lambda f: f["type"] == "translated"
                             and f.get("alert") == alert_id, timeout)


async def test_a_bot_s_alert_reads_in_each_reader_s_language_everywhere_it_is_shown(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    op = hub.ops["A"].id
    counted = Counted(hub)
    alice = await hub.client("alice", lang="en")
    bruno = await hub.client("bruno", lang="es")
    for c in (alice, bruno):
        assert (await _board(c, op))["alert_translations"] == {}
    pushed = {"summary": "El puente del norte está cerrado", "details": "Envíen los botes",
              "lang": "es", "severity": "critical", "fingerprint": "bridge-north"}
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "bruno", json=pushed)
    assert r.status_code == 201 and r.json()["lang"] == "es", r.text
    alert_id = r.json()["id"]

    # The English reader's board gets the summary in English, live; the Spanish writer
    # gets nothing (checked by ping/pong ordering).
    frame = await _alert_translated(alice, alert_id)
    tr = frame["translation"]
    assert (frame["channel"], frame["lang"]) == (f"ops:{op}", "en")
    assert "bridge" in tr["summary"].lower() and "boat" in tr["details"].lower()
    assert tr["original"] == [pushed["summary"], pushed["details"]]
    assert (tr["source"], tr["detected"], tr["engine"], tr["route"]) == \
        ("es", False, "apertium", ["es", "en"])
    assert await _nothing_translated_before_a_pong(bruno) == []
    assert len(counted.asked) == 2  # summary and details, once

    # A board opened later, the list with ?lang=: the translation beside the original.
    olga = await hub.client("olga", lang="en")
    snapshot = await _board(olga, op)
    assert snapshot["alert_translations"][alert_id]["summary"] == tr["summary"]
    listed = await hub.api("GET", f"/api/operations/{op}/alerts?lang=en", "olga")
    [row] = [a for a in listed.json()["alerts"] if a["id"] == alert_id]
    assert row["summary"] == pushed["summary"] and row["translation"]["summary"] == tr["summary"]
    for plain in ("", "?lang=es"):
        r = await hub.api("GET", f"/api/operations/{op}/alerts{plain}", "olga")
        assert all("translation" not in a for a in r.json()["alerts"]), plain
    bad = await hub.api("GET", f"/api/operations/{op}/alerts?lang=english", "olga")
    assert bad.status_code == 400 and "lang" in bad.text

    # CAP: one <info> per language, the alert's own first, valid against OASIS's schema.
    cap = await hub.api("GET", f"/api/operations/{op}/cap/alerts/{alert_id}", "olga")
    assert cap.status_code == 200, cap.text
    root = fromstring(cap.content, forbid_dtd=True)
    assert list(schema().iter_errors(root)) == []
    q = f"{{{NS}}}"
    assert [(i.findtext(f"{q}language"), i.findtext(f"{q}event"), i.findtext(f"{q}headline"))
            for i in root.findall(f"{q}info")] == [
        ("es", "Alerta", pushed["summary"]), ("en", "Alert", tr["summary"])]

    # The bot sends it again: a repeat, no new engine call. A new summary: translated.
    again = await hub.api("POST", f"/api/operations/{op}/alerts", "bruno", json=pushed)
    assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
    await hub.services.alert_translations.settled()
    assert len(counted.asked) == 2
    changed = {**pushed, "summary": "El puente del sur está cerrado"}
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "bruno", json=changed)
    assert r.status_code == 200 and r.json()["summary"] == changed["summary"], r.text
    later = await frame_where(alice, lambda f: f["type"] == "translated"
                              and f.get("alert") == alert_id
                              and f["translation"]["original"][0] == changed["summary"], 60)
    assert "south" in later["translation"]["summary"].lower()
    assert len(counted.asked) == 3  # the new summary only: the details are as they were
    listed = await hub.api("GET", f"/api/operations/{op}/alerts?lang=en", "olga")
    [row] = [a for a in listed.json()["alerts"] if a["id"] == alert_id]
    assert row["translation"]["summary"] == later["translation"]["summary"]


async def test_an_alert_is_detected_a_hidden_one_is_not_told_and_one_above_the_ceiling_stays(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url, ceiling="RESTRICTED")
    op = hub.ops["A"].id
    counted = Counted(hub)
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"label": "CONFIDENTIAL"})
    assert r.status_code == 200, r.text
    await hub.clear(alice="CONFIDENTIAL")
    alice = await hub.client("alice", lang="en")
    olga = await hub.client("olga", lang="en")  # cleared for nothing above UNCLASSIFIED
    for c in (alice, olga):
        await _board(c, op)
    detected = await hub.api("POST", f"/api/operations/{op}/alerts", "alice", json={
        "summary": "El convoy sale al amanecer desde el puerto", "severity": "major",
        "label": "UNCLASSIFIED"})
    hidden = await hub.api("POST", f"/api/operations/{op}/alerts", "alice", json={
        "summary": "La patrulla cruza el río esta noche", "severity": "major",
        "label": "RESTRICTED", "lang": "es"})
    above = await hub.api("POST", f"/api/operations/{op}/alerts", "alice", json={
        "summary": "Los rehenes están en el almacén", "severity": "major",
        "label": "CONFIDENTIAL", "lang": "es"})
    for r in (detected, hidden, above):
        assert r.status_code == 201, r.text
    assert "lang" not in detected.json()

    said = await _alert_translated(alice, detected.json()["id"])
    assert (said["translation"]["source"], said["translation"]["detected"]) == ("es", True)
    assert "patrol" in (await _alert_translated(alice, hidden.json()["id"])
                        )["translation"]["summary"].lower()
    await hub.services.alert_translations.settled()
    # Nothing of the CONFIDENTIAL alert ever went to the engine.
    assert all("rehenes" not in text for text, _, _ in counted.asked), counted.asked
    # Olga hears of the alert she may read and of nothing she may not, live or later.
    await _alert_translated(olga, detected.json()["id"])
    told = await _nothing_translated_before_a_pong(olga)
    assert all(f.get("alert") != hidden.json()["id"] for f in told), told
    snapshot = await _board(await hub.client("olga", lang="en"), op)
    assert set(snapshot["alert_translations"]) == {detected.json()["id"]}
    listed = await hub.api("GET", f"/api/operations/{op}/alerts?lang=en", "olga")
    assert [a["id"] for a in listed.json()["alerts"]] == [detected.json()["id"]]
    mine = await hub.api("GET", f"/api/operations/{op}/alerts?lang=en", "alice")
    shown = {a["id"]: a.get("translation") for a in mine.json()["alerts"]}
    assert shown[hidden.json()["id"]] is not None and shown[above.json()["id"]] is None


async def test_a_spanish_webhook_and_the_signed_record_carry_the_alert_s_translation(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy,
        receiver: Receiver) -> None:
    hub = await _hub(start_hub, hub_settings.replace(webhook_allow_networks=LOOPBACK),
                     engine.url)
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/outgoing-webhooks", "alice", json={
        "url": receiver.url, "name": "equipo", "format": "slack", "lang": "es",
        "events": ["alert.acknowledged"]})
    assert r.status_code == 201, r.text
    pushed = await hub.api("POST", f"/api/operations/{op}/alerts", "alice", json={
        "summary": "The bridge is closed", "lang": "en", "severity": "major"})
    assert pushed.status_code == 201, pushed.text
    alert_id = pushed.json()["id"]
    await hub.services.alert_translations.settled()
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert_id}/ack", "bruno")
    assert r.status_code == 200, r.text
    await receiver.wait_for(1)
    said = json.loads(receiver.got[0][1])
    assert said["text"].endswith(": El puente está cerrado"), said
    assert "GRAVE" in said["text"]  # the hub's own words in Spanish too

    export = await hub.api("GET", f"/api/operations/{op}/export", "alice")
    body = zipfile.ZipFile(io.BytesIO(export.content)).read(RECORDS).decode()
    [kept] = [json.loads(line) for line in body.splitlines()
              if '"type":"alert_translation"' in line]
    assert (kept["alert_id"], kept["lang"], kept["engine"], kept["source"]) == \
        (alert_id, "es", "apertium", "en")
    assert kept["original"][0] == "The bridge is closed" and kept["summary"] == \
        "El puente está cerrado"
