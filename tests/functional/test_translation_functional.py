"""Messages read in each person's language through a real hub (both engines) and a real
Apertium APy: originals delivered at once, translations after as their own frames and in
history, the glossary respected, the engine asked once per message and language, never
for what the labels keep from it, and delivery untouched when the engine goes away."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import pytest

from alerting.interop.cap_in import schema
from hub.config import Settings
from hub.language.engines import TranslationEngine
from hub.sealed import RECORDS
from tests.apertium import Apy, apy
from tests.conftest import RunningHub, WsClient
from tests.functional.test_outgoing_functional import LOOPBACK, Receiver, receiver

__all__ = ["receiver"]  # the webhook receiver fixture, shared


@pytest.fixture(scope="module")
def engine() -> Iterator[Apy]:
    yield from apy()


@pytest.fixture
def own_engine() -> Iterator[Apy]:
    """An APy of this test's own, to stop and start again."""
    yield from apy()


class Counted:
    """Counts the translations the hub asks its engine for (each one a real request)."""

    def __init__(self, hub: RunningHub) -> None:
        translator = hub.hub.translator
        assert translator is not None
        self.engine: TranslationEngine = translator.engine
        self.asked: list[tuple[str, str, str]] = []
        real = self.engine.translate

        async def translate(text: str, source: str, target: str) -> str:
            self.asked.append((text, source, target))
            return await real(text, source, target)

        self.engine.translate = translate  # type: ignore[method-assign]


async def _hub(start_hub: Callable[..., Any], settings: Settings, apy_url: str,
               **policy: Any) -> RunningHub:
    hub: RunningHub = await start_hub(settings.replace(
        translation_engine=f"apertium+{apy_url}", translation_retry_seconds=0.2))
    r = await hub.api("PUT", f"/api/operations/{hub.ops['A'].id}/language-policy", "alice",
                      json={"translate": True, "languages": ["en", "es"], **policy})
    assert r.status_code == 200, r.text
    return hub


async def frame_where(client: WsClient, wanted: Callable[[dict[str, Any]], bool],
                      timeout: float = 30.0) -> dict[str, Any]:
    """The first frame ``wanted``, read or to come; other frames stay for later reads."""
    for frame in client.pending:
        if wanted(frame):
            client.pending.remove(frame)
            return frame
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client._recv_wire(max(0.1, deadline - loop.time()))
        if wanted(frame):
            return frame
        client.pending.append(frame)


async def _translated(client: WsClient, seq: int, timeout: float = 30.0) -> dict[str, Any]:
    """The ``translated`` frame of message ``seq``."""
    return await frame_where(
        client, lambda f: f["type"] == "translated" and f.get("seq") == seq, timeout)


async def _history(hub: RunningHub, user: str, lang: str) -> list[dict[str, Any]]:
    r = await hub.api("GET", f"/api/channels/{hub.ch('A/general')}/messages?lang={lang}", user)
    assert r.status_code == 200, r.text
    return r.json()["messages"]  # type: ignore[no-any-return]


