"""Slack-compatible incoming webhook payloads, read and rendered as plain text. Pure.

Scripts written for Slack or Mattermost incoming webhooks post JSON (or a
form field ``payload=`` holding that JSON) with ``text``, ``attachments``
and ``blocks``. :func:`read_payload` turns the request body into that object,
whose shape :mod:`channels.slack_bodies` declares (``SlackPayload``, converted by the
webhook's service); :func:`render` turns it into the text of one chat message: Slack's
markup (``<url|label>``, ``<@user>``, ``<!here>``, ``&amp;``...) as readable
text, each attachment as a block of lines marked by its colour, and the basic
block types (header, section, context, divider, image, rich text) in order.
What the hub cannot show (interactive actions, images from elsewhere, icon
overrides) is dropped, never fetched.

Every refusal is a :class:`~hub.errors.BadRequest` naming the field, as
everywhere at the hub's edge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.bodies import Priority
from channels.slack_bodies import (
    Attachment,
    Block,
    Element,
    Inline,
    Section,
    SlackPayload,
    TextObject,
)
from hub.boundary import check_value
from hub.errors import BadRequest

__all__ = ["COLOUR_MARKS", "Post", "read_payload", "render", "slack_markup",
           "split_text"]

#: How an attachment's colour shows in plain text (any other colour: the bar alone).
COLOUR_MARKS = {"danger": "🔴", "warning": "🟠", "good": "🟢"}
_BAR = "▌ "
_PRIORITIES = {"": Priority.NORMAL, "important": Priority.HIGH, "urgent": Priority.URGENT}
_ANGLE = re.compile(r"<([^<>\n]{1,2000})>")


@dataclass(frozen=True, slots=True)
class Post:
    """A payload as the hub shows it: the text, who it says it is from, its priority."""

    text: str
    username: str | None
    priority: Priority


def read_payload(content_type: str, body: bytes, form: Mapping[str, str] | None = None) -> Any:
    """The JSON object a webhook request carries, whichever way it was sent.

    ``form`` holds the fields of a multipart body, already parsed by the caller.
    JSON whose strings hold raw newlines or tabs (common in shell scripts) is
    accepted, as Slack and Mattermost accept it.
    """
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        raw = (form or {}).get("payload")
        if raw is None:
            raise BadRequest("'payload': a multipart body needs a payload field")
        return _json(raw.encode("utf-8") if isinstance(raw, str) else raw, "payload")
    if kind == "application/x-www-form-urlencoded" or (not kind and body.startswith(b"payload=")):
        try:
            fields = parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("'payload': the form body is not valid UTF-8") from None
        if "payload" not in fields:
            raise BadRequest("'payload': a form body needs a payload=<JSON> field")
        return _json(fields["payload"][0].encode("utf-8"), "payload")
    if kind in ("application/json", "text/plain", ""):
        return _json(body, "body")
    raise BadRequest(f"unsupported Content-Type {kind!r}: send JSON or payload=<JSON>")


def _json(raw: bytes, name: str) -> Any:
    try:
        value = json.loads(raw, strict=False, parse_constant=float)
    except (ValueError, RecursionError):
        raise BadRequest(f"'{name}' is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest(f"'{name}' must be a JSON object")
    check_value(value)
    return value


def render(payload: SlackPayload) -> Post:
    """The chat message a Slack-style payload makes; BadRequest if it says nothing."""
    parts: list[str] = []
    shown = [_block(b) for b in payload.blocks or ()]
    shown = [s for s in shown if s.strip()]
    if shown:
        parts.append("\n".join(shown))  # blocks replace text, which is their fallback
    elif _str(payload.text).strip():
        parts.append(slack_markup(_str(payload.text)))
    for attachment in payload.attachments or ():
        rendered = _attachment(attachment)
        if rendered.strip():
            parts.append(rendered)
    if not parts:
        raise BadRequest("'text' is required unless 'attachments' or 'blocks' say something")
    username = (_str(payload.username) or _str(payload.alias)).strip()[:64]
    level = payload.priority.priority if payload.priority is not None else ""
    return Post(text="\n\n".join(parts), username=username or None,
                priority=_PRIORITIES[level])


def slack_markup(text: str) -> str:
    """Slack's ``<...>`` markup and escapes as plain text a reader follows."""
    def one(m: re.Match[str]) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):  # <@U123|name> or <@name>: a mention
            return "@" + (label or target[1:])
        if target.startswith("#"):  # <#C123|general>: a channel
            return "#" + label if label else m.group(0)
        if target.startswith("!"):  # <!here>, <!channel>, <!date^...|fallback>
            word = target[1:].split("^")[0]
            if word in ("here", "channel", "all", "everyone"):
                return "@" + word
            return label or m.group(0)
        if re.match(r"(?:https?|mailto|tel):", target):
            shown = target.removeprefix("mailto:").removeprefix("tel:")
            return f"{label} ({shown})" if label and label != shown else shown
        return m.group(0)

    out = _ANGLE.sub(one, text)
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:].lstrip("\n")
    if text or not pieces:
        pieces.append(text)
    return pieces


