"""Each rule kind fires exactly once at the right moment and resolves when it clears.

Pure: a dict of cases and a number for the clock; nothing waits.
"""

from __future__ import annotations

from typing import Any

import pytest

from alerting.rules.engine import Fire, Resolve, RuleEngine, RuleError, parse_rule

T0 = 1_800_000_000.0


def case(cid: str = "c1", **kw: Any) -> dict[str, Any]:
    base = {"id": cid, "title": f"case {cid}", "category": "incident", "severity": "major",
            "status": "open", "exercise": False, "fields": {}, "created_at": T0,
            "updated_at": T0}
    return {**base, **kw}


def engine(*rules: dict[str, Any]) -> RuleEngine:
    return RuleEngine([parse_rule(r) for r in rules])


def kinds(decisions: list[Any]) -> list[tuple[str, str]]:
    return [(type(d).__name__, d.key) for d in decisions]


def test_transition_to_critical_fires_once_and_resolves() -> None:
    e = engine({"id": "crit", "when": 'severity == "critical"', "severity": "critical",
                "summary": "{title} is critical"})
    cases = {"c1": case()}
    assert e.evaluate(cases, T0) == []
    cases["c1"] = case(severity="critical", updated_at=T0 + 10)
    out = e.evaluate(cases, T0 + 10, changed=["c1"])
    assert out == [Fire("crit", "c1", "c1", "critical", "case c1 is critical", T0 + 10)]
    for i in range(5):  # more updates while it stays critical: no new alert
        cases["c1"] = case(severity="critical", updated_at=T0 + 20 + i,
                           fields={"casualties": i})
        assert e.evaluate(cases, T0 + 20 + i, changed=["c1"]) == []
    cases["c1"] = case(severity="major", updated_at=T0 + 60)
    assert e.evaluate(cases, T0 + 60, changed=["c1"]) == [Resolve("crit", "c1", "c1", T0 + 60)]


def test_threshold_on_a_field() -> None:
    e = engine({"id": "mass", "when": "fields.casualties >= 10"})
    cases = {"c1": case(fields={"casualties": 9})}
    assert e.evaluate(cases, T0) == []
    cases["c1"] = case(fields={"casualties": 10})
    assert kinds(e.evaluate(cases, T0 + 1, changed=["c1"])) == [("Fire", "c1")]
    cases["c1"] = case(fields={"casualties": 30})
    assert e.evaluate(cases, T0 + 2, changed=["c1"]) == []
    cases["c1"] = case(fields={"casualties": 3})
    assert kinds(e.evaluate(cases, T0 + 3, changed=["c1"])) == [("Resolve", "c1")]


def test_staleness_fires_at_the_right_moment_without_polling() -> None:
    e = engine({"id": "stale", "when": 'severity == "critical" and since_update > 15m'})
    cases = {"c1": case(severity="critical", updated_at=T0)}
    assert e.evaluate(cases, T0, changed=["c1"]) == []
    assert e.next_deadline() == pytest.approx(T0 + 900.001)
    e2 = engine({"id": "stale", "when": 'severity == "critical" and since_update > 15m'})
    e2.evaluate(cases, T0, changed=["c1"])
    assert e2.evaluate(cases, T0 + 900, changed=[]) == []  # exactly 15m: not yet "> 15m"
    fired = e2.evaluate(cases, e2.next_deadline(), changed=[])  # type: ignore[arg-type]
    assert kinds(fired) == [("Fire", "c1")]
    assert e2.evaluate(cases, T0 + 2000, changed=[]) == []  # once
    cases["c1"] = case(severity="critical", updated_at=T0 + 2100)  # someone updated it
    assert kinds(e2.evaluate(cases, T0 + 2100, changed=["c1"])) == [("Resolve", "c1")]
    assert e2.next_deadline() == pytest.approx(T0 + 2100 + 900.001)


def test_rate_of_new_cases_per_category_within_a_window() -> None:
    e = engine({"id": "surge", "kind": "rate", "window": "1h", "threshold": 3,
                "group_by": "category", "summary": "{count} new {group} cases in 1h"})
    cases = {"a": case("a", category="casualty", created_at=T0),
             "b": case("b", category="casualty", created_at=T0 + 600),
             "x": case("x", category="request", created_at=T0 + 700)}
    assert e.evaluate(cases, T0 + 700) == []
    cases["c"] = case("c", category="casualty", created_at=T0 + 1200)
    out = e.evaluate(cases, T0 + 1200, changed=["c"])
    assert out == [Fire("surge", "casualty", None, "major", "3 new casualty cases in 1h",
                        T0 + 1200, 3, ("a", "b", "c"))]  # which: their labels bound the alert
    assert e.evaluate(cases, T0 + 1300, changed=["x"]) == []  # still 3: no re-fire
    assert e.next_deadline() == T0 + 3600  # when "a" leaves the window
    assert kinds(e.evaluate(cases, T0 + 3600)) == [("Resolve", "casualty")]


