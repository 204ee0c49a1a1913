"""Health, readiness and Prometheus metrics of a running hub."""

from __future__ import annotations

from hub import __version__
from hub.engine.schema import SCHEMAS
from tests.conftest import RunningHub


async def test_health_ready_and_metrics(running_hub: RunningHub) -> None:
    assert (await running_hub.api("GET", "/healthz")).json() == {
        "status": "ok", "version": __version__}
    ready = await running_hub.api("GET", "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "store": "ok", "broker": "ok", "node": "ok"}
    engine = ready.json()["engine"]
    assert ready.json()["version"] == __version__
    assert ready.json()["schema"] == SCHEMAS[engine]  # stamped by the first open
    openapi = (await running_hub.api("GET", "/api/openapi.json")).json()
    assert openapi["info"]["version"] == __version__

    ch = running_hub.ch("A/general")
    alice = await running_hub.client("alice")
    bruno = await running_hub.client("bruno")
    await bruno.subscribe(ch)
    await alice.publish(ch, "one")
    await bruno.messages(1)
    await alice.send_raw("{broken")
    await alice.recv_type("error")

    text = (await running_hub.api("GET", "/metrics")).text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    assert values["liaison_connections"] == 2
    assert values['liaison_frames_in_total{type="publish"}'] == 1
    assert values['liaison_frames_in_total{type="invalid"}'] == 1
    assert values['liaison_frames_out_total{type="message"}'] >= 1
    assert values['liaison_refusals_total{reason="bad_frame"}'] == 1
    assert values["liaison_messages_stored_total"] == 1
    assert values["liaison_fanout_latency_seconds_count"] == 1


async def test_security_headers_on_pages(running_hub: RunningHub) -> None:
    r = await running_hub.api("GET", "/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
