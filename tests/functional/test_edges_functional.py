"""Regressions at the edges: one test per reproduction in "Trust at the edges".

Each of these broke an operation, silenced an alert or reached past an
agency on the main branch before the change that added this file.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import RunningHub

JSON = {"Content-Type": "application/json"}


async def _raw(hub: RunningHub, method: str, path: str, user: str, body: str,
               **headers: str) -> Any:
    return await hub.api(method, path, user, content=body.encode("utf-8", "surrogatepass"),
                         headers={**JSON, **headers})


def _refused(r: Any, field: str) -> None:
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "bad_request" and err["retryable"] is False
    assert field in err["message"], err["message"]


async def _op_events_from_zero(hub: RunningHub, user: str = "olga") -> list[dict[str, Any]]:
    client = await hub.client(user)
    op = hub.ops["A"].id
    await client.send({"type": "subscribe", "channel": f"ops:{op}", "since_seq": 0, "ref": "s"})
    await client.recv_type("subscribed")
    _, head = await hub.hub.engine.store.op_event_bounds(op)
    events = []
    while len(events) < head:
        frame = await client.recv_type("op_event", timeout=10)
        events.append(frame)
    return events


# --- poisoned data -----------------------------------------------------------------


async def test_nan_label_is_refused_and_the_operation_keeps_serving(
        running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    r = await _raw(running_hub, "POST", f"/api/operations/{op}/alerts", "bruno",
                   '{"summary":"g","fingerprint":"f","labels":{"level":NaN}}')
    _refused(r, "labels.level")
    for body in ('{"summary":"g","labels":{"level":Infinity}}',
                 '{"summary":"g","labels":{"level":1e999}}',
                 '{"summary":"g","labels":{"level":-Infinity}}'):
        _refused(await _raw(running_hub, "POST", f"/api/operations/{op}/alerts", "bruno",
                            body), "labels.level")
    good = await running_hub.api("POST", f"/api/operations/{op}/alerts", "bruno",
                                 json={"summary": "gauge high", "labels": {"level": 5.2}})
    assert good.status_code == 201
    listed = await running_hub.api("GET", f"/api/operations/{op}/alerts", "olga")
    assert listed.status_code == 200 and len(listed.json()["alerts"]) == 1
    events = await _op_events_from_zero(running_hub)  # replay from 0 serves every event
    assert events and {e["kind"] for e in events} == {"alert"}
    assert events[0]["record"]["labels"] == {"level": 5.2}


async def test_infinite_silence_duration_is_refused(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    for duration in ("1e999", "1e308", '"99999d"', "3600"):
        r = await _raw(running_hub, "POST", f"/api/operations/{op}/silences", "bruno",
                       '{"matchers":[{"label":"rule","value":"x"}],"reason":"r",'
                       f'"duration":{duration}}}')
        _refused(r, "duration")
    assert (await running_hub.api("GET", f"/api/operations/{op}/silences",
                                  "olga")).status_code == 200


async def test_lone_surrogate_in_a_case_title_is_refused(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    r = await _raw(running_hub, "POST", f"/api/operations/{op}/cases", "bruno",
                   '{"title":"bridge \\udc00","severity":"major"}')
    _refused(r, "title")
    r = await _raw(running_hub, "POST", f"/api/operations/{op}/cases", "bruno",
                   '{"title":"pont \\ud83c\\udf0a ok","severity":"major"}')
    assert r.status_code == 201 and r.json()["title"] == "pont \U0001f30a ok"
    assert (await running_hub.api("GET", f"/api/operations/{op}/cases",
                                  "olga")).status_code == 200
    board = await running_hub.client("olga")
    await board.send({"type": "subscribe", "channel": f"ops:{op}", "board": True, "ref": "b"})
    await board.recv_type("subscribed")
    snapshot = await board.recv_type("board", timeout=10)
    assert [c["title"] for c in snapshot["cases"]] == ["pont \U0001f30a ok"]


@pytest.mark.parametrize("path,headers", [
    ("/api/channels/{ch}/messages?after_seq=" + "9" * 5000, {}),
    ("/api/channels/{ch}/messages?before_seq=" + "9" * 5000, {}),
    ("/api/channels/{ch}/messages?limit=" + "9" * 5000, {}),
    ("/api/channels/{ch}/messages?after_seq=18446744073709551616", {}),
    ("/api/channels/{ch}/messages?after_seq=-1", {}),
    ("/api/channels/{ch}/messages?limit=%D9%A3", {}),
    ("/api/operations/{op}/events?after_seq=18446744073709551616", {}),
    ("/api/operations/{op}/events?after_seq=" + "1" * 5000, {}),
    ("/api/operations/{op}/events?limit=0", {}),
])
async def test_numeric_parameters_out_of_range_are_400(running_hub: RunningHub, path: str,
                                                       headers: dict[str, str]) -> None:
    url = path.format(ch=running_hub.ch("A/general"), op=running_hub.ops["A"].id)
    r = await running_hub.api("GET", url, "alice", headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["retryable"] is False


async def test_out_of_range_seq_and_if_match_are_400(running_hub: RunningHub) -> None:
    ch, op = running_hub.ch("A/general"), running_hub.ops["A"].id
    r = await running_hub.api("POST", f"/api/channels/{ch}/messages/18446744073709551616/ack",
                              "alice")
    assert r.status_code == 400 and r.json()["error"]["retryable"] is False
    case = (await running_hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                                  json={"title": "t"})).json()
    r = await running_hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "bruno",
                              json={"severity": "minor"}, headers={"If-Match": "9" * 5000})
    _refused(r, "If-Match")
    r = await running_hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "bruno",
                              json={"severity": "minor"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200


async def test_huge_integers_and_deep_structures_are_refused(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    r = await _raw(running_hub, "POST", f"/api/operations/{op}/cases", "bruno",
                   '{"title":"t","fields":{"casualties":' + "9" * 30 + "}}")
    _refused(r, "fields.casualties")
    r = await _raw(running_hub, "POST", f"/api/operations/{op}/cases", "bruno",
                   '{"title":"t","fields":' + '{"a":' * 20 + "1" + "}" * 21)
    _refused(r, "nested")


# --- alerts silently lost -------------------------------------------------------------


async def _rule(hub: RunningHub, rule: dict[str, Any]) -> Any:
    return await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/rules", "alice",
                         json=rule)


async def test_summary_templates_fail_at_save_and_render_custom_fields(
        running_hub: RunningHub) -> None:
    r = await _rule(running_hub, {"id": "bad", "when": "fields.casualties >= 10",
                                  "summary": "{title}: {casualties} casualties reported"})
    _refused(r, "unknown name 'casualties' at column 11")
    for bad in ("{title.x}", "{title:>4000000}", "{title!r}"):
        _refused(await _rule(running_hub, {"id": "bad", "when": "true", "summary": bad}),
                 "summary")
    good = {"id": "mass", "when": "fields.casualties >= 10", "severity": "critical",
            "summary": "{title}: {fields.casualties} casualties reported"}
    other = {"id": "crit", "when": 'severity == "critical"', "summary": "{title} critical"}
    assert (await _rule(running_hub, good)).status_code == 201
    assert (await _rule(running_hub, other)).status_code == 201
    op = running_hub.ops["A"].id
    r = await running_hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                              json={"title": "Bus crash", "severity": "critical",
                                    "fields": {"casualties": 12}})
    assert r.status_code == 201
    for _ in range(200):
        alerts = (await running_hub.api("GET", f"/api/operations/{op}/alerts",
                                        "olga")).json()["alerts"]
        if len(alerts) == 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(a["summary"] for a in alerts) == ["Bus crash critical",
                                                     "Bus crash: 12 casualties reported"]
    rules = (await running_hub.api("GET", f"/api/operations/{op}/rules", "olga")).json()
    assert {r["id"]: r["health"]["state"] for r in rules["rules"]} == {"mass": "ok",
                                                                        "crit": "ok"}


async def test_rules_that_can_never_work_are_refused(running_hub: RunningHub) -> None:
    cases = [
        ({"id": "x", "when": "true", "escalation": "nope"}, "no escalation policy 'nope'"),
        ({"id": "x", "when": 'severity == "catastrophic"'}, "is not a severity"),
        ({"id": "x", "when": "severity > 3"}, "is not a severity"),
        ({"id": "x", "when": 'status < "open"'}, "has no order"),
        ({"id": "x", "when": 'title == "\\x"'}, "unknown escape"),
        ({"id": "x", "when": "true", "for": 300}, "field 'for': expected `str`, got `int`"),
        ({"id": "x", "when": "true", "for": "300"}, "field 'for' must be a duration: a number "
                                                    "with its unit, like 90s"),
        ({"id": "x", "when": "true", "for": "1000d"}, "longer than the maximum"),
    ]
    for rule, needle in cases:
        _refused(await _rule(running_hub, rule), needle)
    op = running_hub.ops["A"].id
    r = await running_hub.api("POST", f"/api/operations/{op}/alerts", "bruno",
                              json={"summary": "s", "escalation": "nope"})
    _refused(r, "no escalation policy 'nope'")


async def test_non_ascii_literals_match_and_bad_dry_runs_are_400(
        running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    await running_hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                          json={"title": "Évacuation", "location": {"place": "Kerns"}})
    dry = f"/api/operations/{op}/rules/dry-run"
    r = await running_hub.api("POST", dry, "alice",
                              json={"id": "t", "when": 'title == "Évacuation"',
                                    "summary": "{title} at {location.place}"})
    assert r.status_code == 200 and [m["summary"] for m in r.json()["matches"]] == \
        ["Évacuation at Kerns"]
    r = await running_hub.api("POST", dry, "alice", json={"id": "t",
                                                         "when": "location.place < null"})
    assert r.status_code == 200 and r.json()["matches"] == []
    r = await running_hub.api("POST", dry, "alice", json={"id": "t", "when": "true",
                                                         "summary": "{title:>4000000}" * 5})
    _refused(r, "summary")
    r = await running_hub.api("POST", dry, "olga", json={"id": "t", "when": "true"})
    assert r.status_code == 403


async def test_a_failing_pipeline_never_fails_the_write(running_hub: RunningHub) -> None:
    """The case is stored and reported as stored even if evaluation blows up, and the
    pipeline takes it in from its cursor once it works again."""
    pipeline = running_hub.services.pipeline
    real = pipeline.run
    attempts = 0

    async def broken(*args: Any, **kwargs: Any) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("pipeline down")

    r = await _rule(running_hub, {"id": "crit", "when": 'severity == "critical"'})
    assert r.status_code == 201, r.text
    await running_hub.settle()
    pipeline.run = broken  # type: ignore[method-assign]
    op = running_hub.ops["A"].id
    try:
        r = await running_hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                                  json={"title": "stored anyway", "severity": "critical"})
        assert r.status_code == 201 and r.json()["title"] == "stored anyway"
        with pytest.raises(RuntimeError):
            await running_hub.settle()
        assert attempts >= 1
    finally:
        pipeline.run = real  # type: ignore[method-assign]
    await running_hub.settle()
    r = await running_hub.api("GET", f"/api/operations/{op}/alerts", "bruno")
    [alert] = r.json()["alerts"]
    assert alert["rule_id"] == "crit" and alert["state"] == "firing"


# --- reaching past one's agency ---------------------------------------------------------


async def test_pushed_alert_cannot_route_into_a_channel_hidden_from_the_caller(
        running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    answers = []
    for target in ("channel:police", "channel:no-such-channel"):
        r = await running_hub.api("POST", f"/api/operations/{op}/alerts", "bruno",
                                  json={"summary": "s", "route": [target]})
        _refused(r, "is not a channel of this operation that you may post in")
        answers.append(r.json()["error"]["message"].replace(target, "T"))
    assert answers[0] == answers[1]
    r = await _rule(running_hub, {"id": "x", "when": "true", "route": ["channel:general"]})
    assert r.status_code == 201
    policy = {"id": "p", "steps": [{"notify": ["channel:nowhere"]}]}
    r = await running_hub.api("POST", f"/api/operations/{op}/policies", "alice", json=policy)
    _refused(r, "steps[0].notify")


async def test_patching_a_hidden_channel_answers_like_a_missing_one(
        running_hub: RunningHub) -> None:
    hidden = await running_hub.api("PATCH", f"/api/channels/{running_hub.ch('A/police')}",
                                   "bruno", json={"topic": "x"})
    missing = await running_hub.api("PATCH", "/api/channels/ch_nope", "bruno",
                                    json={"topic": "x"})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


async def test_channel_agencies_must_take_part_in_the_operation(
        running_hub: RunningHub) -> None:
    r = await running_hub.api("PATCH", f"/api/channels/{running_hub.ch('A/general')}",
                              "alice", json={"agencies": ["POLICE", "CUSTOMS"]})
    _refused(r, "take part in the operation")


async def test_a_non_member_admin_reads_no_operation_content(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    await running_hub.api("POST", f"/api/operations/{op}/cases", "bruno", json={"title": "t"})
    for path in ("cases", "alerts", "events", "rules", "policies", "silences"):
        r = await running_hub.api("GET", f"/api/operations/{op}/{path}", "root")
        assert r.status_code == 403, (path, r.text)
    msgs = await running_hub.api("GET", f"/api/channels/{running_hub.ch('A/general')}/messages",
                                 "root")
    assert msgs.status_code == 403
    # Administration still works without membership.
    assert (await running_hub.api("GET", f"/api/operations/{op}/members",
                                  "root")).status_code == 200
    client = await running_hub.client("root")
    await client.send({"type": "subscribe", "channel": f"ops:{op}", "board": True, "ref": "b"})
    err = await client.recv_type("error")
    assert err["code"] == "forbidden" and err["ref"] == "b"


# --- the store never serves a record it cannot encode -------------------------------------


async def _plant(hub: RunningHub, op_id: str, kind: str, record_id: str, raw: str) -> None:
    """Write a record's JSON behind the engine's back, as an older hub could have."""
    store: Any = hub.hub.engine.store
    if hub.settings.engine == "embedded":
        await store._run(lambda db: db.execute(
            "UPDATE records SET doc=? WHERE kind=? AND id=?", (raw, kind, record_id)))
    else:
        await store.r.hset(store.keys.record(op_id, kind, record_id), "doc", raw)


async def test_a_poisoned_stored_record_is_served_repaired_and_counted(
        running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    r = await running_hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                              json={"title": "bridge", "fields": {"level": 1}})
    case = r.json()
    doc = {k: v for k, v in case.items() if k not in ("version", "event_seq", "duplicate")}
    raw = json.dumps({**doc, "title": "bridge \udc00", "fields": {"level": float("nan")}})
    await _plant(running_hub, op, "case", case["id"], raw)
    listed = await running_hub.api("GET", f"/api/operations/{op}/cases", "olga")
    assert listed.status_code == 200
    served = listed.json()["cases"][0]
    assert served["title"] == "bridge \ufffd" and served["fields"] == {"level": None}
    one = await running_hub.api("GET", f"/api/operations/{op}/cases/{case['id']}", "olga")
    assert one.status_code == 200
    metrics = (await running_hub.api("GET", "/metrics")).text
    line = next(x for x in metrics.splitlines() if x.startswith("liaison_poisoned_records_total"))
    assert float(line.split()[-1]) >= 2


