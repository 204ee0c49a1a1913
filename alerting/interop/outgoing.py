"""Outgoing webhooks, the pure part: what a subscription is, which events it takes,
what a delivery carries and how it is signed, and when a failed one is tried again.

A coordinator subscribes a URL to an operation's events. Each event the
subscription takes becomes one *delivery*, with an id that never changes
(``webhook-id``: the receiver's idempotency key) and is sent at least once.
Requests are signed as the Standard Webhooks specification says:
``webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``.
A failed delivery is tried again after an exponentially growing, jittered
wait (:func:`next_attempt`), for about a day, then given up.

A message's or a case's files travel as links, never as bytes: each file in the body
gets a ``url``, a path under the hub (after ``public_url``) signed with the
subscription's secret and good until ``expires`` (:func:`file_link`). Whoever holds
the link reads the file as the subscription's creator would: the hub checks the
signature, the time, that the subscription is still active and that its creator
still may read the message or case, and answers anything else as a missing file.

The body is the hub's JSON (``{"type", "timestamp", "operation", "data"}``)
or a Slack-compatible message (``{"text", "attachments"}``) for another
team's Mattermost, Slack or Matrix bridge, or an SMS or pager gateway that
takes one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from alerting.cases.case import play_marking
from alerting.documents import SubscriptionSettings
from alerting.interop.outgoing_words import words_for
from hub.errors import BadRequest

__all__ = ["ALERT_EVENTS", "CASE_EVENTS", "EVENT_TYPES", "FORMATS", "LINK_REF",
           "MAX_ATTEMPTS", "MESSAGE_EVENT", "LinkedFile", "body_for", "check_subscription",
           "event_type", "file_link", "link_signature", "linked_file", "new_secret",
           "next_attempt", "signature", "signed_headers", "with_links"]

ALERT_EVENTS = ("alert.fired", "alert.notified", "alert.acknowledged", "alert.resolved")
CASE_EVENTS = ("case.created", "case.updated", "case.closed")
MESSAGE_EVENT = "message.created"
EVENT_TYPES = (*ALERT_EVENTS, *CASE_EVENTS, MESSAGE_EVENT)
FORMATS = ("hub", "slack")
#: Attempts before a delivery is given up: the waits add up to about a day.
MAX_ATTEMPTS = 16
_FIRST_WAIT = 5.0
_LONGEST_WAIT = 3 * 3600.0
_COLOURS = {"critical": "danger", "major": "warning", "minor": "warning", "info": "good"}


def new_secret() -> str:
    """A signing secret as Standard Webhooks shows it: ``whsec_`` and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


#: What a link names: ``m.<channel>.<seq>.<index>`` (a message's file) or
#: ``c.<case>.<index>`` (a case's).
LINK_REF = r"^(m\.[A-Za-z0-9_-]{1,64}\.[1-9][0-9]{0,14}|c\.[A-Za-z0-9_-]{1,64})\.[0-9]$"


def link_signature(secret: str, op_id: str, sub_id: str, ref: str, expires: int) -> str:
    """The signature of a link: HMAC-SHA256 with the subscription's secret, base64url."""
    signed = f"file\n{op_id}\n{sub_id}\n{ref}\n{expires}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def file_link(secret: str, op_id: str, sub_id: str, ref: str, expires: int) -> str:
    """The path of a signed link to the file ``ref``, good until ``expires``."""
    sig = link_signature(secret, op_id, sub_id, ref, expires)
    return f"/api/operations/{op_id}/outgoing-webhooks/{sub_id}/files/{ref}" \
           f"?expires={expires}&sig={sig}"


class LinkedFile(NamedTuple):
    """What a link's ``ref`` names: a message's file (``kind`` "m", ``item`` its channel,
    ``seq``) or a case's (``kind`` "c", ``item`` the case, ``seq`` 0)."""

    kind: str
    item: str
    seq: int
    file: int  # its place among the item's files


