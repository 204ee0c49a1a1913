"""alerting/frames.py: case commands over the socket and the board snapshot.

A session double stands for the connection (hub.handlers.FrameSession); the
services and store are the embedded fixture's real ones.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from alerting.cases.service import CaseConflict
from alerting.frames import CaseFrame as CaseCommand
from alerting.frames import CaseFrames
from hub.bodies import Reply
from hub.errors import BadRequest, Forbidden
from hub.feeds import Feed
from hub.metrics import Metrics
from hub.principal import Principal
from tests.conftest import Embedded


class FakeSession:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.client = "10.0.0.6"
        self.metrics = Metrics()
        self.lang: str | None = None
        self.sent: list[dict[str, Any]] = []

    def send(self, frame: Reply) -> None:
        self.sent.append(msgspec.to_builtins(frame))  # as a client receives it

    def subscribed(self, key: str) -> Feed | None:
        return None


def command(env: Embedded, action: str, data: dict[str, Any],
            case: str | None = None) -> CaseCommand:
    return CaseCommand(ref=f"ref-{action}", operation=env.ops["A"].id,
                       action=action, case=case, data=data)


def frames(env: Embedded) -> CaseFrames:
    return CaseFrames(env.services.cases, env.services.channels,
                      env.services.case_translations, env.services.alert_translations)


async def test_create_update_and_comment_are_each_acked_with_the_stored_version(
        embedded: Embedded) -> None:
    session = FakeSession(await embedded.principal("bruno"))
    f = frames(embedded)
    await f.case(session, command(embedded, "create", {"title": "Dam", "severity": "minor"}))
    created = session.sent[-1]
    assert (created["type"], created["ref"], created["action"], created["version"]) == \
        ("case_ack", "ref-create", "created", 1)
    case_id = created["id"]
    await f.case(session, command(embedded, "update", {"version": 1, "severity": "critical"},
                                  case_id))
    await f.case(session, command(embedded, "comment", {"text": "crews on site"}, case_id))
    updated, commented = session.sent[-2:]
    assert (updated["action"], updated["version"]) == ("updated", 2)
    assert (commented["action"], commented["version"]) == ("commented", 3)
    assert commented["event_seq"] > updated["event_seq"] > created["event_seq"]
    doc, version = await embedded.store.get_record(embedded.ops["A"].id, "case", case_id)
    assert (doc["severity"], doc["comments"], version) == ("critical", 1, 3)


async def test_a_retried_create_is_acked_as_a_duplicate(embedded: Embedded) -> None:
    session = FakeSession(await embedded.principal("bruno"))
    cmd = command(embedded, "create", {"title": "Dam", "idempotency_key": "k1"})
    await frames(embedded).case(session, cmd)
    await frames(embedded).case(session, cmd)
    first, second = session.sent
    assert second["duplicate"] is True and second["id"] == first["id"]


async def test_a_stale_update_raises_the_conflict_and_acks_nothing(embedded: Embedded) -> None:
    session = FakeSession(await embedded.principal("bruno"))
    f = frames(embedded)
    await f.case(session, command(embedded, "create", {"title": "Dam"}))
    case_id = session.sent[0]["id"]
    await f.case(session, command(embedded, "update", {"version": 1, "severity": "major"},
                                  case_id))
    with pytest.raises(CaseConflict):
        await f.case(session, command(embedded, "update", {"version": 1, "severity": "minor"},
                                      case_id))
    assert len(session.sent) == 2


async def test_an_observer_cannot_write_cases_over_the_socket(embedded: Embedded) -> None:
    session = FakeSession(await embedded.principal("olga"))
    with pytest.raises(Forbidden):
        await frames(embedded).case(session, command(embedded, "create", {"title": "x"}))
    assert session.sent == []


async def test_the_board_snapshot_has_cases_counts_and_who_is_online(
        embedded: Embedded) -> None:
    bruno = await embedded.principal("bruno")
    session = FakeSession(bruno)
    f = frames(embedded)
    await f.case(session, command(embedded, "create", {"title": "Dam", "severity": "critical"}))
    op = embedded.ops["A"]
    feed = await embedded.services.cases.open_feed(bruno, f"ops:{op.id}", "t")
    snap = await f.board(session, feed)
    frame = msgspec.to_builtins(snap.frame)
    assert frame["type"] == "board" and frame["operation"] == op.id
    assert snap.version == frame["version"] == (await embedded.store.op_event_bounds(op.id))[1]
    assert [c["title"] for c in frame["cases"]] == ["Dam"]  # type: ignore[index, union-attr]
    assert isinstance(frame["counts"], dict) and isinstance(frame["online"], list)


async def test_a_board_is_only_for_an_operation_feed(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    feed = Feed(key=general.id, operation_id=general.operation_id,
                topic=general.broker_topic, chat=True)
    with pytest.raises(BadRequest, match="a board is an operation's"):
        await frames(embedded).board(FakeSession(await embedded.principal("bruno")), feed)
