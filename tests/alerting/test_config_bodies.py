"""alerting/config_bodies.py: rules, policies, silences and outgoing webhooks as the hub
accepts them, and the published schema that says so (exactly: no looser, no stricter),
rules between fields included."""

from __future__ import annotations

import re
import typing
from typing import Any

import jsonschema
import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from alerting.config_bodies import (
    ACK_NAMES,
    EVENT_NAMES,
    GROUPABLE_NAMES,
    Matcher,
    NewSubscription,
    PolicyBody,
    RuleBody,
    SilenceBody,
)
from alerting.interop.outgoing import EVENT_TYPES
from alerting.pipeline.silences import OPS
from alerting.rules.engine import ACK_MODES, GROUPABLE
from hub.bodies import convert, schema
from hub.errors import BadRequest

texts = st.one_of(st.text(max_size=6), st.sampled_from(["", " ", "x" * 65, "a b", "r-1.x"]))
durations = st.sampled_from(["5m", " 90s ", "1.5h", "2d", "30", "5 m", "m", "-1s", "1w",
                             "1234567890s"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 200_000), st.floats(-2, 2),
                    texts, durations)
targets = st.lists(st.one_of(texts, st.sampled_from(
    ["everyone", "role:member", "channel:ops", "agency:police", "pagers"])), max_size=3)
steps = st.lists(st.fixed_dictionaries({}, optional={
    "notify": st.one_of(targets, scalars), "wait": st.one_of(durations, scalars),
    "x": scalars}), max_size=3)
matchers = st.lists(st.fixed_dictionaries({}, optional={
    "label": st.one_of(texts, st.just("alert")), "value": st.one_of(texts, scalars),
    "op": st.sampled_from(["=", "!=", "~", "==", 1])}), max_size=3)


def bodies(names: list[str], *extra: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from([*names, "extra"]),
                           st.one_of(scalars, targets, *extra), max_size=7)


RULES = bodies(["id", "name", "kind", "when", "for", "keep_firing_for", "severity",
                "summary", "window", "group_by", "threshold", "route", "escalation",
                "enabled", "ack"], st.sampled_from(["case", "rate", "critical", "each_agency",
                                                    "status", "any"]))
POLICIES = bodies(["id", "name", "steps", "repeat_every", "group_by", "group_wait",
                   "group_interval"], steps,
                  st.lists(st.sampled_from(["rule", "case", "labels.x", "labels.", "x"]),
                           max_size=3))
good_matchers = st.lists(st.fixed_dictionaries(
    {"label": st.sampled_from(["alert", "rule"]), "value": st.just("a-1")},
    optional={"op": st.sampled_from(["=", "!=", "~"])}), min_size=1, max_size=2)
SILENCES = st.fixed_dictionaries({"reason": st.one_of(st.just("drill"), texts)}, optional={
    "matchers": st.one_of(good_matchers, matchers, scalars),
    "starts_at": st.one_of(st.floats(0, 1e10), scalars),
    "ends_at": st.one_of(st.none(), st.floats(0, 1e10), scalars),
    "duration": st.one_of(st.none(), durations, scalars),
    "label": st.one_of(st.none(), st.just("OFFICIAL"), scalars), "extra": scalars})
SUBSCRIPTIONS = bodies(["url", "name", "events", "channels", "format"], st.lists(
    st.sampled_from([*EVENT_TYPES, "alert.x"]), max_size=3), st.sampled_from(["hub", "slack"]))


def agree(body: dict[str, Any], kind: type[msgspec.Struct]) -> None:
    try:
        convert(body, kind)
        hub_says = True
    except BadRequest:
        hub_says = False
    assert hub_says == jsonschema.Draft202012Validator(schema(kind)).is_valid(body), body


@settings(max_examples=300, deadline=None)
@given(RULES.map(lambda d: {"id": "r1", **d}))
@example({"id": "r1", "kind": "rate"})
@example({"id": "r1", "kind": "rate", "when": None, "threshold": 3})
@example({"id": "r1", "kind": "rate", "window": "1h", "threshold": 3})
@example({"id": "r1", "kind": "rate", "window": "1h"})
@example({"id": "r1", "kind": "case", "when": None})
@example({"id": "r1"})
@example({"id": "r1", "when": "severity == 'critical'"})
def test_rules(body: dict[str, Any]) -> None:
    agree(body, RuleBody)


@settings(max_examples=300, deadline=None)
@given(POLICIES.map(lambda d: {"id": "p1", "steps": [{"notify": ["everyone"]}], **d}))
def test_policies(body: dict[str, Any]) -> None:
    agree(body, PolicyBody)


