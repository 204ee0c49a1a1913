"""CAP 1.2 through a real hub (both engines): warnings in become cases and alerts that
update and cancel by reference; cases and alerts out are valid CAP and an Atom feed."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from defusedxml.ElementTree import fromstring

from alerting.interop.cap_in import NS, schema
from alerting.interop.cap_out import ATOM
from tests.alerting.interop.test_cap_in import CANCEL, LAUGHS, STORM, STORM_UPDATE, XXE, with_status
from tests.conftest import RunningHub
from tests.photos import field_photo
from tests.web.pages import bot_token, upload

Q = f"{{{NS}}}"
CAP = {"Content-Type": "application/cap+xml"}


async def _post(hub: RunningHub, token: str, doc: str, query: str = "") -> Any:
    assert hub.http is not None
    return await hub.http.post(f"/api/operations/{hub.ops['A'].id}/cap{query}",
                               content=doc.encode(),
                               headers={**CAP, "Authorization": f"Bearer {token}"})


async def _case(hub: RunningHub, case_id: str) -> dict[str, Any]:
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/cases/{case_id}", "alice")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def _alerts(hub: RunningHub) -> list[dict[str, Any]]:
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts", "alice")
    return r.json()["alerts"]  # type: ignore[no-any-return]


def _valid(body: bytes) -> Any:
    root = fromstring(body, forbid_dtd=True)
    assert [str(e) for e in schema().iter_errors(root)] == []
    return root


async def test_a_warning_updates_and_cancels_its_case_and_alert(running_hub: RunningHub) -> None:
    hub = running_hub
    token = await bot_token(hub)
    r = await _post(hub, token, STORM, "?route=coordinators")
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["action"] == "created" and not first["duplicate"]
    case = await _case(hub, first["case_id"])
    assert case["title"] == "SEVERE THUNDERSTORM WARNING" and case["severity"] == "major"
    assert case["location"]["lat"] == 38.4875 and case["exercise"] is False
    [alert] = await _alerts(hub)
    assert alert["case_id"] == case["id"] and alert["state"] == "firing"
    assert alert["route"] == ["coordinators"]

    again = await _post(hub, token, STORM)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(await _alerts(hub)) == 1 and (await _case(hub, case["id"]))["version"] == 1

    r = await _post(hub, token, STORM_UPDATE)
    assert r.status_code == 201 and r.json()["action"] == "updated"
    assert r.json()["case_id"] == case["id"]
    updated = await _case(hub, case["id"])
    assert updated["severity"] == "critical"
    assert "[fr-CA] ALERTE D'ORAGE VIOLENT PROLONGÉE" in updated["description"]
    [alert] = await _alerts(hub)
    assert alert["occurrences"] == 2 and alert["severity"] == "critical"

    r = await _post(hub, token, CANCEL)
    assert r.status_code == 201 and r.json()["action"] == "cancelled"
    assert (await _case(hub, case["id"]))["status"] == "closed"
    [alert] = await _alerts(hub)
    assert alert["state"] == "resolved" and alert["resolution"] == "cancelled"


async def test_exercise_in_and_out_and_the_feed(running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    token = await bot_token(hub)
    r = await _post(hub, token, with_status(STORM, "Exercise"))
    assert r.status_code == 201
    case_id = r.json()["case_id"]
    assert (await _case(hub, case_id))["exercise"] is True
    out = await hub.api("GET", f"/api/operations/{op}/cap/cases/{case_id}", "olga")
    assert out.status_code == 200 and out.headers["content-type"] == "application/cap+xml"
    root = _valid(out.content)
    assert root.findtext(f"{Q}status") == "Exercise"  # never Actual
    assert root.findtext(f"{Q}info/{Q}web").endswith(f"/#op={op}&case={case_id}")
    [alert] = await _alerts(hub)
    out = await hub.api("GET", f"/api/operations/{op}/cap/alerts/{alert['id']}", "olga")
    assert _valid(out.content).findtext(f"{Q}status") == "Exercise"

    # A real case made in the hub is published too; a minor one is not (below major).
    real = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                         json={"title": "Bridge down", "severity": "critical"})
    minor = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": "Litter", "severity": "minor"})
    doc = await hub.api("GET", f"/api/operations/{op}/cap/cases/{real.json()['id']}", "bruno")
    assert _valid(doc.content).findtext(f"{Q}status") == "Actual"
    hidden = await hub.api("GET", f"/api/operations/{op}/cap/cases/{minor.json()['id']}",
                           "bruno")
    missing = await hub.api("GET", f"/api/operations/{op}/cap/cases/case_missing", "bruno")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    feed = await hub.api("GET", f"/api/operations/{op}/cap/feed", "olga")
    assert feed.headers["content-type"] == "application/atom+xml"
    entries = fromstring(feed.content, forbid_dtd=True).findall(f"{{{ATOM}}}entry")
    titles = [e.findtext(f"{{{ATOM}}}title") for e in entries]
    assert "Bridge down" in titles and "SEVERE THUNDERSTORM WARNING" in titles
    assert "Litter" not in titles
    assert hub.http is not None
    for entry in entries:  # every link is a valid CAP document
        href = entry.find(f"{{{ATOM}}}link").get("href")  # type: ignore[union-attr]
        path = href[href.index("/api/"):]
        _valid((await hub.api("GET", path, "olga")).content)
    assert (await hub.http.get(f"/api/operations/{op}/cap/feed")).status_code == 401
    other = await hub.api("GET", f"/api/operations/{op}/cap/feed", "xavier")
    assert other.status_code == 404


async def test_hostile_and_invalid_documents_are_refused_and_nothing_stored(
        running_hub: RunningHub) -> None:
    hub = running_hub
    token = await bot_token(hub)
    for doc, status in [(XXE, 400), (LAUGHS, 400), ("<alert", 400),
                        (with_status(STORM, "Draft"), 400),
                        (STORM.replace("<severity>Severe</severity>", ""), 400),
                        ("<x/>" + " " * (1024 * 1024 + 1), 413)]:
        r = await _post(hub, token, doc)
        assert r.status_code == status, (doc[:60], r.text)
        assert r.json()["error"]["message"]
    assert hub.http is not None
    r = await hub.http.post(f"/api/operations/{hub.ops['A'].id}/cap", content=STORM.encode(),
                            headers=CAP)
    assert r.status_code == 401
    r = await hub.http.post(f"/api/operations/{hub.ops['A'].id}/cap", content=STORM.encode(),
                            headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json"})
    assert r.status_code == 400
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cap", "olga",
                      content=STORM.encode(), headers=CAP)
    assert r.status_code == 403
    cases = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/cases", "alice")
    assert cases.json()["cases"] == [] and await _alerts(hub) == []


async def test_a_document_built_to_be_slow_never_freezes_the_hub(
        running_hub: RunningHub, monkeypatch: Any) -> None:
    """Issue 24, finding 3: a caller of another operation never gets its document
    parsed; a document past the budget (12,000 attributes on <alert>) is refused
    before the schema; and parsing runs off the event loop, so the hub answers others
    while a document is being checked."""
    import asyncio
    import threading

    from alerting.interop import cap_service

    hub = running_hub
    token = await bot_token(hub)
    real = cap_service.read_cap
    parsed: list[int] = []
    monkeypatch.setattr(cap_service, "read_cap",
                        lambda body: parsed.append(len(body)) or real(body))
    attrs = " ".join(f'a{i}="{i}"' for i in range(12000))
    slow = f'<alert xmlns="{NS}" {attrs}/>'
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cap", "xavier",
                      content=slow.encode(), headers=CAP)  # xavier: operation B only
    assert r.status_code == 404 and parsed == []
    r = await _post(hub, token, slow)
    assert r.status_code == 400 and "12000 attributes" in r.json()["error"]["message"]
    assert parsed == [len(slow.encode())]
    refs = " ".join(f"s,id{i},2026-01-01T00:00:00+00:00" for i in range(25000))
    r = await _post(hub, token, STORM_UPDATE.replace("</references>", f" {refs}</references>"))
    assert r.status_code == 400 and "references" in r.json()["error"]["message"], r.text

    started, release = threading.Event(), threading.Event()

    def held(body: bytes) -> Any:  # a check that takes as long as the test says
        started.set()
        release.wait(120)
        return real(body)

    monkeypatch.setattr(cap_service, "read_cap", held)
    post = asyncio.create_task(_post(hub, token, STORM))
    assert await asyncio.to_thread(started.wait, 60)
    assert hub.http is not None
    health = await hub.http.get("/healthz")  # answered while the document is checked
    assert health.status_code == 200
    release.set()
    assert (await post).status_code == 201


async def test_an_alerts_cap_document_shows_its_case_only_to_who_may_see_the_case(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 5: after the case behind a resolved alert is released to
    POLICE only and moved, the alert takes the case's label (relabelling reaches
    resolved alerts too), so ARMY gets neither the new place nor the alert; POLICE
    still does."""
    hub = running_hub
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "Informant meeting", "severity": "major",
                            "location": {"place": "Old mill", "lat": 47.1, "lon": 8.2}})
    case = r.json()
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "alice",
                      json={"summary": "Meeting at risk", "severity": "major",
                            "case": case["id"]})
    alert_id = r.json()["id"]
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert_id}/resolve", "alice")
    assert r.status_code == 200, r.text
    await hub.settle()  # the pipeline has seen the alert resolved
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "alice",
                      json={"version": case["version"],
                            "label": {"level": "UNCLASSIFIED",
                                      "categories": {"REL TO": ["POLICE"]}},
                            "location": {"place": "MARKER safe house", "lat": 46.93,
                                         "lon": 7.44}})
    assert r.status_code == 200, r.text
    await hub.settle()
    army = await hub.api("GET", f"/api/operations/{op}/cap/alerts/{alert_id}", "bruno")
    # The resolved alert took its case's new label: ARMY no longer finds it at all.
    assert army.status_code == 404, army.text
    listed = await hub.api("GET", f"/api/operations/{op}/alerts", "bruno")
    assert alert_id not in listed.text
    police = await hub.api("GET", f"/api/operations/{op}/cap/alerts/{alert_id}", "olga")
    assert police.status_code == 200 and "MARKER safe house" in police.text


