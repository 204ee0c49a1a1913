"""alerting/interop/outgoing.py: subscriptions checked, Standard Webhooks signatures, backoff,
bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.interop.outgoing import (
    ALERT_EVENTS,
    LINK_REF,
    MAX_ATTEMPTS,
    LinkedFile,
    body_for,
    check_subscription,
    event_type,
    file_link,
    link_signature,
    linked_file,
    new_secret,
    next_attempt,
    signature,
    signed_headers,
    with_links,
)
from hub.errors import BadRequest


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """A receiver's check, written from the Standard Webhooks text, not from our code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}"
    expected = base64.b64encode(hmac.new(key, content.encode(), hashlib.sha256).digest())
    return any(hmac.compare_digest(sig.split(",", 1)[1].encode(), expected)
               for sig in headers["webhook-signature"].split() if sig.startswith("v1,"))


def test_a_signature_verifies_as_the_specification_says_and_nothing_else_does() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = json.dumps({"type": "alert.fired", "data": {"x": "é"}}).encode()
    headers = signed_headers(secret, "dl_1", 1795000000, body)
    assert headers["webhook-id"] == "dl_1" and headers["webhook-timestamp"] == "1795000000"
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(new_secret(), headers, body)
    assert not verify(secret, {**headers, "webhook-id": "dl_2"}, body)
    assert signature(secret, "dl_1", 1795000000, body) == headers["webhook-signature"]


def test_retries_wait_longer_each_time_with_jitter_then_stop() -> None:
    waits = [next_attempt(n, 0.0, 0.5) for n in range(1, MAX_ATTEMPTS)]
    assert waits[0] == 5.0 and all(b is not None and a is not None and b >= a
                                   for a, b in itertools.pairwise(waits))
    assert max(w for w in waits if w is not None) <= 3 * 3600
    total = sum(w for w in waits if w is not None)
    assert 12 * 3600 < total < 48 * 3600  # about a day of trying
    assert next_attempt(1, 100.0, 0.0) == 100.0 + 3.75
    assert next_attempt(1, 100.0, 0.999) < 100.0 + 6.25
    assert next_attempt(MAX_ATTEMPTS, 0.0, 0.5) is None


def test_a_subscription_is_checked_and_defaults_to_alerts() -> None:
    got = check_subscription({"url": "https://pager.example.org/hook"})
    assert got == {"name": "", "url": "https://pager.example.org/hook",
                   "events": sorted(ALERT_EVENTS), "channels": [], "format": "hub",
                   "lang": "en"}
    got = check_subscription({"url": "http://sms.example/in", "format": "slack",
                              "events": ["message.created", "case.created"],
                              "channels": ["ch_1", "ch_1"], "name": " SMS "})
    assert got["channels"] == ["ch_1"] and got["name"] == "SMS"


@pytest.mark.parametrize(("data", "field"), [
    ({}, "'url'"),
    ({"url": "ftp://x.example/"}, "'url'"),
    ({"url": "https://user:pw@x.example/"}, "credentials"),
    ({"url": "https://x.example:99999/"}, "port"),
    ({"url": "https://x.example/", "events": []}, "'events'"),
    ({"url": "https://x.example/", "events": ["alert.exploded"]}, "'events'"),
    ({"url": "https://x.example/", "events": ["message.created"]}, "'channels'"),
    ({"url": "https://x.example/", "channels": ["ch_1"]}, "'channels'"),
    ({"url": "https://x.example/", "format": "xml"}, "'format'"),
    ({"url": "https://x.example/", "name": 5}, "'name'"),
    ({"url": "https://x.example/", "lang": "spanish"}, "'lang'"),
])
def test_a_bad_subscription_is_refused_naming_the_field(data: dict[str, Any],
                                                        field: str) -> None:
    with pytest.raises(BadRequest, match=field):
        check_subscription(data)