ALERT = {"label": "alert", "value": "alt-1"}


@settings(max_examples=300, deadline=None)
@given(SILENCES)
@example({"reason": "r", "matchers": [ALERT], "ends_at": 5.0, "duration": "5m"})
@example({"reason": "r", "matchers": [ALERT], "ends_at": None, "duration": "5m"})
@example({"reason": "r", "matchers": [ALERT]})
@example({"reason": "r", "matchers": [{**ALERT, "op": "!="}]})
@example({"reason": "r", "matchers": [{"label": "rule", "value": "r1"}]})
@example({"reason": "r", "matchers": [{"label": "rule", "value": "r1"}], "ends_at": 9.5})
def test_silences(body: dict[str, Any]) -> None:
    agree(body, SilenceBody)


@settings(max_examples=300, deadline=None)
@example({"url": "u", "channels": ["c"]})
@example({"url": "u", "channels": ["c"], "events": ["message.created"]})
@example({"url": "u", "channels": [], "events": ["message.created"]})
@example({"url": "u", "events": ["alert.fired", "message.created"]})
@given(SUBSCRIPTIONS.map(lambda d: {"url": "https://x.example/h", **d}))
def test_subscriptions(body: dict[str, Any]) -> None:
    agree(body, NewSubscription)


def test_the_words_are_the_rule_languages() -> None:
    assert typing.get_args(ACK_NAMES) == ACK_MODES
    assert set(typing.get_args(GROUPABLE_NAMES)) == GROUPABLE
    assert typing.get_args(EVENT_NAMES) == EVENT_TYPES
    assert typing.get_args(typing.get_args(typing.get_type_hints(Matcher)["op"])[0]) == OPS


def test_what_is_left_out_stays_out_and_for_keeps_its_name() -> None:
    rule = convert({"id": "r1", "for": "5m", "when": "severity == 'critical'"}, RuleBody)
    assert msgspec.to_builtins(rule) == {"id": "r1", "for": "5m",
                                         "when": "severity == 'critical'"}


@pytest.mark.parametrize(("body", "kind", "words"), [
    ({"id": "r 1"}, RuleBody, "field 'id' must be an id of 1-64"),
    ({"id": "r1", "for": "30"}, RuleBody, "field 'for' must be a duration"),
    ({"id": "r1", "route": ["pagers"]}, RuleBody, "field 'route[0]' must be a target"),
    ({"id": "p", "steps": [{"notify": []}]}, PolicyBody, "field 'steps[0].notify'"),
    ({"id": "p", "steps": [{"notify": ["everyone"]}], "group_by": ["labels."]}, PolicyBody,
     "field 'group_by[0]' must be one of rule"),
    ({"matchers": [{"label": "a", "value": "b"}], "reason": "x"}, SilenceBody,
     "field 'ends_at' is required unless"),
    ({"url": "https://x", "channels": ["c"]}, NewSubscription,
     "'channels' needs 'message.created'"),
])
def test_a_refusal_names_the_field(body: dict[str, Any], kind: type[msgspec.Struct],
                                   words: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(words)):
        convert(body, kind)


URLS = st.builds(lambda scheme, user, host, port, path: f"{scheme}{user}{host}{port}{path}",
                 st.sampled_from(["http://", "HTTPS://", "ftp://", "http:/", ""]),
                 st.sampled_from(["", "u@", "u:p@"]),
                 st.one_of(st.sampled_from(["hooks.example", "[::1]", "", "a b", "h_1.x"]),
                           st.text(max_size=5)),
                 st.one_of(st.just(""), st.integers(0, 99_999).map(lambda p: f":{p}"),
                           st.sampled_from([":", ":x"])),
                 st.sampled_from(["", "/in", "/in?x=1#f", "?q", " /x"]))


@settings(max_examples=400, deadline=None)
@given(URLS)
@example("http://127.0.0.1:54321/hook")
@example("httPs://[bAe674600]")
@example("http://[::1]:8080/x")
@example("http://h:65536/")
def test_a_url_the_schema_allows_is_one_the_hub_takes(url: str) -> None:
    """The published pattern of a webhook's url is never looser than the hub's check."""
    from alerting.config_bodies import HTTP_URL
    from alerting.interop.outgoing import check_subscription

    try:
        check_subscription({"url": url})
        taken = True
    except BadRequest:  # the hub's refusal: never another exception
        taken = False
    in_brackets = "://[" in url  # what an IPv6 address is, the service checks
    assert taken or in_brackets or not re.search(HTTP_URL, url), url