def linked_file(ref: str) -> LinkedFile | None:
    """``ref`` read back, or None if it is not one :func:`with_links` makes."""
    if re.fullmatch(LINK_REF, ref) is None:
        return None
    parts = ref.split(".")
    if parts[0] == "m":
        return LinkedFile("m", parts[1], int(parts[2]), int(parts[3]))
    return LinkedFile("c", parts[1], 0, int(parts[2]))


def with_links(event: str, data: Mapping[str, Any],
               link: Callable[[str], str]) -> dict[str, Any]:
    """A delivery's data with each file of its message or case as its name, type, size,
    SHA-256 (and an image's size in pixels) and a ``url`` from ``link(ref)``."""
    def linked(files: object, ref: Callable[[int], str]) -> list[dict[str, Any]]:
        return [{**{k: f[k] for k in ("name", "type", "size", "sha256", "width", "height")
                    if k in f}, "url": link(ref(i))}
                for i, f in enumerate(files if isinstance(files, list) else [])
                if isinstance(f, Mapping)]

    out = dict(data)
    if event == MESSAGE_EVENT and data.get("files"):
        out["files"] = linked(data["files"], lambda i: f"m.{data['channel']}.{data['seq']}.{i}")
    record = data.get("record")
    if event in CASE_EVENTS and isinstance(record, Mapping) and record.get("files"):
        out["record"] = {**record, "files": linked(record["files"],
                                                   lambda i: f"c.{data['id']}.{i}")}
    return out


def signed_headers(secret: str, delivery_id: str, timestamp: int,
                   body: bytes) -> dict[str, str]:
    return {"content-type": "application/json", "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, delivery_id, timestamp, body),
            "user-agent": "LiaisonHub-Webhooks/1"}


