"""Alertmanager and Grafana webhooks through a real hub (both engines): alerts fire,
count repeats, resolve by fingerprint; retries change nothing; refusals store nothing."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from channels.bodies import chat_body
from hub.models import ChannelId
from tests.alerting.interop.test_alertmanager import ALERTMANAGER, GRAFANA
from tests.conftest import RunningHub, embedded_settings
from tests.web.pages import bot_token


def _url(hub: RunningHub, kind: str = "alertmanager", query: str = "") -> str:
    return f"/api/operations/{hub.ops['A'].id}/receivers/{kind}{query}"


async def _send(hub: RunningHub, token: str, body: dict[str, Any], kind: str = "alertmanager",
                query: str = "", method: str = "POST") -> list[dict[str, Any]]:
    assert hub.http is not None
    r = await hub.http.request(method, _url(hub, kind, query), json=body,
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()["alerts"]  # type: ignore[no-any-return]


async def _alerts(hub: RunningHub) -> dict[str, dict[str, Any]]:
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts", "alice")
    return {a["fingerprint"]: a for a in r.json()["alerts"]}


def _resolved(body: dict[str, Any], index: int = 0) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out["status"] = "resolved"
    out["alerts"] = [out["alerts"][index]]
    out["alerts"][0].update(status="resolved", endsAt="2026-12-01T11:00:00Z")
    return out


async def test_an_alertmanager_group_fires_resends_change_nothing_and_resolved_resolves(
        running_hub: RunningHub) -> None:
    hub = running_hub
    token = await bot_token(hub)
    got = await _send(hub, token, ALERTMANAGER)
    assert [(a["fingerprint"], a["action"]) for a in got] == [
        ("am:c4a1e7d2b9f03a15", "fired"), ("am:0d9e8f7a6b5c4d3e", "fired")]
    alerts = await _alerts(hub)
    kerns = alerts["am:c4a1e7d2b9f03a15"]
    assert kerns["state"] == "firing" and kerns["severity"] == "critical"
    assert kerns["summary"] == "River at Kerns above 4 m" and kerns["source"] == "monitoring"
    assert kerns["labels"]["gauge"] == "kerns-7"
    assert kerns["annotations"]["runbook_url"] == "https://wiki.example.org/flood"
    assert kerns["links"]["source"] == "http://alertmanager.example.org:9093"
    assert kerns["links"]["generator"].startswith("http://prometheus.example.org:9090/")

    # Alertmanager retries the same notification: nothing changes, nothing is logged twice.
    # (The alert pipeline reacts to the fired alerts in the background: let it finish
    # first, so what it writes is not mistaken for the resends'.)
    await hub.settle()
    _, head = await hub.hub.engine.store.op_event_bounds(hub.ops["A"].id)
    for _ in range(2):
        again = await _send(hub, token, ALERTMANAGER)
        assert {a["action"] for a in again} == {"unchanged"}
    await hub.settle()
    assert (await hub.hub.engine.store.op_event_bounds(hub.ops["A"].id))[1] == head
    assert (await _alerts(hub))["am:c4a1e7d2b9f03a15"]["occurrences"] == 1

    # Resolved resolves; sent again, or a late firing of that episode, changes nothing.
    done = await _send(hub, token, _resolved(ALERTMANAGER))
    assert done == [{"fingerprint": "am:c4a1e7d2b9f03a15", "action": "resolved",
                     "id": kerns["id"]}]
    assert (await _send(hub, token, _resolved(ALERTMANAGER)))[0]["action"] == "ignored"
    late = await _send(hub, token, ALERTMANAGER)
    assert [a["action"] for a in late] == ["ignored", "unchanged"]
    alerts = await _alerts(hub)
    assert alerts["am:c4a1e7d2b9f03a15"]["state"] == "resolved"
    assert alerts["am:c4a1e7d2b9f03a15"]["resolution"] == "source"
    # A new episode of the same alert (it starts again) is a new alert.
    anew = copy.deepcopy(ALERTMANAGER)
    anew["alerts"][0]["startsAt"] = "2026-12-01T12:00:00Z"  # type: ignore[index]
    assert (await _send(hub, token, anew))[0]["action"] == "fired"
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts", "alice")
    assert len([a for a in r.json()["alerts"] if a["fingerprint"] == "am:c4a1e7d2b9f03a15"]) \
        == 2


async def test_grafana_by_put_with_its_own_severity_label_and_a_route_to_alerts(
        running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/channels", "alice", json={"name": "alerts"})
    assert r.status_code == 201
    alerts_channel = ChannelId(r.json()["id"])
    token = await bot_token(hub)
    got = await _send(hub, token, GRAFANA, "grafana",
                      "?severity_label=priority&route=channel:alerts", method="PUT")
    assert got[0]["action"] == "fired"
    alert = (await _alerts(hub))["am:a1b2c3d4e5f60718"]
    assert alert["severity"] == "major" and alert["route"] == ["channel:alerts"]
    assert alert["links"]["dashboard"] == "https://grafana.example.org/d/shelters"
    store = hub.hub.engine.store
    async with asyncio.timeout(20):  # the pipeline posts its notice
        while not (notices := await store.read_messages(alerts_channel, after_seq=0)):
            await asyncio.sleep(0.05)
    assert notices[0].sender == "hub" and "Shelter occupancy" in chat_body(notices[0]).text


async def test_a_repeat_notification_after_the_resend_window_counts(start_hub: Any,
                                                                    tmp_path: Any) -> None:
    hub = await start_hub(embedded_settings(tmp_path).replace(alert_resend_seconds=0.0))
    token = await bot_token(hub)
    await _send(hub, token, ALERTMANAGER)
    again = await _send(hub, token, ALERTMANAGER)
    assert {a["action"] for a in again} == {"repeated"}
    assert (await _alerts(hub))["am:c4a1e7d2b9f03a15"]["occurrences"] == 2


async def test_refused_notifications_store_nothing(running_hub: RunningHub) -> None:
    hub = running_hub
    token = await bot_token(hub)
    assert hub.http is not None
    r = await hub.http.post(_url(hub), json=ALERTMANAGER)
    assert r.status_code == 401
    r = await hub.api("POST", _url(hub), "olga", json=ALERTMANAGER)
    assert r.status_code == 403  # an observer
    r = await hub.api("POST", f"/api/operations/{hub.ops['B'].id}/receivers/alertmanager",
                      "bruno", json=ALERTMANAGER)
    assert r.status_code == 404
    bad = copy.deepcopy(ALERTMANAGER)
    bad["alerts"][1]["labels"] = {"alertname": 7}  # type: ignore[index]
    for body, query, says in [
            (bad, "", "'alerts[1].labels.alertname'"),
            ({"version": "4"}, "", "'alerts'"),
            (ALERTMANAGER, "?route=channel:nowhere", "channel:nowhere"),
            (ALERTMANAGER, "?escalation=nope", "escalation"),
            (ALERTMANAGER, "?route=bogus", "route")]:
        r = await hub.http.post(_url(hub, query=query), json=body,
                                headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400 and says in r.json()["error"]["message"], (query, r.text)
    big = copy.deepcopy(ALERTMANAGER)
    big["alerts"] = big["alerts"] * 300  # type: ignore[operator]
    big["commonAnnotations"] = {"x": "y" * 9000}
    r = await hub.http.post(_url(hub), json={**big, "pad": "z" * (1024 * 1024)},
                            headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 413
    assert await _alerts(hub) == {}
