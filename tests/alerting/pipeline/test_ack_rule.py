"""alerting/pipeline/ack_rule.py: who must acknowledge an "every agency" item, and regrouping."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerting.pipeline.ack_rule import AckSet, ack_set, regroup
from alerting.pipeline.alerts import acknowledge, new_alert, pending_agencies
from alerting.pipeline.routing import Member

AGENCIES = ["POLICE", "ARMY", "RED-CROSS", "BORDER-GUARD"]
MEMBERS = st.lists(st.builds(Member, username=st.sampled_from(["a", "b", "c", "d", "e"]),
                             role=st.sampled_from(["coordinator", "member", "observer"]),
                             agency=st.sampled_from(AGENCIES), active=st.booleans(),
                             bot=st.booleans()), max_size=8)


@given(MEMBERS)
def test_an_agency_must_acknowledge_exactly_when_someone_there_may(members: list[Member]) -> None:
    got = ack_set(members)
    people = [m for m in members if m.active and not m.bot]
    assert set(got.required) == {m.agency for m in people if m.role != "observer"}
    assert set(got.informed) == {m.agency for m in people} - set(got.required)
    assert not set(got.required) & set(got.informed)
    assert list(got.required) == sorted(got.required)


def _alert(agencies: list[str]) -> dict[str, object]:
    return new_alert(alert_id="al-1", operation_id="op", source="message", fp="f",
                     severity="critical", summary="s", details="", now=100.0,
                     ack_agencies=agencies)


def test_an_agency_that_joins_is_asked_and_one_that_leaves_is_not_waited_for() -> None:
    alert = acknowledge(_alert(["ARMY", "POLICE"]), actor="alice", now=110, agency="POLICE")
    joined = regroup(alert, AckSet(("ARMY", "POLICE", "RED-CROSS"), ()), 120)
    assert (joined["state"], pending_agencies(joined)) == ("firing", ["ARMY", "RED-CROSS"])
    joined = acknowledge(joined, actor="chloe", now=130, agency="RED-CROSS")
    left = regroup(joined, AckSet(("POLICE", "RED-CROSS"), ("ARMY",)), 140)
    assert (left["state"], left["acked_by"], left["acked_at"]) == ("acknowledged", "chloe", 140)
    assert left["informed_agencies"] == ["ARMY"] and left["escalation"]["next_at"] is None
    assert left["acks"]["POLICE"] == {"by": "alice", "at": 110}  # the ledger is history


def test_with_nobody_left_to_wait_for_and_no_acknowledgement_anyone_may() -> None:
    out = regroup(_alert(["ARMY"]), AckSet((), ("ARMY",)), 120)
    assert (out["state"], out["ack_agencies"], pending_agencies(out)) == ("firing", None, [])