def next_attempt(attempts: int, now: float, jitter: float) -> float | None:
    """When to try again after ``attempts`` failures (None: give up); ``jitter`` in [0, 1)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    wait: float = min(_LONGEST_WAIT, _FIRST_WAIT * 2.0 ** (attempts - 1))
    return now + wait * (0.75 + 0.5 * jitter)


def check_subscription(data: Mapping[str, Any]) -> SubscriptionSettings:
    """A subscription's settings, checked; BadRequest naming the field."""
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > 64:
        raise BadRequest("'name' must be a string of at most 64 characters")
    url = data.get("url")
    if not isinstance(url, str) or not 0 < len(url) <= 2000:
        raise BadRequest("'url' must be an http(s) URL of at most 2,000 characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # a bracketed host that is no IP address
        raise BadRequest("'url': the host in brackets is not an IPv6 address") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("'url' must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise BadRequest("'url' must not carry credentials (the hub signs its requests)")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise BadRequest("'url' has an invalid port") from None
    events = data.get("events", list(ALERT_EVENTS))
    if not isinstance(events, list) or not events or not all(e in EVENT_TYPES for e in events):
        raise BadRequest(f"'events' must be a list of: {', '.join(EVENT_TYPES)}")
    channels = data.get("channels", [])
    if not isinstance(channels, list) or len(channels) > 20 or not all(
            isinstance(c, str) and 0 < len(c) <= 64 for c in channels):
        raise BadRequest("'channels' must be a list of at most 20 channel ids")
    if channels and MESSAGE_EVENT not in events:
        raise BadRequest(f"'channels' needs '{MESSAGE_EVENT}' in 'events'")
    if MESSAGE_EVENT in events and not channels:
        raise BadRequest(f"'{MESSAGE_EVENT}' needs the 'channels' whose messages to send")
    fmt = data.get("format", "hub")
    if fmt not in FORMATS:
        raise BadRequest("'format' must be \"hub\" or \"slack\"")
    lang = data.get("lang", "en")
    if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2,3}", lang):
        raise BadRequest("'lang' must be an ISO 639 code such as 'es'")
    return {"name": name.strip(), "url": url, "events": sorted(set(events)),
            "channels": sorted(set(channels)), "format": fmt, "lang": lang}


def event_type(kind: str, action: str) -> str | None:
    """The outgoing event type of an operation log event, if subscriptions can take it."""
    if kind == "alert" and f"alert.{action}" in ALERT_EVENTS:
        return f"alert.{action}"
    if kind == "case":
        if action in ("created", "closed"):
            return f"case.{action}"
        if action in ("updated", "assigned", "commented"):
            return "case.updated"
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def body_for(fmt: str, *, event: str, ts: float, operation: Mapping[str, Any],
             data: Mapping[str, Any], lang: str = "en", said: str | None = None) -> bytes:
    """The request body of one delivery, in the subscription's format. A Slack-compatible
    one is in the subscription's ``lang``: the hub's words in it, and ``said`` (the kept
    translation of the message's text, the case's title or the alert's summary) in place
    of the original."""
    if fmt == "slack":
        return json.dumps(_slack(event, operation, data, words_for(lang), said),
                          ensure_ascii=False).encode()
    return json.dumps({"type": event, "timestamp": _iso(ts), "operation": dict(operation),
                       "data": dict(data)}, ensure_ascii=False, sort_keys=True).encode()


def _slack(event: str, operation: Mapping[str, Any], data: Mapping[str, Any],
           w: Mapping[str, str], said: str | None) -> dict[str, Any]:
    op = f"{operation.get('code', '')}"
    record = data.get("record") or {}
    marking = play_marking(record) or play_marking(data)
    exercise = f"[{marking}] " if marking else ""
    if event == MESSAGE_EVENT:
        who = f"{data.get('sender_name', '')} ({data.get('agency', '')})"
        urgent = f"{w['urgent']} " if data.get("priority") == "urgent" else ""
        text = said if said is not None else data.get("text", "")
        return {"text": f"{exercise}{urgent}{who} {w['in']} {op} "
                        f"#{data.get('channel_name', '')}: "
                        f"{text}{_file_lines(data.get('files'))}"}
    severity = str(record.get("severity", ""))
    level = w.get(f"sev.{severity}", severity.upper())
    if event.startswith("alert."):
        title = f"{exercise}{level} {w['alert']} {w.get(event, event)}: " \
                f"{said if said is not None else record.get('summary', '')}"
        state = record.get("state")
        fields = [("State", w.get(str(state), state)),
                  ("Acknowledged by", record.get("acked_by")),
                  ("Occurrences", record.get("occurrences"))]
    else:
        title = f"{exercise}{level} {w['case']} {w.get(event, event)}: " \
                f"{said if said is not None else record.get('title', '')}"
        location = record.get("location")
        place = location.get("place") if isinstance(location, dict) else None
        status = record.get("status")
        fields = [("Status", w.get(str(status), status)), ("Place", place),
                  ("Assignees", ", ".join(record.get("assignees") or []) or None),
                  ("Files", _file_lines(record.get("files")).strip() or None)]
    # The marking comes first of all: a chat preview must never hide it.
    text = f"{exercise}{op}: {title.removeprefix(exercise)}"
    return {"text": text, "attachments": [{
        "color": _COLOURS.get(severity, "#808080"), "title": title,
        "fields": [{"title": w[k], "value": str(v), "short": True} for k, v in fields
                   if v not in (None, "")],
        "footer": f"Liaison Hub · {op}"}]}



def _file_lines(files: object) -> str:
    """A message's or case's files as Slack links, one per line (after a line break)."""
    if not isinstance(files, list):
        return ""
    return "".join(f"\n\N{PAPERCLIP} <{f['url']}|{_slack_text(str(f.get('name', 'file')))}>"
                   for f in files if isinstance(f, Mapping) and "url" in f)


def _slack_text(text: str) -> str:
    """``text`` as Slack's markup shows it literally (its three escapes; no link breaks)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace("|", "\N{BOX DRAWINGS LIGHT VERTICAL}")
