"""hub/feeds.py: a feed key goes to the source that owns its prefix."""

from __future__ import annotations

from typing import Any

from hub.feeds import Feed, FeedItem, Feeds


class Source:
    """A feed source that records what it was asked."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, Any]] = []

    async def open_feed(self, principal: Any, key: str, client: str) -> Feed:
        self.calls.append(("open", key))
        return Feed(key=key, operation_id="op_1", topic=f"{self.name}:{key}",
                    chat=self.name == "chat")

    async def feed_bounds(self, feed: Feed) -> tuple[int, int]:
        self.calls.append(("bounds", feed.key))
        return 1, 9

    async def read_feed(self, feed: Feed, after_seq: int, limit: int) -> list[FeedItem]:
        self.calls.append(("read", (feed.key, after_seq, limit)))
        return []


async def test_keys_with_a_known_prefix_go_to_their_source_and_others_to_chat() -> None:
    chat, ops = Source("chat"), Source("ops")
    feeds = Feeds(chat, {"ops": ops})
    op_feed = await feeds.open_feed(None, "ops:op_1", "c")
    ch_feed = await feeds.open_feed(None, "ch_abc", "c")
    assert (op_feed.topic, op_feed.chat) == ("ops:ops:op_1", False)
    assert (ch_feed.topic, ch_feed.chat) == ("chat:ch_abc", True)
    assert await feeds.feed_bounds(op_feed) == (1, 9)
    await feeds.read_feed(ch_feed, 3, 50)
    assert ops.calls == [("open", "ops:op_1"), ("bounds", "ops:op_1")]
    assert chat.calls == [("open", "ch_abc"), ("read", ("ch_abc", 3, 50))]


async def test_an_unknown_prefix_is_a_chat_key_not_an_error() -> None:
    chat, ops = Source("chat"), Source("ops")
    feeds = Feeds(chat, {"ops": ops})
    await feeds.open_feed(None, "board:op_1", "c")
    await feeds.open_feed(None, "ops", "c")  # no colon: not a prefix
    assert [c[1] for c in chat.calls] == ["board:op_1", "ops"]
    assert ops.calls == []