async def test_each_reads_the_other_in_their_own_language_with_the_original_kept(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    ch = hub.ch("A/general")
    alice = await hub.client("alice", lang="en")
    bruno = await hub.client("bruno", lang="es")
    for c in (alice, bruno):
        await c.subscribe(ch)
    sent = await alice.publish(ch, "The bridge is closed", lang="en")
    assert sent["type"] == "ack", sent
    original = (await bruno.messages(1))[0]
    assert original["text"] == "The bridge is closed"  # at once, as written
    frame = await _translated(bruno, original["seq"])
    tr = frame["translation"]
    assert frame["lang"] == "es" and "puente" in tr["text"].lower()
    assert (tr["source"], tr["engine"], tr["route"], tr.get("pivoted", False)) == \
        ("en", "apertium", ["en", "es"], False)

    back = await bruno.publish(ch, "El puente está cerrado", lang="es")
    assert back["type"] == "ack", back
    answer = await _translated(alice, back["seq"])
    assert answer["lang"] == "en" and "bridge" in answer["translation"]["text"].lower()
    # Nobody gets a translation into a language they do not read.
    assert not [f for f in alice.pending if f["type"] == "translated" and f["lang"] != "en"]

    read = {m["seq"]: m for m in await _history(hub, "bruno", "es")}
    assert read[original["seq"]]["text"] == "The bridge is closed"  # the original, kept
    assert "puente" in read[original["seq"]]["translation"]["text"].lower()
    assert "translation" not in read[back["seq"]]  # written in Spanish: nothing to do
    plain = await hub.api("GET", f"/api/channels/{ch}/messages", "bruno")
    assert all("translation" not in m for m in plain.json()["messages"])


async def test_the_glossary_fixes_the_engine_s_bank_and_agreed_names_pass_unchanged(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    ch, op = hub.ch("A/general"), hub.ops["A"].id
    bruno = await hub.client("bruno", lang="es")
    await bruno.subscribe(ch)
    alice = await hub.client("alice", lang="en")
    first = await alice.publish(ch, "Evacuate the north bank now", lang="en")
    without = await _translated(bruno, first["seq"])
    assert "banco" in without["translation"]["text"]
    assert without["translation"].get("glossary_version", 0) == 0

    r = await hub.api("PUT", f"/api/operations/{op}/glossary", "alice", json={"terms": [
        {"forms": {"en": "bank", "es": "orilla"}, "genders": {"es": "f"}},
        {"forms": {"en": "Kerns"}, "keep": True}]})
    assert r.status_code == 200 and r.json()["version"] == 1, r.text
    second = await alice.publish(ch, "Evacuate the north bank now", lang="en")
    fixed = await _translated(bruno, second["seq"])
    assert "orilla" in fixed["translation"]["text"]
    assert "banco" not in fixed["translation"]["text"]
    assert fixed["translation"]["glossary_version"] == 1

    text = "BRAVO-2 moves 3 km north of Kerns with @bruno for case_abcdefghijkl"
    third = await alice.publish(ch, text, lang="en")
    kept = (await _translated(bruno, third["seq"]))["translation"]["text"]
    for term in ("BRAVO-2", "3 km", "Kerns", "@bruno", "case_abcdefghijkl"):
        assert term in kept, (term, kept)


async def test_french_to_spanish_and_a_pivot_to_english_only_where_allowed(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url, languages=["fr", "es", "en"])
    ch = hub.ch("A/general")
    counted = Counted(hub)
    alice = await hub.client("alice", lang="es")
    await alice.subscribe(ch)
    sent = await alice.publish(ch, "Le pont est fermé", lang="fr")
    spanish = await _translated(alice, sent["seq"])
    assert "puente" in spanish["translation"]["text"].lower()
    await hub.services.translations.settled()
    # No English without a pivot: French to English is not a pair of this engine.
    assert "translation" not in (await _history(hub, "alice", "en"))[-1]
    await hub.services.translations.settled()
    assert {(s, t) for _, s, t in counted.asked} == {("fr", "es")}

    r = await hub.api("PUT", f"/api/operations/{hub.ops['A'].id}/language-policy", "alice",
                      json={"translate": True, "languages": ["fr", "es", "en"], "pivot": True})
    assert r.status_code == 200, r.text
    await _history(hub, "alice", "en")  # read: the missing English is made now
    await hub.services.translations.settled()
    english = (await _history(hub, "alice", "en"))[-1]["translation"]
    assert english["route"] == ["fr", "es", "en"] and english["pivoted"] is True
    assert "bridge" in english["text"].lower()


async def test_fifty_spanish_readers_cost_one_engine_call_per_message(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    ch, op = hub.ch("A/general"), hub.ops["A"].id
    r = await hub.api("PUT", f"/api/operations/{op}/language-policy", "alice",
                      json={"translate": False, "languages": ["en", "es"]})
    assert r.status_code == 200
    alice = await hub.client("alice")
    texts = ["The road is flooded", "Send two boats", "The school is open"]
    for text in texts:
        assert (await alice.publish(ch, text, lang="en"))["type"] == "ack"
    counted = Counted(hub)
    r = await hub.api("PUT", f"/api/operations/{op}/language-policy", "alice",
                      json={"translate": True, "languages": ["en", "es"]})
    readers = await asyncio.gather(*(_history(hub, "bruno", "es") for _ in range(50)))
    assert all(len(page) == 3 for page in readers)
    await hub.services.translations.settled()
    again = await asyncio.gather(*(_history(hub, "bruno", "es") for _ in range(50)))
    assert all([m["translation"]["source"] for m in page] == ["en"] * 3 for page in again)
    assert sorted(text for text, _, _ in counted.asked) == sorted(texts)  # once each


async def test_a_text_above_the_ceiling_never_reaches_the_engine(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    op = hub.ops["A"].id
    counted = Counted(hub)
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"label": "RESTRICTED"})
    assert r.status_code == 200, r.text
    made = await hub.api("POST", f"/api/operations/{op}/channels", "root",
                         json={"name": "restricted", "label": "RESTRICTED"})
    assert made.status_code == 201, made.text
    secret_ch = made.json()["id"]
    await hub.clear(alice="RESTRICTED")
    r = await hub.api("POST", f"/api/channels/{secret_ch}/messages", "alice", json={
        "text": "The convoy leaves at dawn", "client_msg_id": "r1", "lang": "en"})
    assert r.status_code == 201, r.text
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice", json={
        "text": "The convoy is late", "client_msg_id": "u1", "lang": "en"})
    assert r.status_code == 201, r.text
    read = await hub.api("GET", f"/api/channels/{secret_ch}/messages?lang=es", "alice")
    await hub.services.translations.settled()
    assert [text for text, _, _ in counted.asked] == ["The convoy is late"]
    assert "translation" not in read.json()["messages"][0]
    # Raised to RESTRICTED by a coordinator, the ceiling lets it go.
    r = await hub.api("PUT", f"/api/operations/{op}/language-policy", "alice", json={
        "translate": True, "languages": ["en", "es"], "ceiling": "RESTRICTED"})
    assert r.status_code == 200 and r.json()["ceiling"] == "RESTRICTED", r.text
    await hub.api("GET", f"/api/channels/{secret_ch}/messages?lang=es", "alice")
    await hub.services.translations.settled()
    assert [text for text, _, _ in counted.asked][-1] == "The convoy leaves at dawn"


