"""One fuzz target per parser of untrusted input (issue 24, item 4).

A target is a hypothesis strategy of inputs — raw bytes, structured values that
look almost right, and mutations of the worst documents of bench/hostile.py —
and a check: the parser either returns or refuses with its own, declared error
(the one the hub answers with a 400 or an error frame naming the field). Any
other exception is a crash of the boundary: a 500, a dropped socket.

tests/fuzz/test_fuzz.py runs each for a fixed time budget (LIAISON_FUZZ_SECONDS).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from hypothesis import strategies as st

from alerting.frames import CaseFrame
from alerting.interop.alertmanager import read_notification
from alerting.interop.cap_in import read_cap
from alerting.pipeline.escalation import PolicyError, parse_policy
from alerting.pipeline.routing import TargetError, check_targets
from alerting.pipeline.silences import SilenceError, new_silence
from alerting.rules.engine import RuleEngine, RuleError, parse_rule
from alerting.rules.template import TemplateError, compile_template
from bench.hostile import HOSTILE, cap_document
from channels.bodies import PublishFrame, TypingFrame
from channels.slack import read_payload, render
from channels.slack_bodies import SlackPayload
from hub.bodies import Frame, convert
from hub.boundary import int_param, parse_json_body, time_param
from hub.errors import BadRequest, FrameError
from hub.labels import LabelError, Policy
from hub.protocol import WireFormat, decode

__all__ = ["TARGETS", "Target"]

#: Values of JSON (and msgpack) shape, small and hostile: odd numbers, odd text.
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=40), st.sampled_from(["", "\ud800", "NaN", "{", "}", "$("]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20)


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` with a slice cut out, or random bytes spliced in."""
    cut = st.tuples(st.integers(0, len(seed)), st.integers(0, len(seed))).map(
        lambda ab: seed[:min(ab)] + seed[max(ab):])
    splice = st.tuples(st.integers(0, len(seed)), st.binary(max_size=64)).map(
        lambda ib: seed[:ib[0]] + ib[1] + seed[ib[0]:])
    return st.one_of(cut, splice)


def _seeds(via: str) -> list[bytes]:
    return [h.body[:4096] for h in HOSTILE if h.via == via]


