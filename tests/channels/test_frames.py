"""channels/frames.py: the publish and typing frames, against a session double.

The session is the connection as a feature sees it (hub.handlers.FrameSession):
it records the frames the handler sends; the service, store and broker are
the embedded fixture's real ones.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from channels.bodies import Priority, chat_body
from channels.bodies import PublishFrame as Publish
from channels.bodies import TypingFrame as Typing
from channels.frames import ChatFrames
from hub.bodies import Reply
from hub.errors import ErrorCode, Forbidden, HubError, NotFound
from hub.feeds import Feed
from hub.metrics import Metrics
from hub.models import TypingEvent
from hub.principal import Principal
from tests.conftest import Embedded


class FakeSession:
    def __init__(self, principal: Principal, feeds: dict[str, Feed] | None = None) -> None:
        self.principal = principal
        self.client = "10.0.0.5"
        self.metrics = Metrics()
        self.sent: list[dict[str, Any]] = []
        self._feeds = feeds or {}

    def send(self, frame: Reply) -> None:
        self.sent.append(msgspec.to_builtins(frame))  # as a client receives it

    def subscribed(self, key: str) -> Feed | None:
        return self._feeds.get(key)


def publish(channel: str, cmid: str = "c-1", **kw: Any) -> Publish:
    return Publish(ref="r-1", channel=channel, text=kw.pop("text", "on my way"),
                   client_msg_id=cmid, priority=kw.pop("priority", Priority.NORMAL), **kw)


async def test_a_publish_is_acked_after_it_is_stored(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    session = FakeSession(await embedded.principal("bruno"))
    frames = ChatFrames(embedded.services.channels)
    await frames.publish(session, publish(general.id))
    [ack] = session.sent
    stored = await embedded.store.read_messages(general.id, after_seq=0, limit=10)
    assert [chat_body(m).text for m in stored] == ["on my way"]
    assert ack == {"type": "ack", "ref": "r-1", "channel": general.id, "client_msg_id": "c-1",
                   "seq": stored[0].seq, "id": stored[0].id, "ts": stored[0].ts,
                   "duplicate": False}
    assert session.metrics.messages_stored._value.get() == 1


async def test_a_retried_publish_is_acked_as_a_duplicate_and_not_counted(
        embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    session = FakeSession(await embedded.principal("bruno"))
    frames = ChatFrames(embedded.services.channels)
    await frames.publish(session, publish(general.id))
    await frames.publish(session, publish(general.id))
    first, second = session.sent
    assert second["duplicate"] is True and second["seq"] == first["seq"]
    assert session.metrics.messages_stored._value.get() == 1


async def test_publishing_where_one_may_not_raises_and_sends_nothing(
        embedded: Embedded) -> None:
    frames = ChatFrames(embedded.services.channels)
    bruno = FakeSession(await embedded.principal("bruno"))
    with pytest.raises(NotFound):  # an agency channel of POLICE: hidden from ARMY
        await frames.publish(bruno, publish(embedded.channels["A/police"].id))
    olga = FakeSession(await embedded.principal("olga"))
    with pytest.raises(Forbidden):  # an observer
        await frames.publish(olga, publish(embedded.channels["A/general"].id))
    assert bruno.sent == olga.sent == []


async def test_typing_needs_a_subscription_to_that_chat_channel(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    frames = ChatFrames(embedded.services.channels)
    bruno = await embedded.principal("bruno")
    for feeds in ({}, {general.id: Feed(key=general.id, operation_id=general.operation_id,
                                        topic="ops:x", chat=False)}):
        with pytest.raises(HubError) as err:
            await frames.typing(FakeSession(bruno, feeds),
                                Typing(ref=None, channel=general.id))
        assert err.value.code is ErrorCode.NOT_SUBSCRIBED


async def test_typing_on_a_subscribed_channel_reaches_its_topic_once_per_two_seconds(
        embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    node = embedded.services.hub.node
    heard: list[Any] = []
    real = node.handle_event

    def spy(topic: str, event: Any) -> None:
        if isinstance(event, TypingEvent):
            heard.append((topic, event))
        real(topic, event)

    node.handle_event = spy  # type: ignore[method-assign]
    await embedded.services.hub.engine.broker.start(spy)
    await embedded.services.hub.engine.broker.subscribe(general.broker_topic)
    feed = Feed(key=general.id, operation_id=general.operation_id,
                topic=general.broker_topic, chat=True)
    session = FakeSession(await embedded.principal("bruno"), {general.id: feed})
    frames = ChatFrames(embedded.services.channels)
    frame = Typing(ref=None, channel=general.id)
    await frames.typing(session, frame)
    await frames.typing(session, frame)  # too soon: dropped
    embedded.clock.advance(2.1)
    await frames.typing(session, frame)
    assert heard == [(general.broker_topic, TypingEvent(general.id, "bruno", "Bruno",
                                                        "ARMY"))] * 2
    assert session.sent == []  # typing has no reply