@pytest.mark.parametrize(("kind", "action", "event"), [
    ("alert", "fired", "alert.fired"), ("alert", "notified", "alert.notified"),
    ("alert", "acknowledged", "alert.acknowledged"), ("alert", "resolved", "alert.resolved"),
    ("alert", "repeated", None), ("case", "created", "case.created"),
    ("case", "updated", "case.updated"), ("case", "assigned", "case.updated"),
    ("case", "commented", "case.updated"), ("case", "closed", "case.closed"),
    ("rule", "created", None), ("webhook", "created", None),
])
def test_which_log_events_subscriptions_take(kind: str, action: str,
                                             event: str | None) -> None:
    assert event_type(kind, action) == event


OP = {"id": "op_1", "code": "OP-A", "name": "Alpha"}
ALERT = {"record": {"summary": "Levee breach is critical", "severity": "critical",
                    "state": "firing", "occurrences": 1, "exercise": True}}


def test_the_hub_body_and_the_slack_body() -> None:
    hub = json.loads(body_for("hub", event="alert.fired", ts=1795000000.5, operation=OP,
                              data=ALERT))
    assert hub["type"] == "alert.fired" and hub["timestamp"] == "2026-11-18T11:06:40.500000Z"
    assert hub["operation"] == OP and hub["data"] == ALERT
    slack = json.loads(body_for("slack", event="alert.fired", ts=0, operation=OP, data=ALERT))
    assert slack["text"] == "[EXERCISE] OP-A: CRITICAL alert fired: Levee breach is critical"
    assert slack["attachments"][0]["color"] == "danger"
    message = json.loads(body_for("slack", event="message.created", ts=0, operation=OP, data={
        "sender_name": "Alice", "agency": "POLICE", "channel_name": "alerts", "text": "Go",
        "priority": "urgent"}))
    assert message == {"text": "URGENT Alice (POLICE) in OP-A #alerts: Go"}


def test_a_slack_body_speaks_the_subscription_s_language() -> None:
    """The hub's words in Spanish, the message's kept translation in place of its text,
    the alert's summary as it was written (the hub never machine translates its own)."""
    slack = json.loads(body_for("slack", event="alert.fired", ts=0, operation=OP, data=ALERT,
                                lang="es"))
    assert slack["text"] == "[EXERCISE] OP-A: CRÍTICO alerta emitida: Levee breach is critical"
    assert [f["title"] for f in slack["attachments"][0]["fields"]] == \
        ["Estado", "Repeticiones"]
    assert slack["attachments"][0]["fields"][0]["value"] == "activa"
    message = json.loads(body_for("slack", event="message.created", ts=0, operation=OP, data={
        "sender_name": "Alice", "agency": "POLICE", "channel_name": "alertas", "text": "Go",
        "priority": "urgent"}, lang="es", said="Vamos"))
    assert message == {"text": "URGENTE Alice (POLICE) en OP-A #alertas: Vamos"}
    case = json.loads(body_for("slack", event="case.created", ts=0, operation=OP, data={
        "record": {"title": "The bridge", "severity": "major", "status": "open"}},
        lang="fr", said="Le pont"))
    assert case["text"] == "OP-A: MAJEUR cas créé: Le pont"
    unknown = json.loads(body_for("slack", event="alert.fired", ts=0, operation=OP,
                                  data=ALERT, lang="de"))
    assert unknown["text"] == "[EXERCISE] OP-A: CRITICAL alert fired: Levee breach is critical"


@given(st.dictionaries(st.text(max_size=10), st.text(max_size=20) | st.integers(), max_size=6))
def test_any_record_makes_a_slack_body_the_incoming_side_can_read(record: dict[str, Any]
                                                                  ) -> None:
    from channels.slack import render
    from channels.slack_bodies import SlackPayload
    from hub.bodies import convert
    for event in ("alert.fired", "case.updated"):
        body = json.loads(body_for("slack", event=event, ts=0, operation=OP,
                                   data={"record": record}))
        assert render(convert(body, SlackPayload)).text


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)