def _fields_of(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the keys a parser looks for, holding anything."""
    return st.dictionaries(st.sampled_from(keys), VALUES, max_size=len(keys))


@dataclass(frozen=True)
class Target:
    name: str
    inputs: st.SearchStrategy[Any]
    check: Callable[[Any], object]
    refusals: tuple[type[BaseException], ...]


#: The frames the chat feature declares, decoded by the codec as the gateway's would be.
DECLARED: dict[str, type[Frame]] = {"publish": PublishFrame, "typing": TypingFrame,
                                   "case": CaseFrame}


def _frame(fmt: WireFormat) -> Callable[[Any], object]:
    return lambda data: decode(data, fmt, max_bytes=64 * 1024, frames=DECLARED)


FRAME_KEYS = ["type", "ref", "channel", "text", "client_msg_id", "since_seq", "token",
              "priority", "label", "case", "data", "real_world", "reply_to", "ack_of", "ack"]

def _pack(value: Any) -> bytes:
    """msgpack of ``value``; text with lone surrogates goes out as the invalid UTF-8 a
    hostile client could send, an integer msgpack cannot hold as its decimal text."""
    try:
        return bytes(msgpack.packb(value, use_bin_type=True, unicode_errors="surrogatepass"))
    except OverflowError:
        return bytes(msgpack.packb(json.loads(json.dumps(value), parse_int=str),
                                   use_bin_type=True, unicode_errors="surrogatepass"))


_JSON_FRAMES = st.one_of(
    st.binary(max_size=512), st.text(max_size=256),
    _fields_of(FRAME_KEYS).map(lambda d: json.dumps(d)),
    st.sampled_from(_seeds("ws-json")).flatmap(_mutations))
_MSGPACK_FRAMES = st.one_of(
    st.binary(max_size=512),
    _fields_of(FRAME_KEYS).map(lambda d: _pack(d)),
    st.sampled_from(_seeds("ws-msgpack")).flatmap(_mutations))

_CAP_SEED = (b'<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:'
             b'emergency:cap:1.2"><identifier>X1</identifier><sender>s@example.org</sender>'
             b'<sent>2026-01-01T00:00:00-00:00</sent><status>Actual</status><msgType>Alert'
             b'</msgType><scope>Public</scope><info><category>Met</category><event>Storm'
             b'</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>'
             b'Observed</certainty><headline>Storm</headline><area><areaDesc>A</areaDesc>'
             b'<circle>38.4,-121.5 10</circle></area></info></alert>')

_CAP = st.one_of(
    st.binary(max_size=512), _mutations(_CAP_SEED),
    st.tuples(st.integers(0, 20), st.integers(0, 50), st.integers(0, 30)).map(
        lambda t: cap_document(attributes=t[0], elements=t[1], depth=t[2])))


def _slack(data: tuple[str, bytes]) -> object:
    return render(convert(read_payload(data[0], data[1]), SlackPayload))


_SLACK = st.tuples(
    st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-urlencoded",
                     "multipart/form-data", "image/png"]),
    st.one_of(st.binary(max_size=256),
              _fields_of(["text", "attachments", "blocks", "username", "priority",
                          "icon_url", "channel", "mrkdwn"]).map(
                  lambda d: json.dumps(d).encode()),
              st.sampled_from([b"payload=" + json.dumps({"text": "x"}).encode(), b"payload="])))


def _alertmanager(body: Any) -> object:
    return read_notification(body)  # the receiver reads the body with parse_json_body


_ALERT_KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
               "fingerprint"]
_AM = st.one_of(
    st.dictionaries(st.sampled_from(["version", "status", "alerts"]), VALUES, max_size=3),
    st.builds(lambda alerts, extra: {"version": "4", "status": "firing", "alerts": alerts,
                                     **extra},
              st.lists(_fields_of(_ALERT_KEYS), max_size=4),
              _fields_of(["groupKey", "externalURL", "commonLabels", "receiver"])))

_TEXTS = st.one_of(st.text(max_size=120), st.text(alphabet="{}()[]\"'!=<>&|. _aZ0-9+-*/",
                                                  max_size=120))


def _template(text: Any) -> object:
    compiled = compile_template(text)
    return compiled.render({"title": "\ud800" * 3, "severity": None, "fields": {"a": [1]}})


_CASES = st.dictionaries(st.sampled_from(["title", "severity", "status", "category", "fields",
                                          "created_at", "updated_at", "assignees", "location"]),
                         VALUES, max_size=6)


def _rule(data: tuple[dict[str, Any], list[dict[str, Any]]]) -> object:
    rule = parse_rule(data[0])
    # Evaluating a saved rule against any case never raises: the engine isolates a
    # rule that fails at run time (its health says so) instead.
    return RuleEngine([rule]).evaluate({str(i): c for i, c in enumerate(data[1])}, 1.8e9)


_RULES = st.tuples(
    st.one_of(_fields_of(["id", "when", "summary", "severity", "kind", "window", "threshold",
                          "group_by", "for", "keep_firing_for", "route", "escalation", "ack"]),
              st.builds(lambda w, s: {"id": "f", "when": w, "summary": s}, _TEXTS, _TEXTS)),
    st.lists(_CASES, max_size=3))

_POLICY = st.one_of(VALUES, st.builds(
    lambda pid, steps: {"id": pid, "steps": steps}, st.text(max_size=20),
    st.lists(_fields_of(["after", "notify", "repeat", "every"]), max_size=3)))

_SILENCE = st.one_of(VALUES, _fields_of(["matchers", "starts_at", "ends_at", "duration",
                                         "reason"]))

_LABELS = st.one_of(VALUES, _fields_of(["level", "categories", "marking"]),
                    st.builds(lambda lv, cats: {"level": lv, "categories": cats},
                              st.sampled_from(["UNCLASSIFIED", "SECRET", "x"]),
                              st.dictionaries(st.sampled_from(["REL TO", "X"]), VALUES,
                                              max_size=2)))
_POLICY_OF_LABELS = Policy()


def _params(data: tuple[str, str]) -> object:
    return int_param(data[0], "n", low=0, high=500), time_param(data[1], "at")


TARGETS: tuple[Target, ...] = (
    Target("ws frame (JSON)", _JSON_FRAMES, _frame(WireFormat.JSON), (FrameError,)),
    Target("ws frame (msgpack)", _MSGPACK_FRAMES, _frame(WireFormat.MSGPACK), (FrameError,)),
    Target("JSON body", st.one_of(st.binary(max_size=512), VALUES.map(
        lambda v: json.dumps(v).encode()), st.sampled_from(
        [h.body[:4096] for h in HOSTILE if h.via == "http"]).flatmap(_mutations)),
        parse_json_body, (BadRequest,)),
    Target("CAP XML", _CAP, read_cap, (BadRequest,)),
    Target("Slack / Mattermost body", _SLACK, _slack, (BadRequest,)),
    Target("Alertmanager / Grafana body", _AM, _alertmanager, (BadRequest,)),
    Target("summary template", st.one_of(_TEXTS, VALUES), _template, (TemplateError,)),
    Target("rule and its expression", _RULES, _rule, (RuleError,)),
    Target("escalation policy", _POLICY, parse_policy, (PolicyError,)),
    Target("silence", _SILENCE, lambda d: new_silence(d, silence_id="s", author="a",
                                                      now=1.8e9), (SilenceError,)),
    Target("route targets", VALUES, lambda v: check_targets(v, "'route'"), (TargetError,)),
    Target("label", _LABELS, lambda v: _POLICY_OF_LABELS.parse(v, "label"), (LabelError,)),
    Target("query parameters", st.tuples(st.text(max_size=30), st.text(max_size=30)),
           _params, (BadRequest,)),
)