async def test_the_engine_gone_keeps_messages_flowing_and_translations_resume_once(
        start_hub: Callable[..., Any], hub_settings: Settings, own_engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, own_engine.url)
    ch = hub.ch("A/general")
    alice = await hub.client("alice", lang="en")
    bruno = await hub.client("bruno", lang="es")
    await bruno.subscribe(ch)
    before = await alice.publish(ch, "The water is rising", lang="en")
    await _translated(bruno, before["seq"])
    own_engine.stop()
    try:
        during = [await alice.publish(ch, text, lang="en")
                  for text in ("Close the bridge", "Open the school")]
        assert all(a["type"] == "ack" for a in during)
        assert len(await bruno.messages(2)) == 2  # originals, at once
        await hub.services.translations.settled()
        ready = (await hub.http.get("/readyz")).json()
        assert ready["status"] == "ready"
        assert ready["details"]["translation"].startswith("unavailable")
    finally:
        own_engine.start()
    frames = [await _translated(bruno, a["seq"]) for a in during]
    assert [f["translation"]["source"] for f in frames] == ["en", "en"]
    ready = (await hub.http.get("/readyz")).json()
    assert ready["details"]["translation"] == "ok"
    await hub.services.translations.settled()
    read = await _history(hub, "bruno", "es")
    assert [("translation" in m) for m in read] == [True, True, True]
    repeated = [f for f in bruno.pending if f["type"] == "translated"]
    assert repeated == []  # each translation told once


