"""Feeds: the ordered, gap-free logs a client can subscribe to with since_seq.

A chat channel is a feed (its key is the channel id); so is an operation's
event log of cases and alerts (key ``ops:<operation id>``). The gateway's
subscription and recovery logic works on any feed: it only needs to
authorize, read a page after a seq, and know the feed's bounds. Each kind of
feed has a :class:`FeedSource`; :class:`Feeds` routes a key to its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hub.principal import Principal

__all__ = ["Feed", "FeedItem", "FeedSource", "Feeds"]


class FeedItem(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def feed_key(self) -> str: ...
    def frame(self) -> dict[str, object]: ...


@dataclass(frozen=True, slots=True)
class Feed:
    key: str  # what clients call it
    operation_id: str
    topic: str  # broker topic its live items travel on
    chat: bool  # presence and typing apply


class FeedSource(Protocol):
    async def open_feed(self, principal: Principal, key: str, client: str) -> Feed:
        """Authorize reading ``key`` (NotFound when hidden or missing) and describe it."""

    async def feed_bounds(self, feed: Feed) -> tuple[int, int]:
        """(first retained seq, last seq), read now."""

    async def read_feed(self, feed: Feed, after_seq: int, limit: int) -> list[FeedItem]:
        """Items after ``after_seq`` in seq order (no authorization: the feed is open)."""


class Feeds:
    """Routes a feed key to its source by prefix; keys without one are chat channels."""

    def __init__(self, default: FeedSource, by_prefix: dict[str, FeedSource]) -> None:
        self._default = default
        self._by_prefix = by_prefix

    def _source(self, key: str) -> FeedSource:
        prefix, sep, _ = key.partition(":")
        return self._by_prefix.get(prefix, self._default) if sep else self._default

    async def open_feed(self, principal: Principal, key: str, client: str) -> Feed:
        return await self._source(key).open_feed(principal, key, client)

    async def feed_bounds(self, feed: Feed) -> tuple[int, int]:
        return await self._source(feed.key).feed_bounds(feed)

    async def read_feed(self, feed: Feed, after_seq: int, limit: int) -> list[FeedItem]:
        return await self._source(feed.key).read_feed(feed, after_seq, limit)