def _str(value: object) -> str:
    """A text field as shown ("" when absent; a number as written)."""
    return "" if value is None else str(value)


def _attachment(a: Attachment) -> str:
    lines: list[str] = []
    author, title, link, body = (_str(a.author_name), _str(a.title), _str(a.title_link),
                                 _str(a.text))
    if author:
        lines.append(slack_markup(author))
    if title:
        lines.append(slack_markup(title) + (f" ({link})" if link else ""))
    if body:
        lines.extend(slack_markup(body).split("\n"))
    for field in a.fields or ():
        name, val = _str(field.title), _str(field.value)
        if name or val:
            lines.append(f"{slack_markup(name)}: {slack_markup(val)}" if name
                         else slack_markup(val))
    if a.footer is not None and _str(a.footer):
        lines.append(slack_markup(_str(a.footer)))
    if not lines and _str(a.fallback):
        lines = slack_markup(_str(a.fallback)).split("\n")
    mark = COLOUR_MARKS.get(_str(a.color), "")
    boxed = [f"{_BAR}{mark + ' ' if mark and i == 0 else ''}{line}"
             for i, line in enumerate(lines)]
    pretext = _str(a.pretext)
    return "\n".join(([slack_markup(pretext)] if pretext else []) + boxed)


def _text_object(value: TextObject | None) -> str:
    return slack_markup(_str(value.text)) if value is not None else ""


def _block(b: Block) -> str:
    kind = b.type
    if kind == "header":
        return _text_object(b.text)
    if kind == "section":
        lines = [_text_object(b.text), *(_text_object(f) for f in b.fields or ())]
        return "\n".join(line for line in lines if line)
    if kind == "context":
        items = [_str(e.alt_text) if e.type == "image" else _element_text(e)
                 for e in b.elements or ()]
        return " · ".join(item for item in items if item)
    if kind == "divider":
        return "———"
    if kind == "image":
        alt, url = _str(b.alt_text), _str(b.image_url)
        return f"{alt} ({url})" if alt and url else alt or url
    if kind == "rich_text":
        return _rich_text(b.elements or [])
    return ""  # actions, inputs and the rest: nothing a reader of the channel can use


def _element_text(e: Inline) -> str:
    """An inline element's text: a text object's, or a plain text given as such."""
    text = e.text.text if isinstance(e.text, TextObject) else e.text
    return slack_markup(_str(text))


def _rich_text(elements: Sequence[Inline]) -> str:
    out: list[str] = []
    for el in elements:
        kind = el.type
        text = el.text.text if isinstance(el.text, TextObject) else el.text
        inner: Sequence[Inline] = el.elements or [] if isinstance(el, Section | Element) else []
        if kind == "text":
            out.append(_str(text))
        elif kind == "link":
            url, label = _str(el.url), _str(text)
            out.append(f"{label} ({url})" if label and label != url else url)
        elif kind == "user":
            out.append("@" + _str(el.user_id))
        elif kind == "emoji":
            out.append(":" + _str(el.name) + ":")
        elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            out.append(_rich_text(inner))
        elif kind == "rich_text_list":
            out.append("\n".join("• " + _rich_text(item.elements or [])
                                  for item in inner if isinstance(item, Section)))
    return "".join(out)