async def test_a_redacted_message_s_translations_go_with_its_text(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    ch = hub.ch("A/general")
    bruno = await hub.client("bruno", lang="es")
    await bruno.subscribe(ch)
    alice = await hub.client("alice")
    sent = await alice.publish(ch, "The password is fish", lang="en")
    await _translated(bruno, sent["seq"])
    r = await hub.api("POST", f"/api/channels/{ch}/messages/{sent['seq']}/redact", "alice",
                      json={"reason": "secret"})
    assert r.status_code == 200, r.text
    [m] = await _history(hub, "bruno", "es")
    await hub.services.translations.settled()
    assert m["text"] == "[redacted]" and "translation" not in m
    notes = await hub.hub.engine.store.read_notes(ch, [sent["seq"]])
    assert set(notes[sent["seq"]].values()) == {b""}


async def test_the_policy_is_the_coordinators_and_only_with_an_engine(
        running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    path = f"/api/operations/{op}/language-policy"
    off = await hub.api("GET", path, "bruno")
    assert off.json() == {"translate": False, "languages": ["en"], "default": "en",
                          "pivot": False, "ceiling": "UNCLASSIFIED", "translators": [],
                          "engine": None, "available": False}
    assert (await hub.api("PUT", path, "bruno", json={"translate": False})).status_code == 403
    none = await hub.api("PUT", path, "alice", json={"translate": True})
    assert none.status_code == 400 and "translation engine" in none.json()["error"]["message"]
    for bad, field in (({"languages": ["en", "en"]}, "languages"),
                       ({"languages": ["english"]}, "languages"),
                       ({"ceiling": "TOP"}, "ceiling"), ({"shout": True}, "shout")):
        r = await hub.api("PUT", path, "alice", json=bad)
        assert r.status_code == 400 and field in r.json()["error"]["message"], (bad, r.text)
    hidden = await hub.api("GET", path, "xavier")
    missing = await hub.api("GET", "/api/operations/op_nope/language-policy", "xavier")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


async def test_the_glossary_is_edited_by_coordinators_as_json_or_csv_and_read_by_members(
        running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    path = f"/api/operations/{op}/glossary"
    empty = await hub.api("GET", path, "olga")
    assert empty.status_code == 200 and (empty.json()["version"], empty.json()["terms"]) == \
        (0, [])
    csv_text = "en,es,keep,gender:es\r\nbank,orilla,,f\r\nBRAVO-2,,yes,\r\n"
    put = await hub.api("PUT", path, "alice", content=csv_text.encode(),
                        headers={"Content-Type": "text/csv"})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1 and put.json()["terms"][1] == {
        "forms": {"en": "BRAVO-2"}, "keep": True, "genders": {}, "note": ""}
    got = await hub.api("GET", f"{path}.csv", "bruno")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert 'filename="glossary-v1.csv"' in got.headers["content-disposition"]
    assert got.text.splitlines() == ["en,es,keep,gender:es,note", "bank,orilla,,f,",
                                     "BRAVO-2,,yes,,"]
    again = await hub.api("PUT", path, "alice", json={"terms": [
        {"forms": {"en": "bank", "es": "orilla"}, "genders": {"fr": "f"}}]})
    assert again.status_code == 400 and "genders.fr" in again.json()["error"]["message"]
    refused = await hub.api("PUT", path, "bruno", json={"terms": []})
    assert refused.status_code == 403
    bad = await hub.api("PUT", path, "alice", content=b"en,es\r\nbank,\xff\r\n",
                        headers={"Content-Type": "text/csv"})
    assert bad.status_code == 400 and "UTF-8" in bad.json()["error"]["message"]
    hidden = await hub.api("GET", path, "xavier")
    missing = await hub.api("GET", "/api/operations/op_nope/glossary", "xavier")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    audited = [a async for a in hub.hub.engine.store.iter_audit()
               if a.action == "operation.glossary"]
    assert [a.details["version"] for a in audited] == [1]


async def test_a_translator_s_correction_is_what_every_reader_sees_and_the_record_keeps(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url, translators=["olga"])
    ch, op = hub.ch("A/general"), hub.ops["A"].id
    bruno = await hub.client("bruno", lang="es")
    await bruno.subscribe(ch)
    alice = await hub.client("alice", lang="en")
    sent = await alice.publish(ch, "Evacuate the north bank now", lang="en")
    machine = (await _translated(bruno, sent["seq"]))["translation"]["text"]
    assert "banco" in machine
    path = f"/api/channels/{ch}/messages/{sent['seq']}/translations/es"
    corrected = "Evacuen ya la orilla norte"
    refused = await hub.api("PUT", path, "bruno", json={"text": corrected})
    assert refused.status_code == 403  # a member, not a translator
    hidden = await hub.api("PUT", path, "xavier", json={"text": corrected})
    missing = await hub.api("PUT", f"/api/channels/{ch}/messages/999/translations/es",
                            "xavier", json={"text": corrected})
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    wrong = await hub.api("PUT", path.replace("/es", "/en"), "olga", json={"text": "x"})
    assert wrong.status_code == 400 and "'lang'" in wrong.json()["error"]["message"]
    r = await hub.api("PUT", path, "olga", json={"text": corrected})
    assert r.status_code == 200, r.text
    assert (r.json()["text"], r.json()["reviewed_by"], r.json()["machine_text"]) == \
        (corrected, "olga", machine)

    live = (await _translated(bruno, sent["seq"]))["translation"]
    assert (live["text"], live["reviewed_by"]) == (corrected, "olga")
    for reader in ("bruno", "alice", "olga"):
        [m] = await _history(hub, reader, "es")
        assert (m["text"], m["translation"]["text"]) == ("Evacuate the north bank now",
                                                         corrected)
    audited = [a async for a in hub.hub.engine.store.iter_audit()
               if a.action == "message.translation_review"]
    assert [(a.actor, a.details["lang"], a.details["machine_text"]) for a in audited] == \
        [("olga", "es", machine)]

    export = await hub.api("GET", f"/api/operations/{op}/export", "alice")
    body = zipfile.ZipFile(io.BytesIO(export.content)).read(RECORDS).decode()
    [record] = [json.loads(line) for line in body.splitlines()
                if f'"key":"message:{ch}:{sent["seq"]}"' in line]
    kept = record["translations"]["es"]
    assert record["text"] == "Evacuate the north bank now"  # the original
    assert (kept["text"], kept["reviewed_by"], kept["machine_text"], kept["engine"],
            kept["route"], kept["glossary_version"]) == \
        (corrected, "olga", machine, "apertium", ["en", "es"], 0)



async def test_a_case_s_cap_document_says_it_in_each_language_valid_cap_1_2(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url)
    op = hub.ops["A"].id
    counted = Counted(hub)
    made = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "The bridge is closed", "description": "Send the boats to the north bank",
        "severity": "critical", "category": "incident"})
    assert made.status_code == 201, made.text
    await hub.services.case_translations.settled()
    out = await hub.api("GET", f"/api/operations/{op}/cap/cases/{made.json()['id']}", "bruno")
    assert out.status_code == 200, out.text
    schema().validate(out.text)  # the OASIS schema, several <info> and all
    root = ElementTree.fromstring(out.content)
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    infos = [(i.findtext("cap:language", namespaces=ns), i.findtext("cap:event", namespaces=ns),
              i.findtext("cap:headline", namespaces=ns),
              i.findtext("cap:description", namespaces=ns),
              i.findtext("cap:severity", namespaces=ns)) for i in root.findall("cap:info", ns)]
    assert [(lang, event, severity) for lang, event, _, _, severity in infos] == \
        [("en", "Incident", "Extreme"), ("es", "Incidente", "Extreme")]
    assert infos[0][2:4] == ("The bridge is closed", "Send the boats to the north bank")
    assert "puente" in infos[1][2].lower() and "botes" in infos[1][3].lower()
    assert len(counted.asked) == 2  # title and description, once

    # A change that leaves the texts as they were costs no engine call; the CAP carries
    # the new version in both languages.
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{made.json()['id']}", "alice",
                      json={"version": 1, "status": "in_progress"})
    assert r.status_code == 200, r.text
    await hub.services.case_translations.settled()
    again = await hub.api("GET", f"/api/operations/{op}/cap/cases/{made.json()['id']}", "bruno")
    assert again.text.count("<info>") == 2 and len(counted.asked) == 2
    # The operation's signed record keeps what Spanish readers read of the case.
    export = await hub.api("GET", f"/api/operations/{op}/export", "alice")
    body = zipfile.ZipFile(io.BytesIO(export.content)).read(RECORDS).decode()
    [kept] = [json.loads(line) for line in body.splitlines()
              if '"type":"case_translation"' in line]
    assert (kept["case_id"], kept["lang"], kept["version"], kept["engine"]) == \
        (made.json()["id"], "es", 2, "apertium")
    assert kept["original"][0] == "The bridge is closed" and "puente" in kept["title"].lower()


