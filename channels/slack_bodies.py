"""What a Slack- or Mattermost-style webhook payload may hold, declared. Pure, no I/O.

Scripts written for Slack or Mattermost post these shapes to an incoming webhook
(``POST /hooks/...``); :func:`channels.slack.render` shows them as one chat message.
The declarations are lenient where those services are: a field the hub does not
show (``icon_emoji``, ``channel``, ``props``, an attachment's ``ts``, a button's
``action_id``...) is ignored rather than refused, text may be given as a number
(``"value": 4.2``), and a block of a type the hub cannot show passes unread. What
the hub does read must have its shape, or the post is refused naming the field
(``field 'attachments[0].fields[1].title': ...``). The same declarations are the
OpenAPI schema of the webhook's body.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["MAX_ITEMS", "Attachment", "AttachmentField", "Block", "Element", "Inline",
           "Section", "SlackPayload", "SlackPriority", "TextObject"]

#: Attachments, fields, blocks and elements taken from one payload (more is refused).
MAX_ITEMS = 100

#: Text as these services take it: a string, or a number shown as written.
Text = str | int | float


class TextObject(msgspec.Struct, kw_only=True, frozen=True):
    """A block's text: ``{"type": "mrkdwn" | "plain_text", "text": ...}``."""

    text: Text | None = None


class Inline(msgspec.Struct, kw_only=True, frozen=True):
    """An inline element: rich text's text, link, user and emoji, a context block's text
    or image (a button's text is a :class:`TextObject`)."""

    type: str | None = None
    text: Text | TextObject | None = None
    url: Text | None = None
    user_id: Text | None = None
    name: Text | None = None
    alt_text: Text | None = None


class Section(Inline, kw_only=True, frozen=True):
    """A rich-text section (or quote, or preformatted text) of inline elements, or an
    inline element itself."""

    elements: Annotated[list[Inline], msgspec.Meta(max_length=MAX_ITEMS)] | None = None


class Element(Inline, kw_only=True, frozen=True):
    """An element of a block: a rich-text section, a list of sections, or an inline.
    (Three levels, as deep as Slack nests rich text: a list, its items, their text.)"""

    elements: Annotated[list[Section], msgspec.Meta(max_length=MAX_ITEMS)] | None = None


class Block(msgspec.Struct, kw_only=True, frozen=True):
    """A Block Kit block; header, section, context, divider, image and rich text are shown."""

    type: str | None = None
    text: TextObject | None = None
    fields: Annotated[list[TextObject], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    elements: Annotated[list[Element], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    alt_text: Text | None = None
    image_url: Text | None = None


class AttachmentField(msgspec.Struct, kw_only=True, frozen=True):
    title: Text | None = None
    value: Text | None = None


class Attachment(msgspec.Struct, kw_only=True, frozen=True):
    """A legacy attachment: a block of lines marked by its colour."""

    fallback: Text | None = None
    color: Text | None = None
    pretext: Text | None = None
    author_name: Text | None = None
    title: Text | None = None
    title_link: Text | None = None
    text: Text | None = None
    fields: Annotated[list[AttachmentField], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    footer: Text | None = None


class SlackPriority(msgspec.Struct, kw_only=True, frozen=True):
    """Mattermost's message priority: ``{"priority": "urgent"}``."""

    priority: Literal["", "important", "urgent"] = ""


class SlackPayload(msgspec.Struct, kw_only=True, frozen=True):
    """``POST /hooks/{op}/{hook}/{secret}``: a Slack or Mattermost incoming webhook's body
    (or its ``payload`` form field). Needs ``text``, ``attachments`` or ``blocks`` that
    say something."""

    text: Text | None = None
    username: Text | None = None
    #: Mattermost's name for ``username``.
    alias: Text | None = None
    attachments: Annotated[list[Attachment], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    blocks: Annotated[list[Block], msgspec.Meta(max_length=MAX_ITEMS)] | None = None
    priority: SlackPriority | None = None
