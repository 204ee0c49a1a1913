"""alerting/pipeline/service.py without sockets: rules, policies, silences and pushed alerts.

The real access gate and embedded store answer; the seeded world is the one of
tests/conftest.py (alice coordinates A, bruno is an A member of ARMY, olga an
A observer, xavier belongs to B; A has a POLICE-only channel "police").
"""

from __future__ import annotations

from typing import Any

import pytest

from alerting.bodies import NewCase, PushedAlert
from alerting.config_bodies import PolicyBody, RuleBody, SilenceBody
from alerting.kinds import PIPELINE_STATE
from alerting.pipeline.service import AlertService
from channels.labelling import channel_ref
from hub.bodies import convert
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.models import OperationId
from tests.conftest import Embedded

RULE = {"id": "crit", "when": 'severity == "critical"', "summary": "{title} is critical"}


def alerts(env: Embedded) -> AlertService:
    return env.services.alerts


def op(env: Embedded) -> OperationId:
    return OperationId(env.ops["A"].id)


async def push(env: Embedded, who: str = "bruno", **data: Any) -> tuple[dict[str, Any], bool]:
    pushed = convert({"summary": "Pump 3 down", **data}, PushedAlert)
    event, created = await env.services.pushes.push(await env.principal(who), op(env), pushed,
                                                    "t")
    return event.data["record"], created  # type: ignore[return-value]


# --- pushed alerts ------------------------------------------------------------------------


async def test_a_pushed_alert_fires_and_a_repeat_counts_instead_of_duplicating(
        embedded: Embedded) -> None:
    first, created = await push(embedded, labels={"site": "north"}, severity="minor")
    assert created and first["state"] == "firing" and first["source"] == "bot"
    assert first["severity"] == "minor" and first["labels"] == {"site": "north"}
    embedded.clock.advance(30)
    again, created_again = await push(embedded, labels={"site": "north"}, severity="critical")
    assert not created_again and again["id"] == first["id"]
    assert again["occurrences"] == 2 and again["severity"] == "critical"
    other, created_other = await push(embedded, labels={"site": "south"})
    assert created_other and other["id"] != first["id"]


async def test_an_explicit_fingerprint_groups_differently_worded_alerts(
        embedded: Embedded) -> None:
    a, _ = await push(embedded, fingerprint="pump-3", summary="Pump 3 down")
    b, created = await push(embedded, fingerprint="pump-3", summary="Pump 3 still down")
    assert not created and b["id"] == a["id"] and b["summary"] == "Pump 3 still down"


async def test_after_resolving_the_same_fingerprint_raises_a_new_alert(
        embedded: Embedded) -> None:
    a, _ = await push(embedded, fingerprint="pump-3")
    alice = await embedded.principal("alice")
    event = await alerts(embedded).resolve(alice, op(embedded), a["id"], "t")
    assert event.data["record"]["state"] == "resolved"  # type: ignore[index]
    b, created = await push(embedded, fingerprint="pump-3")
    assert created and b["id"] != a["id"]


