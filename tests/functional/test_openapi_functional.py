"""The OpenAPI document at /api/openapi.json, checked by schemathesis against a running hub:
no request it can make from the document gets a 5xx, and every answer matches the document."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.models import OperationId
from tests.conftest import STRICT, embedded_settings

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


def _schemathesis() -> str | None:
    beside = Path(sys.executable).parent / "schemathesis"
    return str(beside) if beside.exists() else shutil.which("schemathesis")


async def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
        start_hub: Any, tmp_path: Path) -> None:
    tool = _schemathesis()
    if tool is None:
        reason = "schemathesis not found: install the test extras (pip install -e '.[test]')"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    hub = await start_hub(embedded_settings(tmp_path).replace(login_failures_per_address=10_000,
                                                              login_failures_per_account=10_000))
    op = hub.ops["A"]
    alice = await hub.hub.engine.store.get_user_by_name("alice")
    assert alice is not None
    token, _ = await hub.hub.auth.create_api_token(alice, name="schemathesis",
                                                   scope=(OperationId(op.id),), actor="test")
    # Real ids for the path parameters, so requests reach past "not found".
    case = (await hub.api("POST", f"/api/operations/{op.id}/cases", "alice",
                          json={"title": "Levee", "severity": "critical"})).json()
    alert = (await hub.api("POST", f"/api/operations/{op.id}/alerts", "alice",
                           json={"summary": "Gauge 7", "severity": "major"})).json()
    silence = (await hub.api("POST", f"/api/operations/{op.id}/silences", "alice",
                             json={"matchers": [{"label": "rule", "value": "x"}],
                                   "duration": "1h", "reason": "drill"})).json()
    hook = (await hub.api("POST", f"/api/operations/{op.id}/webhooks", "alice",
                          json={"name": "feed", "channel": hub.ch("A/general")})).json()
    urgent = (await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                            json={"text": "evacuate", "client_msg_id": "u1",
                                  "priority": "urgent"})).json()
    ids = {"op_id": op.id, "ch_id": hub.ch("A/general"), "case_id": case["id"],
           "alert_id": alert["id"], "silence_id": silence["id"], "hook_id": hook["id"],
           "seq": str(urgent["seq"]), "username": "bruno"}
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + "".join(f'"path.{k}" = "{v}"\n'
                                                  for k, v in ids.items()), encoding="utf-8")
    report = tmp_path / "report.json"
    proc = await asyncio.create_subprocess_exec(
        tool, "--config-file", str(config), "run", f"{hub.url}/api/openapi.json",
        "--checks", CHECKS, "-H", f"Authorization: Bearer {token}",
        "--max-examples", "12", "--seed", "7", "--generation-database", "none",
        "--phases", "examples,coverage,fuzzing", "--request-timeout", "10",
        "--workers", "1", "--no-color", "--report", "json", "--report-json-path", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    described = sum(len(ops) for ops in hub_document(hub)["paths"].values())
    assert result["operations"]["tested"] == result["operations"]["total"]
    assert result["operations"]["total"] >= described - 1  # it leaves out the document itself
    assert result["failures"] == [] and result["errors"] == []
    assert result["test_cases"]["generated"] > 20 * described


def hub_document(hub: Any) -> dict[str, Any]:
    return hub.services.hub and hub.app.state.openapi  # type: ignore[no-any-return]