@given(st.dictionaries(st.sampled_from(["url", "name", "events", "channels", "format", "x"]),
                       JSONISH | st.sampled_from(["https://a.example/h", "alert.fired"]),
                       max_size=5))
def test_any_subscription_body_is_checked_or_refused_naming_a_field(data: dict[str, Any]
                                                                    ) -> None:
    try:
        got = check_subscription(data)
    except BadRequest as exc:
        assert str(exc).startswith("'")
        return
    assert got["url"].startswith(("http://", "https://")) and got["format"] in ("hub", "slack")
    assert got["events"] and all(isinstance(e, str) for e in got["events"])


IDS = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")


@given(kind=st.sampled_from(["m", "c"]), item=IDS, seq=st.integers(1, 10**15 - 1),
       file=st.integers(0, 9))
def test_a_link_s_ref_reads_back_and_fits_its_route_s_pattern(kind: str, item: str,
                                                              seq: int, file: int) -> None:
    ref = f"m.{item}.{seq}.{file}" if kind == "m" else f"c.{item}.{file}"
    assert re.fullmatch(LINK_REF, ref)
    assert linked_file(ref) == LinkedFile(kind, item, seq if kind == "m" else 0, file)


@given(st.one_of(st.text(max_size=40), st.from_regex(r"\A[mc]\.[^/]{0,20}\Z")))
def test_anything_else_is_no_ref(ref: str) -> None:
    assert (linked_file(ref) is None) == (re.fullmatch(LINK_REF, ref) is None)


def test_a_delivery_links_each_file_and_carries_only_what_a_reader_needs() -> None:
    ref = {"upload": "up_1", "name": "levee.jpg", "type": "image/jpeg", "size": 10,
           "sha256": "ab" * 32, "width": 4, "height": 3, "preview": "cd" * 32,
           "thumbnail": "ef" * 32}
    message = {"channel": "ch_1", "seq": 7, "text": "x", "files": [ref, ref]}
    out = with_links("message.created", message, lambda r: f"/l/{r}")
    assert [f["url"] for f in out["files"]] == ["/l/m.ch_1.7.0", "/l/m.ch_1.7.1"]
    assert set(out["files"][0]) == {"name", "type", "size", "sha256", "width", "height", "url"}
    assert message["files"] == [ref, ref]  # the stored payload is left as it was
    case = {"id": "case_9", "record": {"title": "t", "files": [ref]}}
    assert with_links("case.updated", case, lambda r: r)["record"]["files"][0]["url"] == \
        "c.case_9.0"
    assert with_links("alert.fired", case, lambda r: r) == case
    text = json.loads(body_for("slack", event="message.created", ts=0.0,
                               operation={"code": "OP"},
                               data={**out, "files": [{**out["files"][0], "name": "a|b<c>"}]}))
    bar = "\N{BOX DRAWINGS LIGHT VERTICAL}"
    assert text["text"].endswith(f"\N{PAPERCLIP} </l/m.ch_1.7.0|a{bar}b&lt;c&gt;>")


def test_a_link_s_signature_binds_every_part_of_it() -> None:
    secret = new_secret()
    base = link_signature(secret, "op_1", "wh_1", "c.case_1.0", 100)
    assert len(base) == 43
    for changed in (("op_2", "wh_1", "c.case_1.0", 100), ("op_1", "wh_2", "c.case_1.0", 100),
                    ("op_1", "wh_1", "c.case_1.1", 100), ("op_1", "wh_1", "c.case_1.0", 101)):
        assert link_signature(secret, *changed) != base
    assert link_signature(new_secret(), "op_1", "wh_1", "c.case_1.0", 100) != base
    assert file_link(secret, "op_1", "wh_1", "c.case_1.0", 100) == \
        f"/api/operations/op_1/outgoing-webhooks/wh_1/files/c.case_1.0?expires=100&sig={base}"
