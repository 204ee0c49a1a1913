"""Escalation policies, routing and silences: pure functions, no sockets."""

from __future__ import annotations

import pytest

from alerting.pipeline.escalation import PolicyError, initial_state, parse_policy, plan
from alerting.pipeline.routing import Member, TargetError, channels_of, check_targets, people
from alerting.pipeline.silences import SilenceError, matching, new_silence

POLICY = {"id": "default", "steps": [
    {"notify": ["assignees", "channel:alerts"], "wait": "5m"},
    {"notify": ["coordinators"], "wait": "10m"},
    {"notify": ["everyone"]}], "repeat_every": "15m"}

MEMBERS = [Member("alice", "coordinator", "POLICE"), Member("bruno", "member", "ARMY"),
           Member("olga", "observer", "POLICE"), Member("zed", "member", "ARMY", False)]


def test_policy_steps_then_reminders_at_the_right_times() -> None:
    policy = parse_policy(POLICY)
    state, t, seen = initial_state("default", 0.0), 0.0, []
    for _ in range(5):
        assert state["next_at"] == t
        notice, state = plan(policy, ["user:olga"], state, t)
        seen.append((t, notice.step, notice.reminder, notice.targets))
        t = state["next_at"]
    assert seen == [
        (0.0, 0, 0, ("user:olga", "assignees", "channel:alerts")),
        (300.0, 1, 0, ("coordinators",)),
        (900.0, 2, 0, ("everyone",)),
        (1800.0, 2, 1, ("everyone",)),
        (2700.0, 2, 2, ("everyone",)),
    ]


def test_without_a_policy_the_route_is_told_once() -> None:
    notice, state = plan(None, ["agency:ARMY"], initial_state(None, 5.0), 5.0)
    assert notice.targets == ("agency:ARMY",) and state["next_at"] is None
    notice, _ = plan(None, [], initial_state(None, 5.0), 5.0)
    assert notice.targets == ("coordinators",)


@pytest.mark.parametrize(("policy", "message"), [
    ({"id": "p", "steps": []}, "steps: must be a list of 1-20 steps"),
    ({"id": "p", "steps": [{"notify": ["boss"]}]}, "unknown target 'boss'"),
    ({"id": "p", "steps": [{"notify": ["everyone"]}, {"notify": ["everyone"]}]},
     "steps[0].wait: every step but the last needs a wait"),
    ({"id": "p", "steps": [{"notify": ["everyone"], "wait": "soon"}]}, "steps[0].wait"),
    ({"id": "p", "steps": [{"notify": ["everyone"]}], "repeat_every": "5s"}, "at least 1m"),
    ({"id": "p", "steps": [{"notify": ["everyone"]}], "colour": "red"}, "colour: unknown"),
])
def test_invalid_policies_name_the_problem(policy: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=None) as exc:
        parse_policy(policy)
    assert message in str(exc.value)


def test_targets_become_people() -> None:
    case = {"assignees": ["bruno", "zed"]}
    assert people(["assignees"], MEMBERS, case) == ["bruno"]  # zed is disabled
    assert people(["coordinators", "agency:ARMY"], MEMBERS, None) == ["alice", "bruno"]
    assert people(["role:observer", "user:alice"], MEMBERS, None) == ["alice", "olga"]
    assert people(["everyone"], MEMBERS, None) == ["alice", "bruno", "olga"]
    assert people(["user:nobody"], MEMBERS, None) == []
    assert channels_of(["channel:alerts", "everyone", "channel:ops"]) == ["alerts", "ops"]
    with pytest.raises(TargetError, match="role:chief"):
        check_targets(["role:chief"], "route")


def _alert(**kw: object) -> dict[str, object]:
    return {"id": "al-1", "severity": "critical", "source": "rule", "rule_id": "crit",
            "case_id": "case-1", "fingerprint": "f", "labels": {"category": "flood"}, **kw}


def test_silences_match_by_labels_within_their_window() -> None:
    s = new_silence({"matchers": [{"label": "rule", "value": "crit"},
                                  {"label": "category", "op": "~", "value": "fl*"}],
                     "duration": "1h", "reason": "crews on site"},
                    silence_id="s1", author="alice", now=100.0)
    assert s["ends_at"] == 3700.0 and s["created_by"] == "alice"
    assert matching(_alert(), [s], 100.0) == s
    assert matching(_alert(), [s], 3700.0) is None  # over
    assert matching(_alert(), [s], 99.0) is None  # not yet
    assert matching(_alert(rule_id="other"), [s], 200.0) is None
    neg = new_silence({"matchers": [{"label": "severity", "op": "!=", "value": "critical"}],
                       "ends_at": 500.0, "reason": "noise"}, silence_id="s2", author="a",
                      now=0.0)
    assert matching(_alert(), [neg], 10.0) is None
    assert matching(_alert(severity="minor"), [neg], 10.0) == neg


def test_a_silence_of_one_alert_may_last_as_long_as_the_alert() -> None:
    s = new_silence({"matchers": [{"label": "alert", "value": "al-1"}], "reason": "handled"},
                    silence_id="s", author="a", now=0.0)
    assert s["ends_at"] is None and matching(_alert(), [s], 1e9) == s


@pytest.mark.parametrize(("data", "message"), [
    ({"matchers": [], "duration": "1h", "reason": "x"}, "matchers"),
    ({"matchers": [{"label": "rule", "value": "c"}], "duration": "1h"}, "reason"),
    ({"matchers": [{"label": "rule", "value": "c"}], "reason": "x"}, "ends_at: needed"),
    ({"matchers": [{"label": "rule", "value": "c", "op": "=~"}], "duration": "1h",
      "reason": "x"}, "matchers[0].op"),
    ({"matchers": [{"label": "rule", "value": "c"}], "ends_at": 5, "reason": "x"},
     "after starts_at"),
])
def test_invalid_silences_name_the_problem(data: dict[str, object], message: str) -> None:
    with pytest.raises(SilenceError) as exc:
        new_silence(data, silence_id="s", author="a", now=10.0)
    assert message in str(exc.value)
