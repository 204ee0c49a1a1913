"""The OpenAPI document at /api/openapi.json, checked by schemathesis against a running hub:
no request it can make from the document gets a 5xx, every answer matches the document,
and a request the document allows is refused only for a reason no schema can state."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.models import OperationId
from tests.conftest import STRICT, embedded_settings

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")

#: What the hub may refuse in a request its document allows: each depends on stored
#: state, the caller's credential, the network, a comparison between fields or another
#: language (rules, CAP's XML, JSON inside a form field). Anything else is a schema
#: looser than the hub's checks.
BEYOND_A_SCHEMA = {
    r"is above its container's|narrows? .* container|widen": "a label's ceiling is the "
    "stored label of its channel or operation",
    r"marks a real event inside an exercise": "whether the operation is an exercise",
    r"API tokens are revoked with": "which credential the caller used",
    r"the root element must be <alert>|CAP|XML|xml": "CAP is XML, checked by its own schema",
    r"resolves to a non-public address|does not resolve": "what the name resolves to",
    r"the host in brackets is not an IPv6 address": "what an IPv6 address is",
    r"no escalation policy": "a policy that must exist first",
    r"is not a channel of this operation": "a channel that must exist",
    r"must be a time after starts_at": "a comparison between two fields",
    r"group_wait: from|group_interval: from|longer than the maximum|needs a window":
        "a duration's range (a rate rule's window of 0s)",
    r"expected `int`, got `float`": "JSON Schema's integer admits 1.0; the hub wants 1",
    r"outside the integer range": "the hub's limit on any number, in fields it keeps as given",
    r"'payload' is not valid JSON|'payload' must be a JSON object": "JSON inside a form field",
    r"'Upload-Metadata' (value|has a key|names)": "tus metadata: base64 of text, in a header",
    r"is not a finished upload of yours": "an upload that must exist and be finished first",
    r"rule '[^']*': (when|summary): (?!is limited)": "a condition or template in the rule "
    "language, parsed when saved",
    r"this hub has no translation engine": "whether the hub's operator configured one",
    r"glossary CSV|glossary TBX": "CSV and TBX, each read by its own reader",
    r"no form in|a do-not-translate entry has one text": "a comparison between fields",
    r"a redacted message or a hub notice has no translation|one of the operation's "
    r"languages other than": "the stored message and the operation's languages",
}


def _schemathesis() -> str:
    beside = Path(sys.executable).parent / "schemathesis"
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if found is None:
        reason = "schemathesis not found: install the test extras (pip install -e '.[test]')"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    return found


async def _run(start_hub: Any, tmp_path: Path, checks: str,
               ) -> tuple[int, str, dict[str, Any], Any]:
    """schemathesis over every operation of a hub holding one of each record."""
    tool = _schemathesis()
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
    policy = (await hub.api("POST", f"/api/operations/{op.id}/policies", "alice",
                            json={"id": "duty", "steps": [{"notify": ["user:bruno"]}]})).json()
    ids = {"op_id": op.id, "ch_id": hub.ch("A/general"), "case_id": case["id"],
           "alert_id": alert["id"], "silence_id": silence["id"], "hook_id": hook["id"],
           "seq": str(urgent["seq"]), "username": "bruno"}
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + "".join(f'"path.{k}" = "{v}"\n'
                                                  for k, v in ids.items())
                      + f'"query.escalation" = "{policy["id"]}"\n', encoding="utf-8")
    report = tmp_path / "report.json"
    proc = await asyncio.create_subprocess_exec(
        tool, "--config-file", str(config), "run", f"{hub.url}/api/openapi.json",
        "--checks", checks, "-H", f"Authorization: Bearer {token}",
        "--max-examples", "12", "--seed", "7", "--generation-database", "none",
        "--phases", "examples,coverage,fuzzing", "--request-timeout", "10",
        "--workers", "1", "--no-color", "--report", "json", "--report-json-path", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.functional.schemathesis_hooks",
             "PYTHONPATH": str(ROOT)})
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    assert proc.returncode is not None
    return (proc.returncode, out.decode(errors="replace"),
            json.loads(report.read_text(encoding="utf-8")), hub)


async def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
        start_hub: Any, tmp_path: Path) -> None:
    code, text, result, hub = await _run(start_hub, tmp_path, CHECKS)
    assert code == 0, text[-6000:]
    described = sum(len(ops) for ops in hub_document(hub)["paths"].values())
    assert result["operations"]["tested"] == result["operations"]["total"]
    assert result["operations"]["total"] >= described - 1  # it leaves out the document itself
    assert result["failures"] == [] and result["errors"] == []
    assert result["test_cases"]["generated"] > 20 * described


async def test_a_request_the_document_allows_is_refused_only_beyond_what_a_schema_says(
        start_hub: Any, tmp_path: Path) -> None:
    code, text, result, _ = await _run(start_hub, tmp_path, "positive_data_acceptance")
    assert result["errors"] == [], text[-6000:]
    refusals = _refusals(text)
    assert bool(refusals) == (code != 0), text[-6000:]
    loose = [(op, message) for op, message in refusals
             if not any(re.search(pattern, message) for pattern in BEYOND_A_SCHEMA)]
    assert loose == [], "\n".join(f"{op}: {message}" for op, message in loose)
    # the check does run: the hub refuses a label above its channel's, which no schema knows
    assert any("container" in message for _, message in refusals), text[-6000:]


def _refusals(text: str) -> list[tuple[str, str]]:
    """(operation, the hub's message) of each rejected request in schemathesis's report
    (which shows an answer's body as it came, or shortened)."""
    out = []
    operation = ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"_+ [A-Z]+ \S+ _+", line):
            operation = line
        elif re.fullmatch(r"\[4\d\d\] .*:", line):
            body = "\n".join(lines[i + 1:i + 8])  # a message may hold a line break
            said = re.search(r'"message":\s*"((?:[^"\\]|\\.)*)', body)
            out.append((operation.strip("_ "), said.group(1) if said else body))
    return out


def hub_document(hub: Any) -> dict[str, Any]:
    return hub.services.hub and hub.app.state.openapi  # type: ignore[no-any-return]
