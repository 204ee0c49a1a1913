"""alerting/pipeline/stages.py: the pipeline's pure stages, plain data in and out."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alerting.pipeline.alerts import acknowledge, new_alert
from alerting.pipeline.escalation import Notice, parse_policy
from alerting.pipeline.routing import Member
from alerting.pipeline.stages import (
    SILENCED_RECHECK,
    alert_from,
    case_before,
    delivery,
    due,
    fingerprint_of,
    following,
    notice_id,
    notice_text,
    resume_at,
    silencing,
)
from alerting.rules.engine import Fire, Resolve, parse_rule
from channels.bodies import Priority
from hub.models import OperationId, OpEvent

NOW = 1_000.0
MEMBERS = [Member("alice", "coordinator", "POLICE"), Member("bruno", "member", "ARMY"),
           Member("olga", "observer", "POLICE"), Member("zed", "member", "ARMY", False)]
POLICY = parse_policy({"id": "p", "steps": [
    {"notify": ["assignees", "channel:alerts"], "wait": "5m"},
    {"notify": ["coordinators"]}], "repeat_every": "15m"})


def alert(**over: Any) -> dict[str, Any]:
    doc = new_alert(alert_id="al-1", operation_id="op-1", source="rule", fp="fp-1",
                    severity="critical", summary="Dam breach", details="", now=NOW,
                    rule_id="crit", case_id="case-1", policy="p")
    doc.update(over)
    return doc


def silence(sid: str = "sil-1", *, ends_at: float | None = NOW + 600,
            value: str = "crit") -> dict[str, Any]:
    return {"id": sid, "matchers": [{"label": "rule", "op": "=", "value": value}],
            "starts_at": NOW - 10, "ends_at": ends_at}


# --- 0. read: heard events in place of reading the log --------------------------------


def ev(seq: int) -> OpEvent:
    return OpEvent(OperationId("op-1"), seq, "case", "updated", "case-1", seq, "bruno", NOW,
                   {"record": {"id": "case-1"}})


def test_nothing_heard_means_read_the_log() -> None:
    assert following([], 7) is None


def test_heard_events_that_continue_the_log_stand_in_for_reading_it() -> None:
    assert [e.seq for e in following([ev(8), ev(9)], 7) or []] == [8, 9]


def test_events_already_read_are_dropped_and_nothing_new_is_an_empty_list() -> None:
    assert [e.seq for e in following([ev(6), ev(7), ev(8)], 7) or []] == [8]
    assert following([ev(5), ev(6)], 7) == []


def test_a_gap_before_or_between_heard_events_means_read_the_log() -> None:
    assert following([ev(9)], 7) is None  # 8 was lost or is still on its way
    assert following([ev(8), ev(10)], 7) is None


@given(st.integers(0, 50), st.lists(st.integers(1, 60), max_size=20))
def test_heard_events_are_used_only_when_they_are_exactly_the_next_ones(
        cursor: int, seqs: list[int]) -> None:
    got = following([ev(s) for s in seqs], cursor)
    new = [s for s in seqs if s > cursor]
    if not seqs or new != list(range(cursor + 1, cursor + 1 + len(new))):
        assert got is None
    else:
        assert got is not None and [e.seq for e in got] == new


# --- 1. match: the case before a change ------------------------------------------------


def test_a_new_case_has_nothing_before_it() -> None:
    assert case_before({"id": "c", "severity": "critical"}, "created", None) is None


def test_the_case_before_an_update_takes_the_old_side_of_each_change() -> None:
    record = {"id": "c", "severity": "critical", "title": "Dam"}
    before = case_before(record, "updated", {"severity": ["major", "critical"]})
    assert before == {"id": "c", "severity": "major", "title": "Dam"}
    assert record["severity"] == "critical"  # the event's record is left alone


def test_changes_that_are_not_pairs_are_ignored_not_trusted() -> None:
    record = {"id": "c", "severity": "critical"}
    assert case_before(record, "updated", {"severity": "major", "x": [1]}) == record
    assert case_before(record, "updated", "garbage") is None


# --- 2. fingerprint ----------------------------------------------------------------------


def test_a_fire_and_its_resolve_name_the_same_alert() -> None:
    fire = Fire("crit", "case-1", "case-1", "critical", "Dam", NOW)
    res = Resolve("crit", "case-1", "case-1", NOW)
    assert fingerprint_of("op-1", fire) == fingerprint_of("op-1", res)
    assert fingerprint_of("op-1", fire) != fingerprint_of("op-2", fire)
    other = Resolve("crit", "case-2", "case-2", NOW)
    assert fingerprint_of("op-1", fire) != fingerprint_of("op-1", other)


@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20))
def test_fingerprints_are_stable_and_short(op: str, rule: str, key: str) -> None:
    a = fingerprint_of(op, Resolve(rule, key, None, NOW))
    assert a == fingerprint_of(op, Resolve(rule, key, None, NOW)) and 0 < len(a) <= 64


def test_the_alert_a_fire_raises_carries_the_case_and_the_rule() -> None:
    rule = parse_rule({"id": "crit", "when": 'severity == "critical"', "route": ["user:olga"]})
    fire = Fire("crit", "case-1", "case-1", "critical", "Dam is critical", NOW)
    case = {"id": "case-1", "exercise": True, "category": "incident"}
    doc = alert_from("op-1", fire, rule, case, {"default"}, NOW)("al-9")
    assert doc["id"] == "al-9" and doc["fingerprint"] == fingerprint_of("op-1", fire)
    assert (doc["rule_id"], doc["case_id"], doc["severity"]) == ("crit", "case-1", "critical")
    assert doc["exercise"] is True and doc["labels"] == {"category": "incident"}
    assert doc["route"] == ["user:olga"] and doc["escalation"]["policy"] == "default"
    assert doc["escalation"]["next_at"] == NOW and doc["state"] == "firing"


def test_a_rule_names_its_own_policy_and_no_default_means_none() -> None:
    own = parse_rule({"id": "r", "when": "true", "escalation": "p"})
    bare = parse_rule({"id": "r", "when": "true"})
    fire = Fire("r", "g", None, "major", "s", NOW)
    assert alert_from("op", fire, own, None, {"default"}, NOW)("a")["escalation"]["policy"] == "p"
    doc = alert_from("op", fire, bare, None, set(), NOW)("a")
    assert doc["escalation"]["policy"] is None and doc["labels"] == {}
    assert doc["exercise"] is False


# --- 3. silence ----------------------------------------------------------------------------


def test_an_unsilenced_alert_without_a_silence_changes_nothing() -> None:
    verdict = silencing(alert(), [], NOW)
    assert verdict.by is None and verdict.action is None and verdict.alert == alert()


def test_a_matching_silence_marks_the_alert_and_holds_its_due_notice_till_the_end() -> None:
    verdict = silencing(alert(), [silence()], NOW)
    assert verdict.by == "sil-1" and verdict.action == "silenced"
    assert verdict.alert["silenced_by"] == "sil-1"
    assert verdict.alert["escalation"]["next_at"] == NOW + 600


def test_a_silence_for_another_rule_does_not_cover_the_alert() -> None:
    verdict = silencing(alert(), [silence(value="other")], NOW)
    assert verdict.by is None and verdict.action is None


def test_a_silenced_alert_whose_notice_is_not_due_is_left_alone() -> None:
    quiet = alert(silenced_by="sil-1", escalation={"policy": "p", "step": 1, "reminders": 0,
                                                   "next_at": NOW + 600})
    verdict = silencing(quiet, [silence()], NOW)
    assert verdict.by == "sil-1" and verdict.action is None


def test_a_silence_without_an_end_is_looked_at_again_later() -> None:
    verdict = silencing(alert(silenced_by="sil-1"), [silence(ends_at=None)], NOW)
    assert verdict.action == "silenced"
    assert verdict.alert["escalation"]["next_at"] == NOW + SILENCED_RECHECK


def test_when_the_silence_ends_the_escalation_resumes_at_once() -> None:
    quiet = alert(silenced_by="sil-1", escalation={"policy": "p", "step": 1, "reminders": 0,
                                                   "next_at": NOW + 600})
    ended = silence(ends_at=NOW - 1)
    verdict = silencing(quiet, [ended], NOW)
    assert verdict.by is None and verdict.action == "unsilenced"
    assert verdict.alert["silenced_by"] is None
    assert verdict.alert["escalation"]["next_at"] == NOW


def test_an_acknowledged_alert_is_marked_but_its_stopped_escalation_stays_stopped() -> None:
    acked = acknowledge(alert(), actor="alice", now=NOW)
    verdict = silencing(acked, [silence()], NOW)
    assert verdict.action == "silenced" and verdict.alert["escalation"]["next_at"] is None


def test_the_silence_that_ends_last_wins() -> None:
    verdict = silencing(alert(), [silence("a", ends_at=NOW + 60),
                                  silence("b", ends_at=NOW + 900)], NOW)
    assert verdict.by == "b" and verdict.alert["escalation"]["next_at"] == NOW + 900


@given(st.floats(min_value=0, max_value=1e9), st.floats(min_value=0, max_value=1e9),
       st.one_of(st.none(), st.floats(min_value=0, max_value=2e9)))
def test_resume_at_never_moves_a_notice_earlier_under_a_silence(next_at: float, now: float,
                                                                ends: float | None) -> None:
    at = resume_at({"ends_at": ends}, next_at, now)
    assert at >= next_at
    assert resume_at(None, next_at, now) == min(next_at, now)


@given(st.sampled_from(["firing", "acknowledged", "resolved"]),
       st.one_of(st.none(), st.floats(min_value=0, max_value=2_000)))
def test_only_a_firing_alert_with_a_past_deadline_is_due(state: str,
                                                         next_at: float | None) -> None:
    doc = alert(state=state, escalation={"next_at": next_at})
    assert due(doc, NOW) == (state == "firing" and next_at is not None and next_at <= NOW)


# --- 4-6. route, escalate, notify ----------------------------------------------------------


def test_the_first_notice_goes_to_the_route_the_assignees_and_the_channel() -> None:
    doc = alert(route=["user:olga"])
    case = {"id": "case-1", "assignees": ["bruno"]}
    d = delivery(doc, POLICY, MEMBERS, case, NOW)
    assert (d.step, d.reminder) == (0, 0)
    assert d.users == ["bruno", "olga"] and d.channels == ["alerts"]
    assert d.priority is Priority.URGENT and d.message_id == "al-1:0:0"
    # For a notice whose readers may not all see the alert: opaque (issue 24, finding 6).
    hidden = notice_id(doc, 0, 0)
    assert "al-1" not in hidden and str(doc["fingerprint"]) not in hidden
    assert hidden != notice_id({**doc, "first_at": doc["first_at"] + 1e-6}, 0, 0)
    assert hidden != notice_id(doc, 0, 1)
    assert d.escalation["step"] == 1 and d.escalation["next_at"] == NOW + 300
    # olga is told (users) but, an observer who may not acknowledge, not @-mentioned.
    assert d.text == ("CRITICAL alert: Dam breach @bruno "
                      "Acknowledge it with its button, here or in the Alerts tab.")
    assert d.record(NOW) == {"step": 0, "reminder": 0, "at": NOW, "users": ["bruno", "olga"],
                             "channels": ["alerts"]}


def test_later_steps_and_reminders_say_so_and_skip_disabled_members() -> None:
    doc = alert(severity="major", escalation={"policy": "p", "step": 1, "reminders": 0,
                                              "next_at": NOW})
    d = delivery(doc, POLICY, MEMBERS, None, NOW)
    assert d.users == ["alice"] and d.channels == [] and d.priority is Priority.HIGH
    assert "(escalation step 2, not acknowledged)" in d.text
    d2 = delivery({**doc, "escalation": d.escalation}, POLICY, MEMBERS, None, NOW + 900)
    assert d2.reminder == 1 and "(reminder 1, still not acknowledged)" in d2.text
    assert d2.message_id == "al-1:1:1"
    everyone = delivery(alert(route=["everyone"], escalation={"next_at": NOW}), None,
                        MEMBERS, None, NOW)
    assert everyone.users == ["alice", "bruno", "olga"]  # zed is disabled


def test_an_exercise_notice_is_marked_as_one() -> None:
    text = notice_text(alert(exercise=True), Notice(0, 0, ()), [])
    assert text.startswith("[EXERCISE] CRITICAL alert: Dam breach")
    assert "@" not in text