@pytest.mark.parametrize(("data", "message"), [
    ({"summary": ""}, "field 'summary' is empty"),
    ({"summary": " \n"}, "field 'summary' is empty"),
    ({"summary": "x" * 501}, "field 'summary': expected `str` of length <= 500"),
    ({"details": 5}, "field 'details': expected `str`, got `int`"),
    ({"labels": ["site"]}, "field 'labels': expected `object`, got `array`"),
    ({"labels": {"site": {"nested": 1}}}, r"field 'labels.site': expected `int \| float"),
    ({"labels": {"up": True}}, r"field 'labels.up': expected `int \| float"),
    ({"labels": {f"k{i}": "v" for i in range(33)}}, "field 'labels': expected `object` of "
                                                    "length <= 32"),
    ({"fingerprint": ""}, "field 'fingerprint': expected `str` of length >= 1"),
    ({"route": ["pagers"]}, r"field 'route\[0\]' must be a target: assignees"),
    ({"route": "everyone"}, "field 'route': expected `array`, got `str`"),
    ({"exercise": True, "real_world": True}, "'real_world' and 'exercise' exclude each other"),
    ({"pager": "on"}, "field 'pager' is not accepted"),
    ({"escalation": "no spaces allowed"}, "field 'escalation' must be an id of 1-64"),
    ({"escalation": "pager"}, "'escalation': no escalation policy 'pager'"),
    ({"severity": "apocalyptic"}, "field 'severity' must be one of critical, info, major, minor"),
    ({"case": "case_missing"}, "'case' must be a case of this operation"),
])
async def test_an_invalid_push_is_refused_naming_the_field(embedded: Embedded,
                                                           data: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        await push(embedded, **data)
    assert await alerts(embedded).list_alerts(await embedded.principal("alice"),
                                              op(embedded), "t") == []


async def test_a_push_cannot_route_into_a_channel_hidden_from_the_pusher(
        embedded: Embedded) -> None:
    answers = []
    for target in ("channel:police", "channel:nowhere"):
        with pytest.raises(BadRequest) as err:
            await push(embedded, route=[target])
        answers.append(str(err.value).replace(target, "T"))
    assert answers[0] == answers[1]  # a hidden channel looks like a missing one
    record, _ = await push(embedded, who="alice", route=["channel:police"],
                           label={"level": "UNCLASSIFIED", "categories": {"REL TO": ["POLICE"]}})
    assert record["route"] == ["channel:police"]  # every reader of the alert sees #police


async def test_a_route_keeps_a_channel_some_readers_may_not_see_by_an_opaque_ref(
        embedded: Embedded) -> None:
    """Issue 24, finding 6: an alert every member sees, routed to #police, does not
    show ARMY that channel's name; the ref is accepted back as input."""
    police = next(c for c in await embedded.store.list_channels(op(embedded))
                  if c.name == "police")
    record, _ = await push(embedded, who="alice", route=["channel:police"])
    assert record["route"] == [f"channel:{channel_ref(police)}"]
    assert "police" not in str(record["route"]) and police.id not in str(record["route"])
    again, _ = await push(embedded, who="alice", summary="x", route=record["route"])
    assert again["route"] == record["route"]
    with pytest.raises(BadRequest):  # and it opens nothing to who may not post there
        await push(embedded, route=record["route"])


async def test_the_operation_default_policy_applies_when_none_is_named(
        embedded: Embedded) -> None:
    alice = await embedded.principal("alice")
    await alerts(embedded).put_policy(alice, op(embedded), convert({
        "id": "default", "steps": [{"notify": ["coordinators"]}]}, PolicyBody), "t")
    record, _ = await push(embedded)
    assert record["escalation"]["policy"] == "default"


async def test_observers_and_outsiders_cannot_push(embedded: Embedded) -> None:
    with pytest.raises(Forbidden):
        await push(embedded, who="olga")
    with pytest.raises(NotFound):
        await push(embedded, who="xavier")


# --- acknowledging and resolving -------------------------------------------------------------


async def test_acknowledge_then_resolve_records_who_and_when(embedded: Embedded) -> None:
    a, _ = await push(embedded)
    bruno = await embedded.principal("bruno")
    embedded.clock.advance(60)
    acked = (await alerts(embedded).acknowledge(bruno, op(embedded), a["id"], "t")).data
    assert acked["record"]["state"] == "acknowledged"  # type: ignore[index]
    assert acked["record"]["acked_by"] == "bruno"  # type: ignore[index]
    assert acked["record"]["acked_at"] == embedded.clock.now()  # type: ignore[index]
    again = await alerts(embedded).acknowledge(bruno, op(embedded), a["id"], "t")
    assert again.action == "unchanged"  # idempotent: a retry changes nothing
    done = await alerts(embedded).resolve(bruno, op(embedded), a["id"], "t")
    assert done.data["record"]["resolution"] == "manual"  # type: ignore[index]
    firing = await alerts(embedded).list_alerts(bruno, op(embedded), "t", state="firing")
    assert firing == []


async def test_an_unknown_alert_is_not_found(embedded: Embedded) -> None:
    bruno = await embedded.principal("bruno")
    with pytest.raises(NotFound):
        await alerts(embedded).acknowledge(bruno, op(embedded), "al-nope", "t")


async def test_an_observer_may_look_but_not_acknowledge(embedded: Embedded) -> None:
    a, _ = await push(embedded)
    olga = await embedded.principal("olga")
    assert [x["id"] for x in await alerts(embedded).list_alerts(olga, op(embedded), "t")] \
        == [a["id"]]
    with pytest.raises(Forbidden):
        await alerts(embedded).acknowledge(olga, op(embedded), a["id"], "t")


# --- rules -------------------------------------------------------------------------------


async def test_a_rule_is_saved_listed_with_its_health_and_replaced(embedded: Embedded) -> None:
    alice = await embedded.principal("alice")
    first = await alerts(embedded).put_rule(alice, op(embedded), convert(RULE, RuleBody), "t")
    assert (first.action, first.version) == ("created", 1)
    second = await alerts(embedded).put_rule(
        alice, op(embedded), convert({**RULE, "severity": "critical"}, RuleBody), "t")
    assert (second.action, second.version) == ("updated", 2)
    [rule] = await alerts(embedded).list_rules(alice, op(embedded), "t")
    assert rule["severity"] == "critical" and rule["version"] == 2
    assert rule["health"] == {"state": "ok", "errors": 0}


async def test_a_rule_the_engine_reported_failing_shows_it(embedded: Embedded) -> None:
    alice = await embedded.principal("alice")
    await alerts(embedded).put_rule(alice, op(embedded), convert(RULE, RuleBody), "t")
    await embedded.store.put_state(op(embedded), PIPELINE_STATE, {"cursor": 0, "engine": {
        "failures": {"crit": {"errors": 3, "last_error": "fields.x: not a number"}}}})
    [rule] = await alerts(embedded).list_rules(alice, op(embedded), "t")
    assert rule["health"] == {"state": "failing", "errors": 3,
                              "last_error": "fields.x: not a number"}


@pytest.mark.parametrize(("rule", "message"), [
    ({"id": "r", "when": "severity =="}, "column"),
    ({"id": "r", "when": "true", "escalation": "pager"},
     "rule 'r': escalation: no escalation policy 'pager'"),
    ({"id": "r", "when": "true", "route": ["channel:nowhere"]},
     "rule 'r': route: 'channel:nowhere' is not a channel"),
])
async def test_a_rule_fails_at_save_time_with_a_message_that_points_at_it(
        embedded: Embedded, rule: dict[str, Any], message: str) -> None:
    alice = await embedded.principal("alice")
    with pytest.raises(BadRequest, match=message):
        await alerts(embedded).put_rule(alice, op(embedded), convert(rule, RuleBody), "t")
    assert await alerts(embedded).list_rules(alice, op(embedded), "t") == []


async def test_members_cannot_write_rules(embedded: Embedded) -> None:
    with pytest.raises(Forbidden):
        await alerts(embedded).put_rule(await embedded.principal("bruno"), op(embedded),
                                        convert(RULE, RuleBody), "t")


async def test_a_dry_run_says_which_cases_match_now_without_saving(embedded: Embedded) -> None:
    alice = await embedded.principal("alice")
    cases = embedded.services.cases
    hot, _ = await cases.create_case(alice, op(embedded),
                                     NewCase(title="Dam", severity="critical"), "t")
    await cases.create_case(alice, op(embedded), NewCase(title="Road", severity="minor"), "t")
    matches = await alerts(embedded).dry_run(alice, op(embedded),
                                             convert({**RULE, "for": "1h"}, RuleBody),
                                             "t")  # holds ignored
    assert [(m["case_id"], m["summary"]) for m in matches] == \
        [(hot.record_id, "Dam is critical")]
    assert await alerts(embedded).list_rules(alice, op(embedded), "t") == []
    with pytest.raises(BadRequest):
        await alerts(embedded).dry_run(alice, op(embedded),
                                         convert({"id": "r", "when": "(("}, RuleBody), "t")


# --- policies and silences ----------------------------------------------------------------


async def test_a_policy_step_may_only_notify_channels_the_author_sees(
        embedded: Embedded) -> None:
    alice = await embedded.principal("alice")
    bad = {"id": "p", "steps": [{"notify": ["coordinators"], "wait": "5m"},
                                {"notify": ["channel:nowhere"]}]}
    with pytest.raises(BadRequest, match=r"policy 'p': steps\[1\].notify"):
        await alerts(embedded).put_policy(alice, op(embedded), convert(bad, PolicyBody), "t")
    with pytest.raises(BadRequest):
        await alerts(embedded).put_policy(alice, op(embedded),
                                          convert({"id": "p", "steps": []}, PolicyBody), "t")
    good = {"id": "p", "steps": [{"notify": ["channel:general"]}]}
    await alerts(embedded).put_policy(alice, op(embedded), convert(good, PolicyBody), "t")
    assert [p["id"] for p in await alerts(embedded).list_policies(alice, op(embedded), "t")] \
        == ["p"]


async def test_a_silence_is_created_listed_and_expired_once(embedded: Embedded) -> None:
    bruno = await embedded.principal("bruno")
    event = await alerts(embedded).create_silence(bruno, op(embedded), convert({
        "matchers": [{"label": "site", "value": "north"}], "duration": "1h",
        "reason": "crews on site"}, SilenceBody), "t")
    sid = event.record_id
    [listed] = await alerts(embedded).list_silences(bruno, op(embedded), "t")
    assert listed["id"] == sid and listed["created_by"] == "bruno"
    embedded.clock.advance(60)
    expired = await alerts(embedded).expire_silence(bruno, op(embedded), sid, "t")
    record = expired.data["record"]
    assert record["ends_at"] == embedded.clock.now()  # type: ignore[index]
    assert record["expired_by"] == "bruno"  # type: ignore[index]
    embedded.clock.advance(1)
    with pytest.raises(Conflict, match="already ended"):
        await alerts(embedded).expire_silence(bruno, op(embedded), sid, "t")
    with pytest.raises(NotFound):
        await alerts(embedded).expire_silence(bruno, op(embedded), "sil_nope", "t")


async def test_an_invalid_silence_is_a_bad_request(embedded: Embedded) -> None:
    with pytest.raises(BadRequest, match="silence: ends_at: must be a time after starts_at"):
        await alerts(embedded).create_silence(await embedded.principal("bruno"), op(embedded),
                                              convert({"matchers": [{"label": "a", "value": "b"}],
                                                       "reason": "r", "starts_at": 10.0,
                                                       "ends_at": 5.0}, SilenceBody), "t")
