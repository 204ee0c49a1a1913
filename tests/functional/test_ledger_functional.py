"""Issue 26, item 6: the acknowledgement ledger (who was told when, who acknowledged for
each agency, and when) is the same wherever it is read — the alerts API, the
acknowledge response, the live board's rows, ``board?at=`` and the signed export — for
an alert of an "every agency" rule and for an urgent message (both engines)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from alerting.pipeline.alerts import ledger
from hub.sealed import RECORDS
from tests.conftest import RunningHub

RULE = {"id": "critical", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "ack": "each_agency"}


async def _board_rows(hub: RunningHub, user: str) -> dict[str, Any]:
    op = hub.ops["A"].id
    client = await hub.client(user)
    await client.send({"type": "subscribe", "channel": f"ops:{op}", "board": True, "ref": "b"})
    await client.recv_type("subscribed")
    frame = await client.recv_type("board")
    return {a["id"]: a for a in frame["alerts"]}


async def test_the_ledger_is_the_same_in_every_output(running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    assert (await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                          json=RULE)).status_code == 201
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "Levee breach", "severity": "critical"})
    assert r.status_code == 201, r.text
    sent = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "bruno",
                         json={"text": "Evacuate sector 4", "client_msg_id": "u1",
                               "priority": "urgent", "ack": "each_agency"})
    assert sent.status_code == 201, sent.text
    await hub.settle()
    alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    levee = next(a for a in alerts if "Levee" in a["summary"])
    urgent = next(a for a in alerts if a["source"] == "message")
    # The acknowledge response is a whole Alert: pending agencies and ledger included.
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{levee['id']}/ack", "bruno")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["pending_agencies"] == ["POLICE"] and answer["state"] == "firing"
    assert [(x["agency"], x["acked_by"]) for x in answer["ledger"]] == [
        ("ARMY", "bruno"), ("POLICE", None)]
    assert (await hub.api("POST", f"/api/operations/{op}/alerts/{levee['id']}/ack",
                          "alice")).json()["pending_agencies"] == []
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages/"
                      f"{sent.json()['seq']}/ack", "alice")
    assert r.status_code in (200, 201), r.text
    await hub.settle()

    alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    api = {a["id"]: a["ledger"] for a in alerts}
    for alert_id in (levee["id"], urgent["id"]):
        rows = api[alert_id]
        assert {x["agency"] for x in rows} == {"ARMY", "POLICE"}
        assert all(x["acked_at"] is not None and x["acked_by"] for x in rows), rows
    live = await _board_rows(hub, "olga")
    now = hub.hub.clock.now()
    at = (await hub.api("GET", f"/api/operations/{op}/board?at={now:.3f}", "olga")).json()
    assert "alerts" in at, at
    replayed = {a["id"]: a for a in at["alerts"]}
    export = (await hub.api("GET", f"/api/operations/{op}/export", "alice")).content
    records = [json.loads(line) for line in
               zipfile.ZipFile(io.BytesIO(export)).read(RECORDS).decode().splitlines()]
    last: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec["type"] == "event" and rec["kind"] == "alert":
            last[rec["id"]] = rec["record"]
    for alert_id in (levee["id"], urgent["id"]):
        assert live[alert_id]["ledger"] == api[alert_id], alert_id
        assert live[alert_id]["pending_agencies"] == []
        assert replayed[alert_id]["ledger"] == api[alert_id], alert_id
        assert ledger(last[alert_id]) == api[alert_id], alert_id
    report = zipfile.ZipFile(io.BytesIO(export)).read("report.html").decode()
    assert "<td>ARMY</td>" in report and "<td>bruno</td>" in report
    # And at a moment before the acknowledgements, board?at= shows that moment's ledger.
    first = min(float(x["acked_at"]) for x in api[levee["id"]])
    before = (await hub.api("GET", f"/api/operations/{op}/board?at={first - 0.001:.3f}",
                            "olga")).json()
    [then] = [a for a in before["alerts"] if a["id"] == levee["id"]]
    assert all(x["acked_at"] is None for x in then["ledger"])
    assert sorted(then["pending_agencies"]) == ["ARMY", "POLICE"]
