"""Rules and policies as code: default rules from a file, `liaison rules check|load`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from hub.clock import ManualClock
from hub.config import Settings
from tests.conftest import RunningHub

TOML = '''
[[policies]]
id = "default"
steps = [{notify = ["assignees"], wait = "5m"}, {notify = ["coordinators"]}]

[[rules]]
id = "casualties"
name = "Ten or more casualties"
when = "fields.casualties >= 10"
severity = "critical"
summary = "{title}: {fields.casualties} casualties"
'''

YAML = '''
rules:
  - id: request-burst
    kind: rate
    when: 'category == "request"'
    threshold: 3
    window: 1h
    group_by: category
    summary: "{count} requests within an hour"
'''


def liaison(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liaison", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=60, check=False)


async def test_default_rules_from_a_file_apply_to_every_operation(
        start_hub, hub_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.toml"
    path.write_text(TOML)
    hub: RunningHub = await start_hub(hub_settings.replace(rules_file=str(path)),
                                      clock=ManualClock())
    for op, user in (("A", "bruno"), ("B", "xavier")):
        r = await hub.api("POST", f"/api/operations/{hub.ops[op].id}/cases", user,
                          json={"title": "Bus crash", "fields": {"casualties": 12},
                                "assignees": [user]})
        assert r.status_code == 201, r.text
        await hub.settle()
        [alert] = (await hub.api("GET", f"/api/operations/{hub.ops[op].id}/alerts",
                                 user)).json()["alerts"]
        assert alert["rule_id"] == "casualties" and alert["severity"] == "critical"
        assert alert["escalation"]["policy"] == "default"
        assert alert["last_notice"]["users"] == [user]
    rules = (await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/rules",
                           "olga")).json()["rules"]
    assert [(r["id"], r.get("global")) for r in rules] == [("casualties", True)]


def test_rules_check_names_the_offending_part(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.toml"
    good.write_text(YAML)
    bad.write_text(TOML.replace("fields.casualties >= 10", "fields.casualties >== 10"))
    ok = liaison(tmp_path / "data", "rules", "check", str(good))
    assert ok.returncode == 0 and "1 rules and 0 policies are valid" in ok.stdout
    refused = liaison(tmp_path / "data", "rules", "check", str(bad))
    assert refused.returncode != 0
    assert "rule 'casualties': when:" in refused.stderr and "column" in refused.stderr


async def test_rules_load_reaches_a_running_hub(start_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data", port=0)
    hub: RunningHub = await start_hub(settings)
    path = tmp_path / "flood.yaml"
    path.write_text(YAML)
    loaded = await asyncio.to_thread(liaison, settings.data_dir, "rules", "load", "OP-A",
                                     str(path))
    assert loaded.returncode == 0, loaded.stderr
    assert "OP-A: rule request-burst" in loaded.stdout
    again = await asyncio.to_thread(liaison, settings.data_dir, "rules", "load", "OP-A",
                                    str(path))
    assert "0 changed" in again.stdout  # idempotent
    op = hub.ops["A"].id
    for i in range(3):
        r = await hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                          json={"title": f"Flooded street {i}", "category": "request"})
        assert r.status_code == 201
    for _ in range(100):  # the running hub notices the loaded rule within a tick
        alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "olga")).json()["alerts"]
        if alerts:
            break
        await asyncio.sleep(0.05)
    assert [a["summary"] for a in alerts] == ["3 requests within an hour"]
