"""alerting/rules/rulefile.py: rules and policies as code, checked whole before anything is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting.kinds import POLICY, RULE
from alerting.rules.rulefile import RuleFile, RuleFileError, apply_rule_file, load_rule_file
from hub.models import OperationId
from tests.conftest import Embedded

TOML = '''
[[policies]]
id = "default"
steps = [{notify = ["assignees", "channel:alerts"], wait = "5m"},
         {notify = ["coordinators"]}]

[[rules]]
id = "critical-case"
when = 'severity == "critical"'
route = ["channel:alerts"]
escalation = "default"
'''

YAML = '''
policies:
  - id: default
    steps:
      - notify: [assignees]
rules:
  - id: many-hurt
    when: fields.casualties >= 10
    severity: critical
'''


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_toml_file_gives_its_rules_and_policies_as_written(tmp_path: Path) -> None:
    rf = load_rule_file(write(tmp_path, "rules.toml", TOML))
    assert [r["id"] for r in rf.rules] == ["critical-case"]
    assert rf.rules[0]["route"] == ["channel:alerts"]
    assert [p["id"] for p in rf.policies] == ["default"]
    assert len(rf.policies[0]["steps"]) == 2


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_a_yaml_file_reads_the_same_way(tmp_path: Path, suffix: str) -> None:
    rf = load_rule_file(write(tmp_path, f"rules{suffix}", YAML))
    assert rf.rules == [{"id": "many-hurt", "when": "fields.casualties >= 10",
                         "severity": "critical"}]
    assert rf.policies == [{"id": "default", "steps": [{"notify": ["assignees"]}]}]


def test_an_empty_yaml_file_is_an_empty_rule_file(tmp_path: Path) -> None:
    assert load_rule_file(write(tmp_path, "empty.yaml", "")) == RuleFile()


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.toml", "rules = [", "cannot read"),
    ("bad.yaml", "rules: [unclosed", "cannot read"),
    ("x.toml", 'colour = "red"', "expected only 'rules' and 'policies' lists"),
    ("x.yaml", "- just\n- a list\n", "expected only 'rules' and 'policies' lists"),
    ("x.toml", 'rules = "all of them"', "'rules' and 'policies' must be lists"),
    ("x.toml", '[[rules]]\nid = "r"\nwhen = "severity =="', "rule 'r'"),
    ("x.toml", '[[rules]]\nid = "r"\nwhen = "true"\n[[rules]]\nid = "r"\nwhen = "false"',
     "rule 'r' is defined twice"),
    ("x.toml", '[[policies]]\nid = "p"\nsteps = []', "policy"),
    ("x.toml", '[[rules]]\nid = "r"\nwhen = "true"\nescalation = "pager"',
     "rule 'r': escalation: no policy 'pager' in this file"),
])
def test_every_error_names_the_file_and_what_is_wrong(tmp_path: Path, name: str, text: str,
                                                      message: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(RuleFileError) as err:
        load_rule_file(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_a_missing_file_is_a_rule_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rule_file(tmp_path / "nope.toml")


def test_a_condition_error_points_at_its_column(tmp_path: Path) -> None:
    path = write(tmp_path, "x.toml", '[[rules]]\nid = "r"\nwhen = "severity = 1"')
    with pytest.raises(RuleFileError, match="column 10"):
        load_rule_file(path)


async def test_applying_creates_then_changes_nothing_then_updates(embedded: Embedded,
                                                                   tmp_path: Path) -> None:
    store, op = embedded.store, OperationId(embedded.ops["A"].id)
    rf = load_rule_file(write(tmp_path, "rules.toml", TOML))
    now = embedded.clock.now()
    assert await apply_rule_file(store, op, rf, actor="deploy", now=now) == \
        ["policy default", "rule critical-case"]
    assert await apply_rule_file(store, op, rf, actor="deploy", now=now) == []
    changed = RuleFile([{**rf.rules[0], "when": 'severity >= "major"'}], rf.policies)
    assert await apply_rule_file(store, op, changed, actor="deploy", now=now) == \
        ["rule critical-case"]
    doc, version = await store.get_record(op, RULE, "critical-case")
    assert doc["when"] == 'severity >= "major"' and version == 2
    assert (await store.get_record(op, POLICY, "default"))[1] == 1
    events = [(e.kind, e.action, e.actor, e.data.get("source"))
              for e in await store.read_op_events(op, after_seq=0, limit=100)
              if e.kind in (RULE, POLICY)]
    assert events == [(POLICY, "created", "deploy", "file"), (RULE, "created", "deploy", "file"),
                      (RULE, "updated", "deploy", "file")]


async def test_applying_to_one_operation_leaves_another_alone(embedded: Embedded,
                                                              tmp_path: Path) -> None:
    store = embedded.store
    rf = load_rule_file(write(tmp_path, "rules.yaml", YAML))
    await apply_rule_file(store, OperationId(embedded.ops["A"].id), rf, actor="d",
                          now=embedded.clock.now())
    assert await store.list_records(OperationId(embedded.ops["B"].id), RULE) == []
