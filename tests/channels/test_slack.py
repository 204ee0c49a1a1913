"""channels/slack.py: Slack and Mattermost webhook payloads read and rendered as text."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from channels.bodies import Priority
from channels.slack import Post, read_payload, render, slack_markup, split_text
from channels.slack_bodies import SlackPayload
from hub.bodies import convert
from hub.errors import BadRequest


def show(payload: Any) -> Post:
    """What a payload posted to a webhook shows: checked against its declaration, then
    rendered (channels/webhooks.py does the same)."""
    return render(convert(payload, SlackPayload))

#: Shapes as the Slack and Mattermost documentation show them (our own wording).
ATTACHMENT_POST = {
    "text": "Deploy of <https://ci.example.org/build/42|build 42> finished",
    "username": "ci-bot",
    "icon_emoji": ":rocket:",
    "attachments": [{
        "fallback": "Gauge 7 at 4.2 m",
        "color": "danger",
        "pretext": "River gauge report",
        "author_name": "Gauge network",
        "title": "Gauge 7 above alarm level",
        "title_link": "https://gauges.example.org/7",
        "text": "Level 4.2 m, rising 0.3 m/h",
        "fields": [{"title": "Station", "value": "Kerns bridge", "short": True},
                   {"title": "Level (m)", "value": 4.2, "short": True}],
        "footer": "gauge-net",
        "ts": 1795000000,
    }],
}
BLOCKS_POST = {
    "text": "fallback for notifications",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Shelter status"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*School 4* is <!here> full"},
         "fields": [{"type": "mrkdwn", "text": "*Beds:* 120"},
                    {"type": "mrkdwn", "text": "*Free:* 0"}]},
        {"type": "divider"},
        {"type": "context", "elements": [
            {"type": "image", "image_url": "https://x.example/i.png", "alt_text": "logo"},
            {"type": "mrkdwn", "text": "Reported by <@U024BE7LH|chloe>"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text",
                                                                      "text": "Approve"}}]},
    ],
}


def test_text_attachments_and_fields_read_as_one_message() -> None:
    post = show(ATTACHMENT_POST)
    assert post.username == "ci-bot" and post.priority is Priority.NORMAL
    assert post.text == (
        "Deploy of build 42 (https://ci.example.org/build/42) finished\n\n"
        "River gauge report\n"
        "▌ 🔴 Gauge network\n"
        "▌ Gauge 7 above alarm level (https://gauges.example.org/7)\n"
        "▌ Level 4.2 m, rising 0.3 m/h\n"
        "▌ Station: Kerns bridge\n"
        "▌ Level (m): 4.2\n"
        "▌ gauge-net")


def test_blocks_replace_the_fallback_text_and_unusable_blocks_are_dropped() -> None:
    post = show(BLOCKS_POST)
    assert post.text == ("Shelter status\n*School 4* is @here full\n*Beds:* 120\n*Free:* 0\n"
                         "———\nlogo · Reported by @chloe")
    assert "fallback" not in post.text and "Approve" not in post.text


def test_blocks_that_say_nothing_fall_back_to_text() -> None:
    post = show({"text": "plain", "blocks": [{"type": "actions", "elements": []}]})
    assert post.text == "plain"


def test_rich_text_blocks() -> None:
    post = show({"blocks": [{"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [
            {"type": "text", "text": "Road closed, see "},
            {"type": "link", "url": "https://roads.example.org", "text": "the map"},
            {"type": "text", "text": " "}, {"type": "user", "user_id": "bruno"},
            {"type": "emoji", "name": "warning"}]},
        {"type": "rich_text_list", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "A2"}]},
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "A13"}]}]}]}]})
    assert post.text == ("Road closed, see the map (https://roads.example.org) @bruno:warning:"
                         "• A2\n• A13")


@pytest.mark.parametrize(("raw", "shown"), [
    ("<https://a.example/x>", "https://a.example/x"),
    ("<https://a.example/x|the report>", "the report (https://a.example/x)"),
    ("<mailto:ops@example.org|ops@example.org>", "ops@example.org"),
    ("<@U123|alice> and <@bruno>", "@alice and @bruno"),
    ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
    ("<!date^1795000000^{date}|1 Nov 2026>", "1 Nov 2026"),
    ("<!subteam^S1|@medics>", "@medics"),
    ("<#C123|general> and <#C456>", "#general and <#C456>"),
    ("5 &lt; 6 &amp;&amp; 7 &gt; 6", "5 < 6 && 7 > 6"),
    ("<javascript:alert(1)|click>", "<javascript:alert(1)|click>"),  # never a link
    ("a <b> c", "a <b> c"),
])
def test_slack_markup(raw: str, shown: str) -> None:
    assert slack_markup(raw) == shown


def test_mattermost_priority_and_alias() -> None:
    post = show({"text": "evacuate", "priority": {"priority": "urgent", "requested_ack": True},
                   "alias": "Siren control"})
    assert post.priority is Priority.URGENT and post.username == "Siren control"
    assert show({"text": "x", "priority": {"priority": "important"}}).priority is Priority.HIGH


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "'text'"),
    ({"text": ""}, "'text'"),
    ({"text": " \n\t "}, "'text'"),
    ({"text": ["a"]}, "'text'"),
    ({"text": True}, "'text'"),
    ({"attachments": {"text": "x"}}, "'attachments'"),
    ({"attachments": ["x"]}, "'attachments[0]'"),
    ({"attachments": [{"fields": [{"title": "a", "value": {"x": 1}}]}]},
     "'attachments[0].fields[0].value'"),
    ({"attachments": [{"text": "x"}] * 101}, "'attachments'.*length <= 100"),
    ({"blocks": [{"type": "section", "text": "plain"}]}, "'blocks[0].text'"),
    ({"text": "x", "priority": "urgent"}, "'priority'"),
    ({"text": "x", "priority": {"priority": "now"}}, "'priority.priority'"),
])
def test_a_bad_payload_is_refused_naming_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest, match=field.replace("[", r"\[").replace("]", r"\]")):
        show(payload)


def test_every_way_a_script_sends_its_payload() -> None:
    doc = {"text": "hello\tthere"}
    body = json.dumps(doc).encode()
    assert read_payload("application/json", body) == doc
    assert read_payload("application/json; charset=utf-8", body) == doc
    assert read_payload("", body) == doc  # curl -d without a type
    form = b"payload=" + quote(json.dumps(doc)).encode()
    assert read_payload("application/x-www-form-urlencoded", form) == doc
    assert read_payload("", form) == doc
    assert read_payload("multipart/form-data; boundary=x", b"", {"payload": json.dumps(doc)}) \
        == doc
    # Raw newlines and tabs inside strings, as shell scripts send them.
    assert read_payload("application/json", b'{"text": "line 1\nline\t2"}') == \
        {"text": "line 1\nline\t2"}


@pytest.mark.parametrize(("ctype", "body", "says"), [
    ("application/json", b"{not json", "'body' is not valid JSON"),
    ("application/json", b"[1, 2]", "must be a JSON object"),
    ("application/json", b'{"text": NaN}', "finite"),
    ("application/json", b'{"text": "\\ud800"}', "Unicode"),
    ("application/json", b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ("application/x-www-form-urlencoded", b"text=hello", "payload=<JSON>"),
    ("application/x-www-form-urlencoded", b"payload=%FF", "not valid"),
    ("multipart/form-data; boundary=x", b"", "payload field"),
    ("application/xml", b"<a/>", "unsupported Content-Type"),
])
def test_a_body_that_is_not_a_payload_is_refused(ctype: str, body: bytes, says: str) -> None:
    with pytest.raises(BadRequest, match=says):
        read_payload(ctype, body)


def test_long_text_is_split_at_line_ends() -> None:
    text = "\n".join(f"line {i:04d}" for i in range(1000))  # 9,999 characters
    parts = split_text(text, 4000)
    assert all(len(p) <= 4000 for p in parts) and len(parts) == 3
    assert "\n".join(parts) == text
    assert split_text("x" * 9000, 4000) == ["x" * 4000, "x" * 4000, "x" * 1000]
    assert split_text("", 10) == [""]


@given(st.text(max_size=300), st.integers(10, 80))
def test_splitting_keeps_every_non_newline_character_in_order(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["text", "title", "value", "fields", "attachments", "blocks", "type",
                         "elements", "color", "pretext", "priority", "username", "url"]),
        inner, max_size=5),
    max_leaves=25)


@given(st.dictionaries(st.sampled_from(["text", "attachments", "blocks", "username",
                                        "priority", "icon_url"]), JSONISH, max_size=4))
@example({"priority": {"priority": []}})  # found by this test: a list as the level, a 500
def test_any_payload_renders_or_is_refused_as_a_bad_request(payload: dict[str, Any]) -> None:
    try:
        post = show(payload)
    except BadRequest as exc:
        assert str(exc)
        return
    assert isinstance(post.text, str) and post.text.strip()
