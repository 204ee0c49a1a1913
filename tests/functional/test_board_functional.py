"""The live board over WebSocket: a versioned snapshot, then deltas; isolation."""

from __future__ import annotations

from typing import Any

from alerting.board import apply, from_frame, view
from tests.conftest import RunningHub, WsClient

CRITICAL = {"id": "critical-case", "when": 'severity == "critical"', "severity": "critical",
            "summary": "{title} is critical"}


async def _board(client: WsClient, op: str) -> dict[str, Any]:
    await client.send({"type": "subscribe", "channel": f"ops:{op}", "board": True, "ref": "b"})
    subscribed = await client.recv_type("subscribed")
    frame = await client.recv_type("board")
    assert frame["version"] == subscribed["since_seq"]
    return frame


async def test_snapshot_and_deltas_match_a_fresh_snapshot(running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=CRITICAL)
    assert r.status_code == 201
    cases = []
    for i, sev in enumerate(("minor", "major", "critical")):
        r = await hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                          json={"title": f"Case {i}", "severity": sev})
        cases.append(r.json())
    await hub.settle()
    olga = await hub.client("olga")
    frame = await _board(olga, op)
    assert frame["counts"]["critical"]["open"] == 1
    assert [a["summary"] for a in frame["alerts"]] == ["Case 2 is critical"]
    assert {"username": "olga", "display_name": "Olga", "agency": "POLICE"} not in \
        frame["online"]  # not in a chat channel: the board only lists chat presence
    board = from_frame(frame)
    # Changes after the snapshot arrive as op_event deltas with the next seqs.
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{cases[0]['id']}", "bruno",
                      json={"version": cases[0]["version"], "severity": "critical"})
    assert r.status_code == 200
    [alert] = [a for a in (await hub.api("GET", f"/api/operations/{op}/alerts?state=firing",
                                         "olga")).json()["alerts"]
               if a["case_id"] == cases[2]["id"]]
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "alice")
    assert r.status_code == 200
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{cases[1]['id']}", "bruno",
                      json={"version": cases[1]["version"], "status": "resolved"})
    assert r.status_code == 200
    _, head = await hub.hub.engine.store.op_event_bounds(op)
    while board["version"] < head:
        event = await olga.recv_type("op_event")
        assert event["seq"] == board["version"] + 1  # no gap
        apply(board, event)
    fresh = from_frame(await _board(await hub.client("alice"), op))
    assert view(board) == view(fresh)
    shown = view(board)
    assert [c["title"] for c in shown["open_cases"]] == ["Case 2", "Case 0"]
    assert [(a["summary"], a["state"]) for a in shown["alerts"]] == \
        [("Case 0 is critical", "firing"), ("Case 2 is critical", "acknowledged")]
    assert shown["events"][-1]["text"] == "Case 1: resolved"


async def test_a_client_that_reconnects_gets_a_new_snapshot(running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    first = await _board(await hub.client("bruno"), op)
    await hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                  json={"title": "While away", "severity": "major"})
    again = await _board(await hub.client("bruno"), op)
    assert again["version"] == first["version"] + 1
    assert [c["title"] for c in again["cases"]] == ["While away"]


async def test_the_board_of_another_operation_is_not_found(running_hub: RunningHub) -> None:
    hub = running_hub
    xavier = await hub.client("xavier")
    await xavier.send({"type": "subscribe", "channel": f"ops:{hub.ops['A'].id}", "board": True,
                       "ref": "x"})
    err = await xavier.recv_type("error")
    assert err["code"] == "not_found"
    await xavier.send({"type": "subscribe", "channel": "ops:op_missing", "board": True,
                       "ref": "y"})
    assert (await xavier.recv_type("error"))["reason"] == err["reason"]
    await xavier.send({"type": "subscribe", "channel": hub.ch("B/general"), "board": True,
                       "ref": "z"})
    assert (await xavier.recv_type("error"))["code"] == "bad_request"
    await xavier.send({"type": "subscribe", "channel": f"ops:{hub.ops['B'].id}",
                       "board": "yes", "ref": "w"})
    assert (await xavier.recv_type("error"))["code"] == "bad_request"


async def test_a_member_of_b_sees_nothing_of_a_alerting(running_hub: RunningHub) -> None:
    """Rules, policies, silences, alerts and their actions: 404 alike for hidden and missing."""
    hub = running_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=CRITICAL)
    r = await hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                      json={"title": "Secret", "severity": "critical"})
    await hub.settle()
    [alert] = (await hub.api("GET", f"/api/operations/{op}/alerts", "bruno")).json()["alerts"]
    silence = {"matchers": [{"label": "rule", "value": "x"}], "duration": "1h", "reason": "r"}
    probes = [("GET", "rules", None), ("POST", "rules", CRITICAL),
              ("POST", "rules/dry-run", CRITICAL), ("GET", "policies", None),
              ("POST", "policies", {"id": "p", "steps": [{"notify": ["everyone"]}]}),
              ("GET", "silences", None), ("POST", "silences", silence),
              ("GET", "alerts", None), ("POST", "alerts", {"summary": "x"}),
              ("POST", f"alerts/{alert['id']}/ack", None),
              ("POST", f"alerts/{alert['id']}/resolve", None),
              ("GET", "events", None)]
    for method, path, body in probes:
        foreign = await hub.api(method, f"/api/operations/{op}/{path}", "xavier", json=body)
        missing = await hub.api(method, f"/api/operations/op_missing/{path}", "xavier",
                                json=body)
        assert foreign.status_code == missing.status_code == 404, (path, foreign.text)
        assert foreign.json() == missing.json()
    assert r.status_code == 201
    [still] = (await hub.api("GET", f"/api/operations/{op}/alerts", "bruno")).json()["alerts"]
    assert still["state"] == "firing"


async def test_naming_an_operation_by_code_or_id_is_one_subscription(
        start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    hub: RunningHub = await start_hub(hub_settings.replace(max_subscriptions=2))
    op = hub.ops["A"]
    bruno = await hub.client("bruno")
    assert (await bruno.subscribe(f"ops:{op.code}"))["channel"] == f"ops:{op.id}"
    await bruno.subscribe(hub.ch("A/general"))
    # Re-subscribing by either name replaces the one subscription: no limit hit.
    for name in (f"ops:{op.id}", f"ops:{op.code}"):
        sub = await bruno.subscribe(name)
        assert sub["type"] == "subscribed", sub
    r = await hub.api("POST", f"/api/operations/{op.code}/cases", "bruno",
                      json={"title": "Fuel leak", "severity": "minor"})
    assert r.status_code == 201
    assert (await bruno.recv_type("op_event"))["seq"] == 1
