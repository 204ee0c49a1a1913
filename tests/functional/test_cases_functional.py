"""Cases: shared record, live events, optimistic concurrency, timeline, isolation."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import RunningHub

FLOOD = {"title": "Levee breach at Km 12", "category": "incident", "severity": "major",
         "location": {"lat": 45.21, "lon": 29.1, "place": "Km 12, north bank"},
         "fields": {"people_affected": 120, "casualties": 0}}


async def _create(hub: RunningHub, user: str = "alice", **extra: object) -> dict:  # type: ignore[type-arg]
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", user,
                      json={**FLOOD, **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_case_events_are_live_and_recoverable(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    olga = await running_hub.client("olga")  # observers read the record too
    sub = await olga.subscribe(f"ops:{op}", since_seq=0)
    assert sub["channel"] == f"ops:{op}"
    case = await _create(running_hub, exercise=True)
    assert case["version"] == 1 and case["severity"] == "major" and case["exercise"] is True
    assert case["reporting_agency"] == "POLICE" and case["created_by"] == "alice"
    ev = await olga.recv_type("op_event")
    assert (ev["seq"], ev["kind"], ev["action"], ev["id"]) == (1, "case", "created", case["id"])
    assert ev["record"]["title"] == FLOOD["title"] and ev["record"]["exercise"] is True

    # olga drops; 40 changes happen; she comes back with since_seq and gets exactly those.
    await olga.close()
    version = 1
    for i in range(40):
        r = await running_hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "bruno",
                                  json={"version": version, "fields": {"people_affected": i}})
        assert r.status_code == 200, r.text
        version = r.json()["version"]
    olga = await running_hub.client("olga")
    await olga.subscribe(f"ops:{op}", since_seq=1)
    got = [await olga.recv_type("op_event") for _ in range(40)]
    assert [e["seq"] for e in got] == list(range(2, 42))
    assert got[-1]["record"]["fields"]["people_affected"] == 39
    assert got[-1]["changes"] == {"fields": [{"people_affected": 38, "casualties": 0},
                                             {"people_affected": 39, "casualties": 0}]}
    with pytest.raises(asyncio.TimeoutError):
        extra = await olga.recv_type("op_event", timeout=0.3)
        raise AssertionError(f"unexpected {extra}")


async def test_two_officers_never_overwrite_each_other(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    case = await _create(running_hub)
    url = f"/api/operations/{op}/cases/{case['id']}"
    first = await running_hub.api("PATCH", url, "alice",
                                  json={"version": 1, "severity": "critical"})
    assert first.status_code == 200 and first.json()["version"] == 2
    second = await running_hub.api("PATCH", url, "bruno",
                                   json={"version": 1, "severity": "minor"})
    assert second.status_code == 409
    body = second.json()
    assert body["error"]["code"] == "conflict"
    assert body["current"]["severity"] == "critical" and body["current"]["version"] == 2
    # If-Match works as well as a version field.
    r = await running_hub.api("PATCH", url, "bruno", json={"status": "in_progress"},
                              headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["version"] == 3
    got = await running_hub.api("GET", url, "olga")
    assert got.headers["etag"] == '"3"' and got.json()["severity"] == "critical"


async def test_timeline_records_every_change_in_order(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    case = await _create(running_hub)
    url = f"/api/operations/{op}/cases/{case['id']}"
    steps = [
        ("PATCH", url, {"version": 1, "severity": "critical"}),
        ("PATCH", url, {"version": 2, "assignees": ["bruno", "alice"]}),
        ("POST", url + "/comments", {"text": "Sandbags requested from depot 3"}),
        ("PATCH", url, {"version": 4, "status": "closed"}),
    ]
    for method, path, body in steps:
        r = await running_hub.api(method, path, "alice", json=body)
        assert r.status_code == 200, r.text
    timeline = (await running_hub.api("GET", url + "/timeline", "bruno")).json()["timeline"]
    assert [e["action"] for e in timeline] == ["created", "updated", "assigned", "commented",
                                               "closed"]
    assert timeline[1]["changes"] == {"severity": ["major", "critical"]}
    assert timeline[2]["record"]["assignees"] == ["alice", "bruno"]
    assert timeline[3]["comment"] == {"text": "Sandbags requested from depot 3",
                                      "by": "alice", "agency": "POLICE"}
    assert [e["version"] for e in timeline] == [1, 2, 3, 4, 5]


async def test_case_permissions_and_isolation(running_hub: RunningHub) -> None:
    op_a, op_b = running_hub.ops["A"].id, running_hub.ops["B"].id
    r = await running_hub.api("POST", f"/api/operations/{op_a}/cases", "olga", json=FLOOD)
    assert r.status_code == 403  # observers read only
    case = await _create(running_hub)
    foreign = await running_hub.api("GET", f"/api/operations/{op_a}/cases", "xavier")
    missing = await running_hub.api("GET", "/api/operations/op_nope/cases", "xavier")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    r = await running_hub.api("GET", f"/api/operations/{op_a}/cases/{case['id']}", "xavier")
    assert r.status_code == 404
    # The case id does not leak through another operation's URL either.
    r = await running_hub.api("GET", f"/api/operations/{op_b}/cases/{case['id']}", "xavier")
    assert r.status_code == 404
    r = await running_hub.api("PATCH", f"/api/operations/{op_b}/cases/{case['id']}", "xavier",
                              json={"version": 1, "severity": "info"})
    assert r.status_code == 404
    xavier = await running_hub.client("xavier")
    await xavier.send({"type": "subscribe", "channel": f"ops:{op_a}", "ref": "x"})
    assert (await xavier.recv_type("error"))["code"] == "not_found"
    events = await running_hub.api("GET", f"/api/operations/{op_a}/events", "xavier")
    assert events.status_code == 404


async def test_case_validation_and_idempotent_create(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    url = f"/api/operations/{op}/cases"
    for bad, needle in (({"title": ""}, "title"), ({**FLOOD, "severity": "huge"}, "severity"),
                        ({**FLOOD, "location": {"lat": 123, "lon": 0}}, "location"),
                        ({**FLOOD, "fields": {"x": [1]}}, "field 'fields.x'"),
                        ({**FLOOD, "owner": "me"}, "owner")):
        r = await running_hub.api("POST", url, "alice", json=bad)
        assert r.status_code == 400 and needle in r.json()["error"]["message"], (bad, r.text)
    one = await running_hub.api("POST", url, "alice", json={**FLOOD, "idempotency_key": "k1"})
    two = await running_hub.api("POST", url, "alice", json={**FLOOD, "idempotency_key": "k1"})
    assert one.status_code == 201 and two.status_code == 200
    assert two.json()["duplicate"] is True and two.json()["id"] == one.json()["id"]
    cases = (await running_hub.api("GET", url, "bruno")).json()["cases"]
    assert len(cases) == 1


async def _next(client, kind: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """The next frame of ``kind``, passing over live op events of other changes."""
    while True:
        frame = await client.recv()
        if frame["type"] == kind:
            return frame  # type: ignore[no-any-return]
        assert frame["type"] in ("op_event", "presence"), frame


async def test_cases_over_websocket(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    bruno = await running_hub.client("bruno", "msgpack")
    await bruno.subscribe(f"ops:{op}")
    await bruno.send({"type": "case", "ref": "c1", "operation": op, "action": "create",
                      "data": {**FLOOD, "severity": "minor"}})
    first, second = await bruno.recv(), await bruno.recv()
    ack, ev = (first, second) if first["type"] == "case_ack" else (second, first)
    assert ack["ref"] == "c1" and ack["action"] == "created" and ack["version"] == 1
    assert ev["id"] == ack["id"] and ev["record"]["severity"] == "minor"
    await bruno.send({"type": "case", "ref": "c2", "operation": op, "action": "update",
                      "case": ack["id"], "data": {"version": 1, "severity": "critical"}})
    assert (await _next(bruno, "case_ack"))["version"] == 2
    await bruno.send({"type": "case", "ref": "c3", "operation": op, "action": "update",
                      "case": ack["id"], "data": {"version": 1, "severity": "info"}})
    err = await _next(bruno, "error")
    assert err["code"] == "conflict" and err["ref"] == "c3"
    await bruno.send({"type": "case", "ref": "c4", "operation": op, "action": "comment",
                      "case": ack["id"], "data": {"text": "on my way"}})
    assert (await _next(bruno, "case_ack"))["action"] == "commented"
    olga = await running_hub.client("olga")
    await olga.send({"type": "case", "ref": "o", "operation": op, "action": "create",
                     "data": FLOOD})
    assert (await olga.recv_type("error"))["code"] == "forbidden"
    await olga.send({"type": "case", "ref": "o2", "operation": op, "action": "create",
                     "data": "not an object"})
    assert (await olga.recv_type("error"))["code"] == "bad_request"
