"""What alerting adds to the WebSocket gateway: ``case`` commands and the board.

Registered by :func:`register`. A ``case`` frame creates, updates or comments
on a case through :class:`alerting.cases.service.CaseService` (the same calls as the
REST routes) and is answered with ``case_ack`` once the write is stored. A
``subscribe`` to ``ops:<operation id>`` with ``board: true`` is answered with a
``board`` frame: the operation's board at a version, from which the
subscription then replays (see :mod:`alerting.board`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec

from alerting.board import AlertRow, CaseRow, EventItem, view
from alerting.bodies import CaseChanges, CaseComment, NewCase
from alerting.cases.service import CaseService
from alerting.cases.translations import CaseTranslations, shown
from alerting.pipeline.alert_translations import AlertTranslationDoc, AlertTranslations
from channels.service import ChannelService
from hub.bodies import Frame, Ref, Reply, convert
from hub.errors import BadRequest
from hub.feeds import Feed
from hub.handlers import FeedSnapshot, FrameSession, Handlers
from hub.models import OperationId

__all__ = ["BoardReply", "CaseAckReply", "CaseFrame", "CaseFrames", "OnlinePerson", "register"]

Id = Annotated[str, msgspec.Meta(max_length=64)]


class CaseFrame(Frame, tag="case", kw_only=True, frozen=True):
    """Create, update or comment on a case (the same operations as REST); ``data`` is
    the REST body of that operation (:mod:`alerting.bodies`), checked as it is."""

    ref: Ref = None
    operation: Id
    action: Literal["create", "update", "comment"]
    case: Id | None = None
    data: dict[str, Any]

    def __post_init__(self) -> None:
        if self.action != "create" and self.case is None:
            raise ValueError("field 'case' is required")


class CaseAckReply(Reply, tag="case_ack", kw_only=True, frozen=True):
    """The answer to ``case``, once the change is stored: the case's id, its new version
    and the seq of its event in the operation's log."""

    ref: str | None
    operation: str
    id: str
    action: str
    version: int
    event_seq: int
    duplicate: bool


class OnlinePerson(msgspec.Struct, kw_only=True, frozen=True):
    username: str
    display_name: str
    agency: str


class BoardReply(Reply, tag="board", kw_only=True, frozen=True):
    """The board of an operation at ``version`` (a seq of its log), sent on subscribing
    to ``ops:<operation>``; the events after it follow as ``op_event`` frames.
    ``translations``: the cases' kept translations into the reader's language, by case
    (each names the case version it translates); ``alert_translations``: the alerts'
    (each names the texts it translates), by alert; later ones of both come as
    ``translated``."""

    ref: str | None = None
    channel: str
    operation: str
    version: int
    cases: list[CaseRow]
    alerts: list[AlertRow]
    events: list[EventItem]
    counts: dict[str, dict[str, int]]
    online: list[OnlinePerson]
    translations: dict[str, dict[str, Any]] = {}
    alert_translations: dict[str, AlertTranslationDoc] = {}


class CaseFrames:
    def __init__(self, cases: CaseService, channels: ChannelService,
                 translations: CaseTranslations, alert_translations: AlertTranslations) -> None:
        self.cases = cases
        self.channels = channels
        self.translations = translations
        self.alert_translations = alert_translations

    async def case(self, session: FrameSession, frame: CaseFrame) -> None:
        principal, client, cases = session.principal, session.client, self.cases
        if frame.action == "create":
            event, created = await cases.create_case(
                principal, frame.operation, convert(frame.data, NewCase), client)
        elif frame.action == "update":
            event, created = await cases.update_case(
                principal, frame.operation, frame.case or "",
                convert(frame.data, CaseChanges), client)
        else:
            event, created = await cases.comment(
                principal, frame.operation, frame.case or "", convert(frame.data, CaseComment),
                client)
        session.send(CaseAckReply(ref=frame.ref, operation=event.operation_id,
                                  id=event.record_id, action=event.action,
                                  version=event.version, event_seq=event.seq,
                                  duplicate=not created))

    async def board(self, session: FrameSession, feed: Feed) -> FeedSnapshot:
        """The board of the operation whose event log ``feed`` is (already authorized)."""
        if not feed.key.startswith("ops:"):
            raise BadRequest("a board is an operation's: subscribe to ops:<operation id>")
        board = await self.cases.board_snapshot(feed, session.principal)
        online = await self.channels.operation_presence(session.principal, feed.operation_id,
                                                        session.client)
        version = int(board["version"])
        op_id, lang = OperationId(feed.operation_id), session.lang
        read, alerts_read = ({}, {}) if lang is None else await asyncio.gather(
            self.translations.for_readers_of(
                op_id, ((c["id"], c["version"]) for c in board["cases"].values()), lang),
            self.alert_translations.for_readers_of(
                op_id, ((a["id"], a["summary"]) for a in board["alerts"].values()
                        if not a["summary_words"]), lang))
        return FeedSnapshot(version, BoardReply(
            channel=feed.key, operation=feed.operation_id, version=version,
            cases=list(board["cases"].values()), alerts=list(board["alerts"].values()),
            events=board["events"], counts=view(board)["counts"],
            online=[OnlinePerson(username=e.username, display_name=e.display_name,
                                 agency=e.agency) for e in online],
            translations={case_id: shown(t) for case_id, t in read.items()},
            alert_translations=alerts_read))


def register(handlers: Handlers, cases: CaseService, channels: ChannelService,
             translations: CaseTranslations, alert_translations: AlertTranslations) -> None:
    frames = CaseFrames(cases, channels, translations, alert_translations)
    handlers.on_frame(CaseFrame, frames.case)
    handlers.on_snapshot("board", frames.board)