async def test_a_text_that_does_not_say_its_language_is_detected_and_marked_so(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url, default="en")
    ch = hub.ch("A/general")
    alice = await hub.client("alice", lang="en")
    await alice.subscribe(ch)
    r = await hub.api("POST", f"/api/channels/{ch}/messages", "bruno", json={
        "text": "El puente del norte está cerrado desde esta mañana", "client_msg_id": "d1"})
    assert r.status_code == 201, r.text
    english = (await _translated(alice, r.json()["seq"]))["translation"]
    assert (english["source"], english["detected"]) == ("es", True)
    assert "bridge" in english["text"].lower()
    declared = await hub.api("POST", f"/api/channels/{ch}/messages", "bruno", json={
        "text": "The bridge is closed", "client_msg_id": "d2", "lang": "en"})
    await hub.services.translations.settled()
    [_, kept] = await _history(hub, "alice", "en")
    assert kept["seq"] == declared.json()["seq"] and "translation" not in kept


async def test_a_slack_webhook_in_spanish_gets_the_hub_s_words_and_the_case_in_spanish(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy,
        receiver: Receiver) -> None:
    hub = await _hub(start_hub, hub_settings.replace(webhook_allow_networks=LOOPBACK),
                     engine.url)
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/outgoing-webhooks", "alice", json={
        "url": receiver.url, "name": "equipo", "format": "slack", "lang": "es",
        "events": ["case.updated"]})
    assert r.status_code == 201 and r.json()["lang"] == "es", r.text
    made = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "The bridge is closed", "severity": "major"})
    await hub.services.case_translations.settled()
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{made.json()['id']}", "alice",
                      json={"version": 1, "status": "in_progress"})
    assert r.status_code == 200, r.text
    await receiver.wait_for(1)
    said = json.loads(receiver.got[0][1])
    assert said["text"] == "OP-A: GRAVE caso actualizado: El puente está cerrado", said
    fields = {f["title"]: f["value"] for f in said["attachments"][0]["fields"]}
    assert fields["Estado"] == "en curso"


