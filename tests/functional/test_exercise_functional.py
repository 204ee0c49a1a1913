"""Exercise apart from real, end to end (embedded engine; the outputs are the same code on
both): in an exercise operation every output of a case says EXERCISE, and a real event
raised inside it says REAL WORLD in every output — REST, the feed, the board, the alert,
its notice, CAP and outgoing webhooks — so play is never taken for real, nor real for
play."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from tests.conftest import RunningHub, embedded_settings
from tests.functional.test_outgoing_functional import LOOPBACK, Receiver, receiver

__all__ = ["receiver"]  # the fixture, shared with the outgoing webhook tests

RULE = {"id": "critical", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "route": ["channel:general"]}


async def _outputs(hub: RunningHub, receiver: Receiver, title: str,
                   **flags: Any) -> dict[str, Any]:
    """Create a critical case; collect what every output says of it."""
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": title, "severity": "critical", **flags})
    assert r.status_code == 201, r.text
    case = r.json()
    await hub.settle()
    alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    [alert] = [a for a in alerts if a["case_id"] == case["id"]]
    messages = (await hub.api("GET", f"/api/channels/{hub.ch('A/general')}/messages",
                              "alice")).json()["messages"]
    [notice] = [m for m in messages if title in m["text"]]
    cap_case = (await hub.api("GET", f"/api/operations/{op}/cap/cases/{case['id']}",
                              "alice")).text
    cap_alert = (await hub.api("GET", f"/api/operations/{op}/cap/alerts/{alert['id']}",
                               "alice")).text
    board = await hub.client("alice")
    await board.send({"type": "subscribe", "channel": f"ops:{op}", "board": True, "ref": "b"})
    await board.recv_type("subscribed")
    [row] = [c for c in (await board.recv_type("board"))["cases"] if c["id"] == case["id"]]
    await receiver.wait_for(1)
    hooks = [json.loads(body) for _, body in receiver.got]
    slack = [h["text"] for h in hooks if "text" in h and title in h["text"]]
    receiver.got.clear()
    return {"case": case, "alert": alert, "notice": notice["text"], "cap_case": cap_case,
            "cap_alert": cap_alert, "row": row, "slack": slack}


async def test_play_says_exercise_and_a_real_event_in_it_says_real_world_everywhere(
        start_hub: Any, tmp_path: Path, receiver: Receiver) -> None:
    hub: RunningHub = await start_hub(
        embedded_settings(tmp_path).replace(webhook_allow_networks=LOOPBACK))
    op = hub.ops["A"].id
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"exercise": True})
    assert r.status_code == 200 and r.json()["exercise"] is True
    assert (await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                          json=RULE)).status_code in (200, 201)
    r = await hub.api("POST", f"/api/operations/{op}/outgoing-webhooks", "alice",
                      json={"url": receiver.url, "name": "other team", "format": "slack",
                            "events": ["case.created"]})
    assert r.status_code == 201, r.text

    play = await _outputs(hub, receiver, "Dam breach drill")
    assert play["case"]["exercise"] is True and not play["case"]["real_world"]
    assert play["alert"]["exercise"] is True and not play["alert"]["real_world"]
    assert play["row"]["exercise"] and not play["row"]["real_world"]
    assert play["notice"].startswith("[EXERCISE] ")
    for doc in (play["cap_case"], play["cap_alert"]):
        assert "<status>Exercise</status>" in doc and "REAL WORLD" not in doc
    assert play["slack"] and play["slack"][0].startswith("[EXERCISE] ")

    real = await _outputs(hub, receiver, "Real casualty at the dam", real_world=True)
    assert real["case"]["real_world"] is True and real["case"]["exercise"] is False
    assert real["alert"]["real_world"] is True and real["alert"]["exercise"] is False
    assert real["row"]["real_world"] and not real["row"]["exercise"]
    assert real["notice"].startswith("[REAL WORLD] ")
    for doc in (real["cap_case"], real["cap_alert"]):
        assert "<status>Actual</status>" in doc and "<note>REAL WORLD" in doc
        assert "<headline>REAL WORLD: " in doc
    assert real["slack"] and real["slack"][0].startswith("[REAL WORLD] ")
    # A message in the exercise: play in another team's chat and in the record.
    r = await hub.api("POST", f"/api/operations/{op}/outgoing-webhooks", "alice",
                      json={"url": receiver.url, "name": "chat bridge", "format": "slack",
                            "events": ["message.created"], "channels": [hub.ch("A/general")]})
    assert r.status_code == 201, r.text
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                      json={"text": "Drill: evacuate hall B", "client_msg_id": "d1",
                            "priority": "urgent"})
    assert r.status_code == 201, r.text
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                      json={"text": "Real: a visitor collapsed at gate 2",
                            "client_msg_id": "d2", "priority": "urgent", "real_world": True,
                            "ack": "each_agency"})
    assert r.status_code == 201 and r.json()["real_world"] is True, r.text
    await receiver.wait_for(2)
    texts = [json.loads(body).get("text", "") for _, body in receiver.got]
    assert any(t.startswith("[EXERCISE] URGENT Alice") for t in texts), texts
    assert any(t.startswith("[REAL WORLD] URGENT Alice") for t in texts), texts
    # Issue 26: the alert an urgent real message raises is real too (it was EXERCISE), and
    # the hub's notice of a real event is a real_world message, so the chat bridge no
    # longer says "[EXERCISE] URGENT ... [REAL WORLD] CRITICAL alert".
    alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    [raised] = [a for a in alerts if "visitor collapsed" in a["summary"]]
    assert raised["real_world"] is True and raised["exercise"] is False
    receiver.got.clear()
    # (Its own notice group, so its notice is not held back behind the first real one.)
    r = await hub.api("POST", f"/api/operations/{op}/policies", "alice",
                      json={"id": "default", "steps": [{"notify": ["channel:general"]}],
                            "group_by": ["case"]})
    assert r.status_code in (200, 201), r.text
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "Real fire at the depot", "severity": "critical",
                            "real_world": True})
    assert r.status_code == 201, r.text
    await hub.settle()
    messages = (await hub.api("GET", f"/api/channels/{hub.ch('A/general')}/messages",
                              "alice")).json()["messages"]
    [notice] = [m for m in messages if "Real fire at the depot" in m["text"]]
    assert notice["real_world"] is True and notice["text"].startswith("[REAL WORLD] ")
    for count in range(1, 10):  # the case.created hook may come first
        await receiver.wait_for(count)
        relayed = [json.loads(body).get("text", "") for _, body in receiver.got]
        bridged_all = [t for t in relayed if "Real fire at the depot" in t and "Liaison Hub" in t]
        if bridged_all:
            break
    [bridged] = bridged_all
    assert bridged.startswith("[REAL WORLD] URGENT Liaison Hub"), bridged
    assert "EXERCISE" not in bridged, bridged
    # The operation's signed record marks both the same way.
    r = await hub.api("GET", f"/api/operations/{op}/export", "alice")
    report = zipfile.ZipFile(io.BytesIO(r.content)).read("report.html").decode()
    assert "<strong>[EXERCISE]</strong> Dam breach drill" in report
    assert "<strong>[REAL WORLD]</strong> Real casualty at the dam" in report
    assert "<strong>[EXERCISE]</strong> #general" in report
    assert "<strong>[REAL WORLD]</strong> #general" in report

    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "both", "exercise": True, "real_world": True})
    assert r.status_code == 400 and "exclude each other" in r.json()["error"]["message"]
    # Outside an exercise, a case is real and says nothing more.
    assert (await hub.api("PATCH", f"/api/operations/{op}", "root",
                          json={"exercise": False})).status_code == 200
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={"title": "plain"})
    assert (r.json()["exercise"], r.json()["real_world"]) == (False, False)
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                      json={"text": "x", "client_msg_id": "d3", "real_world": True})
    assert r.status_code == 400 and "inside an exercise" in r.json()["error"]["message"]
