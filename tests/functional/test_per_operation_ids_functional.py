"""Issue 26, item 6: ids are the operation's own (both engines).

One public CAP feed routed into several operations is the normal setup. The same
document posted to a second operation answered 409 "belongs to another operation" —
telling that operation's bot about an operation it cannot see — and stored a case and
a firing alert there anyway, which no Update or Cancel could reach. Rule ids were
global too, although the API reference says they are unique in the operation."""

from __future__ import annotations

from typing import Any

from hub.principal import Principal
from tests.alerting.interop.test_cap_in import CANCEL, STORM, STORM_UPDATE
from tests.conftest import RunningHub

CAP = {"Content-Type": "application/cap+xml"}


async def _bot(hub: RunningHub, username: str, ops: tuple[str, ...]) -> str:
    """A bot member of ``ops`` ("A", "B") with one API token scoped to all of them."""
    bot = await hub.hub.auth.create_user(username=username, display_name=username,
                                         agency="POLICE", password=None, is_bot=True,
                                         actor="test")
    root = await hub.hub.engine.store.get_user_by_name("root")
    assert root is not None
    for op in ops:
        await hub.services.channels.set_member(Principal(root, "t", "session", None, None),
                                               hub.ops[op].id, username, "member", "t")
    token, _ = await hub.hub.auth.create_api_token(
        bot, name=username, scope=tuple(hub.ops[op].id for op in ops), actor="test")  # type: ignore[misc]
    return token


async def _post(hub: RunningHub, token: str, op: str, doc: str) -> Any:
    assert hub.http is not None
    r = await hub.http.post(f"/api/operations/{hub.ops[op].id}/cap", content=doc.encode(),
                            headers={**CAP, "Authorization": f"Bearer {token}"})
    other = hub.ops["B" if op == "A" else "A"]
    # Nothing about the other operation, whatever the answer.
    assert other.id not in r.text and other.code not in r.text, r.text
    assert "another operation" not in r.text, r.text
    return r


async def _state(hub: RunningHub, op: str, reader: str) -> tuple[list[Any], list[Any]]:
    op_id = hub.ops[op].id
    cases = (await hub.api("GET", f"/api/operations/{op_id}/cases", reader)).json()["cases"]
    alerts = (await hub.api("GET", f"/api/operations/{op_id}/alerts", reader)).json()["alerts"]
    return cases, alerts


async def test_one_cap_document_in_two_operations_is_one_case_and_alert_in_each(
        running_hub: RunningHub) -> None:
    hub = running_hub
    feed = await _bot(hub, "capfeed", ("A", "B"))       # one gateway, two operations
    other = await _bot(hub, "capfeed2", ("B",))         # and a second bot in B
    for op in ("A", "B"):
        r = await _post(hub, feed, op, STORM)
        assert r.status_code == 201 and r.json()["action"] == "created", r.text
    r = await _post(hub, other, "B", STORM)
    assert r.status_code == 201 and r.json()["action"] == "created", r.text
    (a_cases, a_alerts), (b_cases, b_alerts) = (await _state(hub, "A", "alice"),
                                                await _state(hub, "B", "xavier"))
    assert len(a_cases) == 1 and len(a_alerts) == 1
    assert len(b_cases) == 2 and len(b_alerts) == 2  # one per credential, as before
    assert {c["id"] for c in a_cases}.isdisjoint(c["id"] for c in b_cases)
    # Each operation's Update and Cancel apply to that operation only.
    r = await _post(hub, feed, "B", STORM_UPDATE)
    assert r.status_code == 201 and r.json()["action"] == "updated", r.text
    (a_cases, a_alerts), (b_cases, b_alerts) = (await _state(hub, "A", "alice"),
                                                await _state(hub, "B", "xavier"))
    assert a_cases[0]["severity"] == "major" and a_cases[0]["version"] == 1
    updated = next(c for c in b_cases if c["id"] == r.json()["case_id"])
    assert updated["severity"] == "critical"
    r = await _post(hub, feed, "A", CANCEL)
    assert r.status_code == 201 and r.json()["action"] == "cancelled", r.text
    (a_cases, a_alerts), (b_cases, b_alerts) = (await _state(hub, "A", "alice"),
                                                await _state(hub, "B", "xavier"))
    assert a_cases[0]["status"] == "closed" and a_alerts[0]["state"] == "resolved"
    assert all(c["status"] != "closed" for c in b_cases)
    assert all(a["state"] == "firing" for a in b_alerts)
    r = await _post(hub, feed, "B", CANCEL)
    assert r.status_code == 201 and r.json()["action"] == "cancelled", r.text
    _, b_alerts = await _state(hub, "B", "xavier")
    assert sorted(a["state"] for a in b_alerts) == ["firing", "resolved"]  # capfeed2's stays
    # The same document again is a duplicate in its own operation only.
    r = await _post(hub, feed, "A", STORM)
    assert r.status_code == 200 and r.json()["duplicate"] is True


async def test_rule_ids_are_unique_in_their_operation(running_hub: RunningHub) -> None:
    hub = running_hub
    rule = {"id": "crit", "when": 'severity == "critical"', "severity": "critical",
            "summary": "{title} is critical"}
    for op, user in (("A", "alice"), ("B", "root")):
        if op == "B":
            await hub.api("PUT", f"/api/operations/{hub.ops['B'].id}/members/xavier", "root",
                          json={"role": "coordinator"})
            user = "xavier"
        r = await hub.api("POST", f"/api/operations/{hub.ops[op].id}/rules", user,
                          json={**rule, "summary": f"{op}: {{title}} is critical"})
        assert r.status_code == 201, r.text
        assert "another operation" not in r.text
    for op, user in (("A", "alice"), ("B", "xavier")):
        rules = (await hub.api("GET", f"/api/operations/{hub.ops[op].id}/rules",
                               user)).json()["rules"]
        [crit] = [x for x in rules if x["id"] == "crit"]
        assert crit["summary"] == f"{op}: {{title}} is critical" and crit["version"] == 1
