"""Rules and escalation policies as code: read and check a TOML or YAML file.

The file holds two lists, ``rules`` and ``policies``, in the same form as
the API takes::

    [[policies]]
    id = "default"
    steps = [{notify = ["assignees", "channel:alerts"], wait = "5m"},
             {notify = ["coordinators"]}]

    [[rules]]
    id = "critical-case"
    when = 'severity == "critical"'
    route = ["channel:alerts"]

Everything is checked before anything is used; the error names the file,
the rule or policy and the part.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import yaml

from alerting.documents import PolicyDoc, RuleDoc
from alerting.kinds import POLICY, RULE
from alerting.pipeline.escalation import PolicyError, parse_policy
from alerting.rules.engine import RuleError, parse_rule
from hub.documents import D, RecordKind
from hub.engine.port import Records, RecordWrite
from hub.models import OperationId

__all__ = ["RuleFile", "RuleFileError", "apply_rule_file", "load_rule_file"]


class RuleFileError(ValueError):
    """The file cannot be read, or a rule or policy in it is invalid."""


@dataclass(frozen=True, slots=True)
class RuleFile:
    rules: list[RuleDoc] = field(default_factory=list)
    policies: list[PolicyDoc] = field(default_factory=list)


def load_rule_file(path: str | Path) -> RuleFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise RuleFileError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"rules", "policies"}:
        raise RuleFileError(f"{path}: expected only 'rules' and 'policies' lists")
    rules, policies = data.get("rules", []), data.get("policies", [])
    if not isinstance(rules, list) or not isinstance(policies, list):
        raise RuleFileError(f"{path}: 'rules' and 'policies' must be lists")
    for kind, items in (("rule", rules), ("policy", policies)):
        seen: set[str] = set()
        for item in items:
            try:
                parsed = parse_rule(item) if kind == "rule" else parse_policy(item)
            except (RuleError, PolicyError) as exc:
                raise RuleFileError(f"{path}: {exc}") from None
            if parsed.id in seen:
                raise RuleFileError(f"{path}: {kind} '{parsed.id}' is defined twice")
            seen.add(parsed.id)
    policy_ids = {str(p["id"]) for p in policies}
    for rule in rules:
        escalation = rule.get("escalation")
        if escalation is not None and escalation not in policy_ids:
            raise RuleFileError(f"{path}: rule '{rule['id']}': escalation: no policy "
                                f"'{escalation}' in this file")
    # each item passed parse_rule or parse_policy above: it is a RuleDoc or a PolicyDoc
    return RuleFile([cast(RuleDoc, dict(r)) for r in rules],
                    [cast(PolicyDoc, dict(p)) for p in policies])


async def apply_rule_file(store: Records, op_id: OperationId, rule_file: RuleFile, *,
                          actor: str, now: float) -> list[str]:
    """Create or replace the file's policies and rules in an operation; what changed.

    Records identical to the stored ones are left alone, so applying the same
    file twice changes nothing (configuration as code, re-run on every deploy).
    """
    return (await _apply(store, op_id, POLICY, rule_file.policies, actor, now)
            + await _apply(store, op_id, RULE, rule_file.rules, actor, now))


async def _apply(store: Records, op_id: OperationId, kind: RecordKind[D], items: Sequence[D],
                 actor: str, now: float) -> list[str]:
    changed = []
    for item in items:
        item_id = str(item["id"])
        current = await store.get_record(op_id, kind, item_id)
        if current is not None and current[0] == item:
            continue
        await store.write_record(RecordWrite(
            op_id, kind, item_id, item, current[1] if current else None,
            "updated" if current else "created", actor, now, {"source": "file"}))
        changed.append(f"{kind} {item_id}")
    return changed
