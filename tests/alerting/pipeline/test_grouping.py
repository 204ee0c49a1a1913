"""alerting/pipeline/grouping.py: which alerts share a notice, and when a group is posted."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.pipeline.escalation import PolicyError, parse_policy
from alerting.pipeline.grouping import (
    DEFAULT,
    Grouping,
    GroupingError,
    add,
    due_at,
    group_id,
    group_notice_id,
    group_text,
    parse_grouping,
    sent,
)


def alert(i: int = 1, **extra: Any) -> dict[str, Any]:
    return {"id": f"al-{i}", "rule_id": "crit", "severity": "critical", "source": "rule",
            "case_id": f"case-{i}", "label": None, "labels": {"team": "north"},
            "escalation": {"policy": "p"}, "summary": f"House {i} is critical", **extra}


def entry(i: int, step: int = 0, reminder: int = 0, mention: tuple[str, ...] = ("bruno",),
          ) -> dict[str, Any]:
    return {"key": f"al-{i}:{step}:{reminder}", "alert": f"al-{i}", "step": step,
            "reminder": reminder, "severity": "critical", "summary": f"House {i} is critical",
            "mention": list(mention)}


def test_alerts_of_one_rule_and_severity_share_a_group_by_default() -> None:
    assert group_id(alert(1), DEFAULT, "alerts", "") == group_id(alert(2), DEFAULT, "alerts", "")
    assert group_id(alert(1), DEFAULT, "alerts", "") != group_id(alert(1), DEFAULT, "ops", "")
    assert group_id(alert(1), DEFAULT, "alerts", "") != \
        group_id(alert(2, severity="major"), DEFAULT, "alerts", "")


def test_a_group_never_mixes_labels_or_play_markings() -> None:
    police = {"level": "UNCLASSIFIED", "categories": {"REL TO": ["POLICE"]}}
    assert group_id(alert(1), DEFAULT, "alerts", "") != \
        group_id(alert(2, label=police), DEFAULT, "alerts", "")
    assert group_id(alert(1), DEFAULT, "alerts", "") != \
        group_id(alert(2), DEFAULT, "alerts", "EXERCISE")


def test_group_by_names_cases_and_routing_labels() -> None:
    by_case = Grouping(("case",))
    assert group_id(alert(1), by_case, "a", "") != group_id(alert(2), by_case, "a", "")
    by_team = Grouping(("labels.team",))
    assert group_id(alert(1), by_team, "a", "") == group_id(alert(2), by_team, "a", "")
    assert group_id(alert(1), by_team, "a", "") != \
        group_id(alert(2, labels={"team": "south"}), by_team, "a", "")


def test_the_first_notice_waits_group_wait_then_one_per_interval() -> None:
    g = add(None, entry(1), 100.0)
    assert g is not None
    assert due_at(g, Grouping(wait=10, interval=30)) == 110.0
    g = add(g, entry(2), 105.0)
    assert g is not None and len(g["pending"]) == 2
    g = sent(g, 110.0)
    assert due_at(g, Grouping(wait=10, interval=30)) is None  # nothing pending
    g = add(g, entry(3), 112.0)
    assert g is not None
    assert due_at(g, Grouping(wait=10, interval=30)) == 140.0  # the interval since 110
    g = add(sent(g, 140.0), entry(4), 300.0)
    assert g is not None
    assert due_at(g, Grouping(wait=10, interval=30)) == 310.0  # quiet long enough: wait only


def test_an_entry_pending_or_posted_is_not_added_again() -> None:
    g = add(None, entry(1), 0.0)
    assert g is not None and add(g, entry(1), 1.0) is None
    assert add(sent(g, 2.0), entry(1), 3.0) is None  # a step retried after a crash
    assert add(sent(g, 2.0), entry(1, step=1), 3.0) is not None  # its next step is news


def test_a_group_notice_counts_lists_a_few_and_mentions_each_person_once() -> None:
    entries = [entry(i, mention=("bruno", f"p{i % 2}")) for i in range(5)]
    entries += [entry(9, step=1, mention=("alice",)), entry(8, step=2, reminder=1)]
    text = group_text(entries, "EXERCISE")
    assert text.startswith("[EXERCISE] CRITICAL: 7 alerts (5 new, 1 escalated, "
                           "1 still not acknowledged): House 0 is critical; House 1 is "
                           "critical; House 2 is critical; and 4 more.")
    assert text.count("@bruno") == 1 and "@alice" in text and "@p1" in text
    many = [entry(i, mention=(f"user{i:02}",)) for i in range(20)]
    assert group_text(many, "").count("@") == 12 and " and 8 more " in group_text(many, "")


def test_a_policy_carries_its_grouping() -> None:
    p = parse_policy({"id": "p", "steps": [{"notify": ["coordinators"]}],
                      "group_by": ["rule", "labels.team"], "group_wait": "10s",
                      "group_interval": "2m"})
    assert p.grouping == Grouping(("rule", "labels.team"), 10.0, 120.0)
    assert parse_policy({"id": "q", "steps": [{"notify": ["coordinators"]}]}).grouping == DEFAULT
    with pytest.raises(PolicyError, match="policy 'p': group_by"):
        parse_policy({"id": "p", "steps": [{"notify": ["coordinators"]}], "group_by": ["who"]})
    with pytest.raises(PolicyError, match="group_interval: from 1s"):
        parse_policy({"id": "p", "steps": [{"notify": ["coordinators"]}],
                      "group_interval": "0s"})


@given(st.dictionaries(st.sampled_from(["group_by", "group_wait", "group_interval"]),
                       st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=12),
                                 st.lists(st.text(max_size=12), max_size=10))))
def test_any_grouping_setting_is_parsed_or_refused_with_its_name(data: dict[str, Any]) -> None:
    try:
        g = parse_grouping(data, "policy 'p'")
    except GroupingError as exc:
        assert str(exc).startswith("policy 'p': group_")
    else:
        assert 0 <= g.wait <= 3600 and 1 <= g.interval <= 86400 and len(g.by) <= 8


def test_a_group_notices_id_is_stable_and_says_what_clients_word() -> None:
    entries = [entry(1), entry(2), entry(3, step=1), entry(4, reminder=2)]
    made = group_notice_id("op\ngrp-1\n0", entries)
    assert made == group_notice_id("op\ngrp-1\n0", entries)  # a retry posts the same
    assert made != group_notice_id("op\ngrp-1\n1", entries)  # the next notice is new
    assert made.startswith("group-") and made.endswith("-critical-4-2-1-1")
    assert len(made) <= 64
