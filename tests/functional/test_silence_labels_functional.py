"""Silences carry a confidentiality label (alerting/pipeline/silence_label.py), both engines.

A silence's reason and matchers say what it is about, so a member who may not see
the case or alert it names may not see the silence either: not in the list, not in
the event log, not to end it (answered exactly like a silence that does not exist).
"""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningHub

SECRET_POLICE = {"level": "SECRET", "categories": {"REL TO": ["POLICE"]}}


async def _setup(hub: RunningHub) -> str:
    op = hub.ops["A"].id
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"label": "SECRET"})
    assert r.status_code == 200, r.text
    await hub.clear(alice="SECRET", bruno="SECRET", olga="RESTRICTED")
    return op


async def _case(hub: RunningHub, op: str, label: Any) -> str:
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": f"case {label}", "label": label})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _silence(hub: RunningHub, op: str, matcher: dict[str, str], reason: str,
                   **extra: Any) -> Any:
    return await hub.api("POST", f"/api/operations/{op}/silences", "alice",
                         json={"matchers": [matcher], "duration": "1h", "reason": reason,
                               **extra})


async def test_each_member_sees_the_silences_their_clearance_reaches(
        running_hub: RunningHub) -> None:
    hub = running_hub
    op = await _setup(hub)
    low, secret = await _case(hub, op, "RESTRICTED"), await _case(hub, op, "SECRET")
    police = await _case(hub, op, SECRET_POLICE)
    made = {}
    for name, matcher in {"low": {"label": "case", "value": low},
                          "secret": {"label": "case", "value": secret},
                          "police": {"label": "case", "value": police},
                          "anything": {"label": "severity", "value": "info"}}.items():
        r = await _silence(hub, op, matcher, f"crews on site ({name})")
        assert r.status_code == 201, r.text
        made[name] = r.json()
    # A silence naming a case takes its marking; naming none, the operation's.
    assert made["low"]["label"]["level"] == "RESTRICTED"
    assert made["secret"]["label"]["level"] == "SECRET"
    assert made["police"]["label"]["categories"] == {"REL TO": ["POLICE"]}
    assert made["anything"]["label"]["level"] == "SECRET"

    seen = {"alice": {"low", "secret", "police", "anything"},
            "bruno": {"low", "secret", "anything"},  # ARMY: not the POLICE-only one
            "olga": {"low"}}
    for user, names in seen.items():
        listed = (await hub.api("GET", f"/api/operations/{op}/silences", user)).json()
        assert {s["id"] for s in listed["silences"]} == {made[n]["id"] for n in names}, user
        events = (await hub.api("GET", f"/api/operations/{op}/events", user)).json()["events"]
        assert {e["id"] for e in events if e["kind"] == "silence"} == \
            {made[n]["id"] for n in names}, user

    # bruno may end silences, but one he cannot see answers like one that does not exist.
    hidden = await hub.api("POST", f"/api/operations/{op}/silences/{made['police']['id']}"
                           "/expire", "bruno")
    missing = await hub.api("POST", f"/api/operations/{op}/silences/sil_doesNotExist/expire",
                            "bruno")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json()) \
        == (404, missing.json())
    ended = await hub.api("POST", f"/api/operations/{op}/silences/{made['secret']['id']}"
                          "/expire", "bruno")
    assert ended.status_code == 200 and ended.json()["label"]["level"] == "SECRET"


async def test_a_silence_is_never_marked_below_what_it_names(running_hub: RunningHub) -> None:
    hub = running_hub
    op = await _setup(hub)
    secret = await _case(hub, op, "SECRET")
    r = await _silence(hub, op, {"label": "case", "value": secret}, "below its case",
                       label="RESTRICTED")
    assert r.status_code == 400 and "'label'" in r.json()["error"]["message"], r.text
    r = await _silence(hub, op, {"label": "severity", "value": "info"}, "all info, openly",
                       label="RESTRICTED")
    assert r.status_code == 201 and r.json()["label"]["level"] == "RESTRICTED"
    listed = (await hub.api("GET", f"/api/operations/{op}/silences", "olga")).json()
    assert [s["reason"] for s in listed["silences"]] == ["all info, openly"]