async def test_a_bound_cap_sender_is_refused_to_every_other_credential(
        start_hub: Any, hub_settings: Any) -> None:
    """Issue 24, finding 7: a sender bound in ``cap_senders`` is posted by its bots only."""
    hub = await start_hub(hub_settings.replace(cap_senders=("KSTO@NWS.NOAA.GOV=sensor",
                                                            "OTHER@EXAMPLE.ORG=nobody")))
    token = await bot_token(hub)
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cap", "bruno",
                      content=with_status(STORM, "Exercise").encode(), headers=CAP)
    assert r.status_code == 403 and "cap_senders" in r.text, r.text
    r = await _post(hub, token, STORM)
    assert r.status_code == 201, r.text


async def test_nobody_squats_or_cancels_another_credentials_warning(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 7: bruno pre-posting a drill with the sender and identifier of a
    real warning, or a Cancel referencing it, neither stops nor ends it."""
    hub = running_hub
    op = hub.ops["A"].id
    token = await bot_token(hub)
    r = await hub.api("POST", f"/api/operations/{op}/cap", "bruno",
                      content=with_status(STORM, "Exercise").encode(), headers=CAP)
    assert r.status_code == 201, r.text
    squat = r.json()["case_id"]
    r = await _post(hub, token, STORM)
    assert r.status_code == 201 and r.json()["duplicate"] is False, r.text
    real = r.json()["case_id"]
    assert real != squat
    r = await hub.api("POST", f"/api/operations/{op}/cap", "bruno",
                      content=CANCEL.encode(), headers=CAP)
    assert r.status_code == 201 and r.json()["case_id"] == squat, r.text  # his own only
    assert (await _case(hub, real))["status"] != "closed"
    await hub.settle()
    mine = [a for a in await _alerts(hub) if a["case_id"] == real]
    assert [a["state"] for a in mine] == ["firing"] and mine[0]["severity"] == "major"
    r = await _post(hub, token, CANCEL)  # the real sender still can
    assert r.json()["action"] == "cancelled"
    assert (await _case(hub, real))["status"] == "closed"


async def test_a_case_s_photo_is_a_cap_resource_with_its_size_and_digest(
        running_hub: RunningHub) -> None:
    """Issue 28, item 6: the file a case carries is a <resource> of its CAP document and
    of its alert's: type, size, the link its readers fetch, and the SHA-1 CAP names."""
    hub = running_hub
    op = hub.ops["A"].id
    upload_id, sent = await upload(hub, "alice", field_photo(7, 320, 240), name="levee.jpg",
                                   operation=op)
    assert sent.status_code == 204, sent.text
    case = (await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Levee breach", "severity": "critical", "attach": [upload_id]})).json()
    alert = (await hub.api("POST", f"/api/operations/{op}/alerts", "alice", json={
        "summary": "Levee at risk", "severity": "critical", "case": case["id"]})).json()
    for path in (f"cases/{case['id']}", f"alerts/{alert['id']}"):
        r = await hub.api("GET", f"/api/operations/{op}/cap/{path}", "bruno")
        assert r.status_code == 200, r.text
        root = _valid(r.content)
        [resource] = root.findall(f".//{{{NS}}}resource")
        fields = {child.tag.split("}")[1]: child.text for child in resource}
        kept = await hub.api("GET", urlsplit(fields["uri"]).path, "bruno")
        assert kept.status_code == 200
        assert fields == {"resourceDesc": "levee.jpg", "mimeType": "image/jpeg",
                          "size": str(len(kept.content)), "uri": fields["uri"],
                          "digest": hashlib.sha1(kept.content).hexdigest()}
        assert fields["uri"].endswith(f"/api/operations/{op}/cases/{case['id']}/files/0")