async def test_a_person_s_language_is_their_profile_s_on_every_connection(
        start_hub: Callable[..., Any], hub_settings: Settings, engine: Apy) -> None:
    hub = await _hub(start_hub, hub_settings, engine.url, languages=["en", "es", "fr"])
    ch = hub.ch("A/general")
    assert (await hub.api("GET", "/api/me", "bruno")).json()["user"]["lang"] is None
    r = await hub.api("PUT", "/api/me/language", "bruno", json={"lang": "es"})
    assert r.status_code == 200 and r.json() == {"lang": "es"}, r.text
    for bad in ({"lang": "spanish"}, {"lang": 5}, {}, {"lang": "es", "x": 1}):
        refused = await hub.api("PUT", "/api/me/language", "bruno", json=bad)
        assert refused.status_code == 400, bad
    assert (await hub.api("GET", "/api/me", "bruno")).json()["user"]["lang"] == "es"
    bruno = await hub.client("bruno")  # its hello names no language: the profile's
    await bruno.subscribe(ch)
    alice = await hub.client("alice", lang="en")
    sent = await alice.publish(ch, "The bridge is closed", lang="en")
    frame = await _translated(bruno, sent["seq"])
    assert frame["lang"] == "es"
    await hub.services.translations.settled()
    assert not [f for f in bruno.pending if f["type"] == "translated"]  # no French
    r = await hub.api("PUT", "/api/me/language", "bruno", json={"lang": None})
    assert r.status_code == 200 and \
        (await hub.api("GET", "/api/me", "bruno")).json()["user"]["lang"] is None


async def test_the_glossary_goes_in_and_out_as_tbx(running_hub: RunningHub) -> None:
    hub = running_hub
    path = f"/api/operations/{hub.ops['A'].id}/glossary"
    tbx = (b'<?xml version="1.0" encoding="UTF-8"?><tbx style="dca" type="TBX-Basic" '
           b'xmlns="urn:iso:std:iso:30042:ed-2"><text><body><conceptEntry id="c1">'
           b'<langSec xml:lang="en"><termSec><term>bank</term></termSec></langSec>'
           b'<langSec xml:lang="es"><termSec><term>orilla</term><termNote '
           b'type="grammaticalGender">feminine</termNote></termSec></langSec>'
           b"</conceptEntry></body></text></tbx>")
    put = await hub.api("PUT", path, "alice", content=tbx,
                        headers={"Content-Type": "application/tbx+xml"})
    assert put.status_code == 200, put.text
    assert put.json()["terms"] == [{"forms": {"en": "bank", "es": "orilla"}, "keep": False,
                                    "genders": {"es": "f"}, "note": ""}]
    got = await hub.api("GET", f"{path}.tbx", "bruno")
    assert got.status_code == 200 and got.headers["content-type"] == "application/tbx+xml"
    again = await hub.api("PUT", path, "alice", content=got.content,
                          headers={"Content-Type": "application/xml"})
    assert again.status_code == 200 and again.json()["terms"] == put.json()["terms"]
    bomb = b'<!DOCTYPE tbx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><tbx>&b;</tbx>'
    refused = await hub.api("PUT", path, "alice", content=bomb,
                            headers={"Content-Type": "application/tbx+xml"})
    assert refused.status_code == 400 and "TBX" in refused.json()["error"]["message"]
