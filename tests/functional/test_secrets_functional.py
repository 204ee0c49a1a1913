"""Secrets never reach the logs or the audit trail."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import PASSWORD, RunningHub


async def test_no_token_or_password_in_logs_or_audit(running_hub: RunningHub,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = await running_hub.login("alice")
    alice = await running_hub.client("alice")
    await alice.publish(running_hub.ch("A/general"), "a message body that stays private")
    assert running_hub.http is not None
    await running_hub.http.post("/api/auth/login", json={"username": "alice",
                                                         "password": "wrong-" + PASSWORD})
    await running_hub.api("POST", "/api/auth/logout", "alice")
    # The test's own client library logs its frames too; only the hub's loggers count.
    hub_records = [r for r in caplog.records if not r.name.startswith("websockets.client")]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in hub_records)
    assert "audit" in logged  # the audit trail was logged, so the check below means something
    audit = "\n".join([str(r.as_dict()) async for r in running_hub.hub.engine.store.iter_audit()])
    for text in (logged, audit):
        assert token not in text and token[4:] not in text
        assert PASSWORD not in text
        assert "stays private" not in text
