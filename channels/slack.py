"""Slack-compatible incoming webhook payloads, read and rendered as plain text. Pure.

Scripts written for Slack or Mattermost incoming webhooks post JSON (or a
form field ``payload=`` holding that JSON) with ``text``, ``attachments``
and ``blocks``. :func:`read_payload` turns the request body into that object;
:func:`render` turns the object into the text of one chat message: Slack's
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.bodies import Priority
from hub.boundary import check_value
from hub.errors import BadRequest

__all__ = ["COLOUR_MARKS", "MAX_ITEMS", "Post", "read_payload", "render", "slack_markup",
           "split_text"]

#: Attachments, fields and blocks taken from one payload (more is refused).
MAX_ITEMS = 100
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


def render(payload: Mapping[str, object]) -> Post:
    """The chat message a Slack-style payload makes; BadRequest naming a bad field."""
    parts: list[str] = []
    text = _opt_str(payload, "text")
    blocks = _list(payload, "blocks")
    attachments = _list(payload, "attachments")
    shown = [_block(b, f"blocks[{i}]") for i, b in enumerate(blocks)]
    shown = [s for s in shown if s.strip()]
    if shown:
        parts.append("\n".join(shown))  # blocks replace text, which is their fallback
    elif text.strip():
        parts.append(slack_markup(text))
    for i, attachment in enumerate(attachments):
        rendered = _attachment(attachment, f"attachments[{i}]")
        if rendered.strip():
            parts.append(rendered)
    if not parts:
        raise BadRequest("'text' is required unless 'attachments' or 'blocks' say something")
    username = (_opt_str(payload, "username") or _opt_str(payload, "alias")).strip()[:64]
    return Post(text="\n\n".join(parts), username=username or None,
                priority=_priority(payload))


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


def _priority(payload: Mapping[str, object]) -> Priority:
    value = payload.get("priority")
    if value is None:
        return Priority.NORMAL
    if not isinstance(value, dict):
        raise BadRequest("'priority' must be an object such as {\"priority\": \"urgent\"}")
    level = value.get("priority", "")
    if not isinstance(level, str) or level not in _PRIORITIES:
        raise BadRequest("'priority.priority' must be \"\", \"important\" or \"urgent\"")
    return _PRIORITIES[level]


def _opt_str(obj: Mapping[str, object], key: str, path: str = "") -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(f"'{path}{key}' must be a string")
    return str(value)


def _list(obj: Mapping[str, object], key: str, path: str = "") -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"'{path}{key}' must be a list")
    if len(value) > MAX_ITEMS:
        raise BadRequest(f"'{path}{key}' has more than {MAX_ITEMS} items")
    return value


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"'{path}' must be an object")
    return value


def _attachment(value: Any, path: str) -> str:
    a = _object(value, path)
    p = path + "."
    lines: list[str] = []
    pretext = _opt_str(a, "pretext", p)
    author = _opt_str(a, "author_name", p)
    title = _opt_str(a, "title", p)
    link = _opt_str(a, "title_link", p)
    body = _opt_str(a, "text", p)
    if author:
        lines.append(slack_markup(author))
    if title:
        lines.append(slack_markup(title) + (f" ({link})" if link else ""))
    if body:
        lines.extend(slack_markup(body).split("\n"))
    for i, f in enumerate(_list(a, "fields", p)):
        field = _object(f, f"{p}fields[{i}]")
        name = _opt_str(field, "title", f"{p}fields[{i}].")
        val = _opt_str(field, "value", f"{p}fields[{i}].")
        if name or val:
            lines.append(f"{slack_markup(name)}: {slack_markup(val)}" if name
                         else slack_markup(val))
    footer = _opt_str(a, "footer", p)
    if footer:
        lines.append(slack_markup(footer))
    if not lines:
        fallback = _opt_str(a, "fallback", p)
        lines = slack_markup(fallback).split("\n") if fallback else []
    colour = _opt_str(a, "color", p)
    mark = COLOUR_MARKS.get(colour, "")
    boxed = [f"{_BAR}{mark + ' ' if mark and i == 0 else ''}{line}"
             for i, line in enumerate(lines)]
    return "\n".join(([slack_markup(pretext)] if pretext else []) + boxed)


def _text_object(value: Any, path: str) -> str:
    if value is None:
        return ""
    obj = _object(value, path)
    return slack_markup(_opt_str(obj, "text", path + "."))


def _block(value: Any, path: str) -> str:
    b = _object(value, path)
    kind = b.get("type")
    p = path + "."
    if kind == "header":
        return _text_object(b.get("text"), p + "text")
    if kind == "section":
        lines = [_text_object(b.get("text"), p + "text")]
        lines += [_text_object(f, f"{p}fields[{i}]") for i, f in enumerate(_list(b, "fields", p))]
        return "\n".join(line for line in lines if line)
    if kind == "context":
        items = []
        for i, e in enumerate(_list(b, "elements", p)):
            element = _object(e, f"{p}elements[{i}]")
            items.append(_opt_str(element, "alt_text", f"{p}elements[{i}].")
                         if element.get("type") == "image"
                         else _text_object(element, f"{p}elements[{i}]"))
        return " · ".join(item for item in items if item)
    if kind == "divider":
        return "———"
    if kind == "image":
        alt, url = _opt_str(b, "alt_text", p), _opt_str(b, "image_url", p)
        return f"{alt} ({url})" if alt and url else alt or url
    if kind == "rich_text":
        return _rich_text(_list(b, "elements", p), p)
    return ""  # actions, inputs and the rest: nothing a reader of the channel can use


def _rich_text(elements: list[Any], path: str) -> str:
    out: list[str] = []
    for i, e in enumerate(elements):
        el = _object(e, f"{path}elements[{i}]")
        kind = el.get("type")
        if kind == "text":
            out.append(_opt_str(el, "text", f"{path}elements[{i}]."))
        elif kind == "link":
            url = _opt_str(el, "url", f"{path}elements[{i}].")
            label = _opt_str(el, "text", f"{path}elements[{i}].")
            out.append(f"{label} ({url})" if label and label != url else url)
        elif kind == "user":
            out.append("@" + _opt_str(el, "user_id", f"{path}elements[{i}]."))
        elif kind == "emoji":
            out.append(":" + _opt_str(el, "name", f"{path}elements[{i}].") + ":")
        elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            out.append(_rich_text(_list(el, "elements", f"{path}elements[{i}]."),
                                  f"{path}elements[{i}]."))
        elif kind == "rich_text_list":
            items = _list(el, "elements", f"{path}elements[{i}].")
            out.append("\n".join("• " + _rich_text(_list(_object(item, f"{path}[{j}]"),
                                                         "elements"), path)
                                 for j, item in enumerate(items)))
    return "".join(out)