def test_hold_duration_must_pass_before_firing() -> None:
    e = engine({"id": "held", "when": "fields.casualties >= 10", "for": "5m"})
    cases = {"c1": case(fields={"casualties": 12})}
    assert e.evaluate(cases, T0) == []
    assert e.next_deadline() == T0 + 300
    assert e.evaluate(cases, T0 + 299, changed=[]) == []
    assert kinds(e.evaluate(cases, T0 + 300, changed=[])) == [("Fire", "c1")]
    # A condition that clears during the hold never fires.
    e2 = engine({"id": "held", "when": "fields.casualties >= 10", "for": "5m"})
    e2.evaluate(cases, T0)
    cases2 = {"c1": case(fields={"casualties": 2})}
    assert e2.evaluate(cases2, T0 + 100, changed=["c1"]) == []
    assert e2.evaluate(cases2, T0 + 400) == []
    assert e2.next_deadline() is None


def test_keep_firing_for_smooths_flapping() -> None:
    e = engine({"id": "k", "when": "fields.casualties >= 10", "keep_firing_for": "10m"})
    hi, lo = case(fields={"casualties": 12}), case(fields={"casualties": 1})
    assert kinds(e.evaluate({"c1": hi}, T0)) == [("Fire", "c1")]
    assert e.evaluate({"c1": lo}, T0 + 60, changed=["c1"]) == []  # cleared, still firing
    assert e.evaluate({"c1": hi}, T0 + 120, changed=["c1"]) == []  # back: no new alert
    assert e.evaluate({"c1": lo}, T0 + 180, changed=["c1"]) == []
    assert e.next_deadline() == T0 + 180 + 600
    assert e.evaluate({"c1": lo}, T0 + 779) == []
    assert kinds(e.evaluate({"c1": lo}, T0 + 780)) == [("Resolve", "c1")]


def test_state_survives_a_restart() -> None:
    rules = [{"id": "held", "when": "fields.casualties >= 10", "for": "5m"}]
    cases = {"c1": case(fields={"casualties": 12})}
    before = engine(*rules)
    before.evaluate(cases, T0)
    after = engine(*rules)
    after.restore(before.snapshot())
    assert after.next_deadline() == T0 + 300
    assert kinds(after.evaluate(cases, T0 + 300)) == [("Fire", "c1")]


def test_many_cases_each_get_their_own_alert() -> None:
    e = engine({"id": "crit", "when": 'severity == "critical"'})
    cases = {f"c{i}": case(f"c{i}", severity="critical") for i in range(50)}
    assert len(e.evaluate(cases, T0)) == 50
    assert len(e.firing()) == 50


@pytest.mark.parametrize("rule,needle", [
    ({"id": "x", "when": "sevrity > 1"}, "rule 'x': when: unknown name 'sevrity'"),
    ({"id": "x", "when": "severity >"}, "rule 'x': when: expected a value"),
    ({"id": "x", "when": "true", "for": "soon"}, "rule 'x': for: 'soon' is not a duration"),
    ({"id": "x", "kind": "rate", "window": "1h"}, "rule 'x': threshold"),
    ({"id": "x", "kind": "rate", "threshold": 3}, "rule 'x': window"),
    ({"id": "x", "when": "true", "severity": "apocalyptic"}, "rule 'x': severity"),
    ({"id": "x", "when": "true", "colour": "red"}, "rule 'x': colour: unknown setting"),
    ({"id": "bad id!", "when": "true"}, "'id'"),
    ({"id": "x", "kind": "cron"}, "rule 'x': kind"),
])
def test_invalid_rules_name_the_problem(rule: dict[str, Any], needle: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(rule)
    assert needle in str(info.value)


def test_every_demo_rule_and_policy_is_valid_and_reads_correctly() -> None:
    from alerting.pipeline.escalation import parse_policy
    from liaison.demo import DEMO_POLICIES, DEMO_RULES

    for policy in DEMO_POLICIES:
        parse_policy(policy)
    case = {"title": "Bus crash", "fields": {"casualties": 12}, "severity": "critical"}
    summaries = [parse_rule(rule).describe(case, "flood", 3) for rule in DEMO_RULES]
    assert "Bus crash: 12 casualties reported" in summaries
    assert not any("{" in s or "?" in s for s in summaries), summaries
