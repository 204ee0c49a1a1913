"""One authenticated WebSocket connection: frames in, frames out.

The endpoint authenticates the socket and then feeds each received message to
:meth:`Connection.handle`, which decodes it and calls one ``handle_<type>``.
Frames leave through the connection's :class:`hub.outbox.Outbox`: straight to
the socket when it takes them at once, else through one bounded queue and a
writer task. A full queue closes the connection (4008, slow consumer).

Recovery (the heart of "never lose a message"): each subscription remembers
the last seq it delivered. A live message with the next seq is queued at
once; an older one is a duplicate and dropped; a newer one means a gap
(a missed broker event, or the replay of a fresh subscription still running)
and switches the subscription to *catching up*: messages are read from the
store after the last delivered seq until the store is exhausted, while live
events meanwhile are parked, then the parked ones are merged by seq and the
subscription goes live again. The store always has what the broker carried,
so this ends with no gap and no duplicate, whatever the broker dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from hub.bodies import Reply
from hub.config import Settings
from hub.errors import BadRequest, CloseCode, ErrorCode, FrameError, HubError, LimitExceeded
from hub.feeds import Feed, FeedItem, Feeds
from hub.handlers import Handlers
from hub.labels import Label
from hub.lightsync import Flag
from hub.metrics import Metrics
from hub.models import new_id
from hub.outbox import Outbox
from hub.principal import Principal
from hub.protocol import (
    ClientFrame,
    Encoded,
    Hello,
    Ping,
    Subscribe,
    Unsubscribe,
    WireFormat,
    decode,
    encode,
)
from hub.replies import ErrorReply, Pong, Reset, Subscribed, Unsubscribed
from hub.transport import Transport

if TYPE_CHECKING:
    from hub.node import Node

__all__ = ["Connection", "Subscription"]

log = logging.getLogger("hub.gateway")

REPLAY_PAGE = 500
PARKED_MAX = 2000
FLOOD_CLOSE_AFTER = 50  # consecutive rate-limited publishes before closing


@dataclass(eq=False, slots=True)
class Subscription:
    feed: Feed
    last_seq: int
    live: bool = False
    parked: list[FeedItem] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    #: Set when the broker may have dropped events: check the store once more.
    dirty: bool = False


class Connection:
    """One authenticated socket; to the features' handlers a :class:`hub.handlers.FrameSession`."""

    def __init__(self, *, transport: Transport, fmt: WireFormat, principal: Principal,
                 node: Node, handlers: Handlers, feeds: Feeds, settings: Settings,
                 client: str, lang: str | None = None) -> None:
        self.id = new_id("conn")
        self.transport = transport
        self.fmt = fmt
        self.principal = principal
        self.node = node
        self.handlers = handlers
        self.feeds = feeds
        self.settings = settings
        self.client = client
        self.lang = lang  # the reader's language: translations into it are sent (hello)
        self.subs: dict[str, Subscription] = {}  # by feed key
        self.closed = Flag()  # asyncio.Event's calls, without its idle deque
        user = principal.user
        self.clearance = settings.labels.clearance_of(user.clearance, user.agency)
        self.close_code: int | None = None
        self.outbox = Outbox(transport, settings.send_queue_frames, name=self.id,
                             failed=lambda: self.close(CloseCode.INTERNAL, "send failed"))
        self._closer: asyncio.Task[None] | None = None
        self._recheck: asyncio.Task[None] | None = None
        self._flood = 0
        self.metrics: Metrics = node.metrics

    # --- sending -------------------------------------------------------------------

    def check_stuck(self, now: float) -> None:
        """Close with 4008 if a send has been stuck too long (``now``: the loop's clock)."""
        since = self.outbox.sending_since
        if since is not None and now - since > self.settings.send_timeout_seconds:
            self.close(CloseCode.SLOW_CONSUMER, "send timed out")

    def send(self, frame: Reply) -> None:
        """Send a reply frame now or queue it; overflowing the queue closes the connection."""
        data = msgspec.to_builtins(frame)
        self.metrics.frames_out.labels(data["type"]).inc()
        self._put(encode(data, self.fmt))

    async def _put_waiting(self, data: str | bytes) -> None:
        """For replay: like :meth:`_put`, but wait for room instead of overflowing."""
        if not self.closed.is_set():
            await self.outbox.put(data)

    def _put(self, data: str | bytes) -> bool:
        return not self.closed.is_set() and (self.outbox.offer(data) or self._overflow())

    def _put_encoded(self, encoded: Encoded) -> bool:
        return not self.closed.is_set() and (self.outbox.offer_encoded(encoded, self.fmt)
                                             or self._overflow())

    def _overflow(self) -> bool:
        self.metrics.refusals.labels("slow_consumer").inc()
        self.close(CloseCode.SLOW_CONSUMER, "send queue overflow; resume with since_seq")
        return False

    def send_error(self, code: ErrorCode, reason: str, ref: str | None,
                   retry_after: float | None = None) -> None:
        self.metrics.refusals.labels(str(code)).inc()
        self.send(ErrorReply(code=str(code), reason=reason, ref=ref, retryable=code.retryable,
                             retry_after=msgspec.UNSET if retry_after is None else retry_after))

    def may_see(self, label: Label | None) -> bool:
        return label is None or self.settings.labels.may_see(self.clearance, label)

    def _label_of(self, item: FeedItem) -> Label | None:  # the node reads it once per item
        return self.settings.labels.of_record(getattr(item, "label", None))

    def offer_item(self, item: FeedItem, key: str, seq: int, encoded: Encoded,
                   label: Label | None = None) -> bool:
        """Called by the node for every live item (message, op event) of a subscribed feed
        (``key``, ``seq`` and ``label``: the item's, read once by the node for all
        subscribers; an item whose label the user's clearance does not reach is skipped).

        True if it was sent or queued now (the node counts deliveries once per item).
        """
        sub = self.subs.get(key)
        if sub is None:
            return False
        if sub.live and seq == sub.last_seq + 1:  # the common case, first
            if label is not None and not self.may_see(label):
                sub.last_seq = seq  # not for this reader: passed over, as if it were not
                return False
            if self._put_encoded(encoded):
                sub.last_seq = seq
                return True
            return False
        if not sub.live:
            if len(sub.parked) < PARKED_MAX:
                sub.parked.append(item)  # the catch-up reads the store anyway
            return False
        if seq <= sub.last_seq:
            return False
        sub.live = False
        sub.parked.append(item)
        self._start_catch_up(sub)
        return False

    def offer_ephemeral(self, encoded: Encoded, kind: str) -> None:
        """Typing and presence: best effort, dropped rather than closing when full."""
        if self.closed.is_set() or self.outbox.full():
            return
        self._put_encoded(encoded)
        self.metrics.frames_out.labels(kind).inc()

    # --- closing -------------------------------------------------------------------

    def close(self, code: CloseCode, reason: str) -> None:
        """Stop sending and close the socket with ``code``; safe to call twice."""
        if self.closed.is_set():
            return
        self.closed.set()
        self.close_code = int(code)
        for sub in self.subs.values():
            if sub.task is not None:
                sub.task.cancel()
        self.outbox.stop()
        if self._recheck is not None:
            self._recheck.cancel()
        self._closer = asyncio.get_running_loop().create_task(self._close(code, reason))
        if self.transport.end_receive is not None:
            self.transport.end_receive()  # the endpoint's read loop stops

    async def _close(self, code: CloseCode, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.transport.close(int(code), reason),
                                   self.settings.send_timeout_seconds)

    async def finish(self) -> None:
        """Release everything once the socket is gone (called by the endpoint)."""
        if not self.closed.is_set():
            self.close(CloseCode.NORMAL, "")
        await self.node.unregister(self)
        tasks = [t for t in (self.outbox.writer, self._closer, self._recheck) if t is not None]
        tasks += [s.task for s in self.subs.values() if s.task is not None]
        for task in tasks:
            if task is not self._closer:
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.subs.clear()

    # --- receiving -----------------------------------------------------------------

    async def handle(self, data: str | bytes) -> None:
        """Decode one client message and act on it; errors become error frames."""
        try:
            frame = decode(data, self.fmt, max_bytes=self.settings.max_frame_bytes,
                           frames=self.handlers.declared)
        except FrameError as exc:
            self.metrics.frames_in.labels("invalid").inc()
            self.send_error(exc.code, exc.message, exc.ref)
            return
        self.metrics.frames_in.labels(frame.type).inc()
        try:
            await self._dispatch(frame)
        except LimitExceeded as exc:
            self.send_error(exc.code, exc.message, frame.ref, exc.retry_after)
            if exc.code is ErrorCode.RATE_LIMITED:
                self._flood += 1
                if self._flood >= FLOOD_CLOSE_AFTER:
                    self.close(CloseCode.FLOODING, "publishing far above the rate limit")
        except HubError as exc:
            self.send_error(exc.code, exc.message, frame.ref)
        except Exception:
            log.exception("frame handler failed", extra={"frame": frame.type, "conn": self.id})
            self.send_error(ErrorCode.INTERNAL, "internal error", frame.ref)

    async def _dispatch(self, frame: ClientFrame) -> None:
        if isinstance(frame, Subscribe):
            await self.handle_subscribe(frame)
        elif isinstance(frame, Unsubscribe):
            await self.handle_unsubscribe(frame)
        elif isinstance(frame, Ping):
            self.send(Pong(ref=frame.ref, ts=self.node.clock.now()))
        elif isinstance(frame, Hello):
            self.send_error(ErrorCode.BAD_REQUEST, "already authenticated", frame.ref)
        else:
            handler = self.handlers.frame_handler(frame)
            if handler is None:
                raise BadRequest(f"frames of type {frame.type!r} are not served here")
            await handler(self, frame)
            self._flood = 0  # only consecutive refusals count as flooding

    def subscribed(self, key: str) -> Feed | None:
        sub = self.subs.get(key)
        return None if sub is None else sub.feed

    async def handle_subscribe(self, frame: Subscribe) -> None:
        feed = await self.feeds.open_feed(self.principal, frame.channel, self.client)
        old = self.subs.get(feed.key)  # by the canonical key: an operation may be named by code
        if old is None and len(self.subs) >= self.settings.max_subscriptions:
            raise LimitExceeded(f"at most {self.settings.max_subscriptions} subscriptions",
                                code=ErrorCode.TOO_MANY_SUBSCRIPTIONS)
        if old is not None:
            await self._drop(old)
        sub = Subscription(feed, last_seq=0)
        self.subs[feed.key] = sub
        await self.node.add_subscription(self, feed)
        # Bounds are read after registering: anything newer is parked or in the store.
        first, head = await self.feeds.feed_bounds(feed)
        reset = None
        if frame.since_seq is None:
            start = head
        elif frame.since_seq > head:
            start, reset = head, "ahead"
        elif frame.since_seq < first - 1:
            start, reset = head, "retention"
        else:
            start = frame.since_seq
        snapshot = None
        if frame.board:
            provider = self.handlers.snapshot("board")
            try:
                if provider is None:
                    raise BadRequest("this hub serves no board")
                snapshot = await provider(self, feed)
            except BaseException:
                await self._drop(sub)
                raise
            start, reset = snapshot.version, None
        sub.last_seq = start
        self.send(Subscribed(ref=frame.ref, channel=feed.key, operation=feed.operation_id,
                             since_seq=start, head_seq=head, first_seq=first))
        if snapshot is not None:
            self.send(msgspec.structs.replace(snapshot.frame, ref=frame.ref))
        if reset is not None:
            self.send(Reset(channel=feed.key, reason=reset, first_seq=first, head_seq=head))
        self._start_catch_up(sub)

    async def handle_unsubscribe(self, frame: Unsubscribe) -> None:
        sub = self.subs.get(frame.channel)
        if sub is None:
            raise HubError("not subscribed to this channel", code=ErrorCode.NOT_SUBSCRIBED)
        await self._drop(sub)
        self.send(Unsubscribed(ref=frame.ref, channel=frame.channel, reason="requested"))

    async def _drop(self, sub: Subscription) -> None:
        if sub.task is not None:
            sub.task.cancel()
        self.subs.pop(sub.feed.key, None)
        await self.node.remove_subscription(self, sub.feed)

    # --- recovery ------------------------------------------------------------------

    def resync(self) -> None:
        """The broker reconnected: events may be lost, so re-read every channel's tail."""
        for sub in self.subs.values():
            sub.dirty = True
            sub.live = False
            self._start_catch_up(sub)

    def _start_catch_up(self, sub: Subscription) -> None:
        if sub.task is None or sub.task.done():
            task = asyncio.get_running_loop().create_task(self._catch_up(sub))
            sub.task = task
            task.add_done_callback(lambda t: _forget_if_finished(sub, t))

    async def _catch_up(self, sub: Subscription) -> None:
        """Fill from the store until live; see the module docstring."""
        while not self.closed.is_set():
            sub.dirty = False
            rows = await self.feeds.read_feed(sub.feed, sub.last_seq, REPLAY_PAGE)
            if rows and rows[0].seq != sub.last_seq + 1:
                self._reset(sub, rows[0].seq)
                continue
            for item in rows:
                if self.may_see(self._label_of(item)):
                    await self._put_waiting(Encoded(item.frame()).get(self.fmt))
                    self.metrics.out_message.inc()
                sub.last_seq = item.seq
            if len(rows) == REPLAY_PAGE:
                continue
            parked = sorted(sub.parked, key=lambda m: m.seq)
            sub.parked.clear()
            gap = False
            for item in parked:
                if item.seq <= sub.last_seq:
                    continue
                if item.seq != sub.last_seq + 1:
                    gap = True
                    break
                if self.may_see(self._label_of(item)) and \
                        not self._put(Encoded(item.frame()).get(self.fmt)):
                    return
                sub.last_seq = item.seq
            if not gap and not sub.dirty:
                sub.live = True
                return

    def _reset(self, sub: Subscription, first_available: int) -> None:
        """Messages after last_seq were dropped by retention: tell the client."""
        self.send(Reset(channel=sub.feed.key, reason="retention", first_seq=first_available,
                        head_seq=None))
        sub.last_seq = first_available - 1

    # --- authorization changes -----------------------------------------------------

    def schedule_recheck(self) -> None:
        if self.closed.is_set():
            return
        if self._recheck is None or self._recheck.done():
            self._recheck = asyncio.get_running_loop().create_task(self._recheck_access())

    async def _recheck_access(self) -> None:
        for sub in list(self.subs.values()):
            try:
                await self.feeds.open_feed(self.principal, sub.feed.key, self.client)
            except HubError:
                await self._drop(sub)
                self.send(Unsubscribed(ref=None, channel=sub.feed.key,
                                       reason="access_revoked"))


def _forget_if_finished(sub: Subscription, task: asyncio.Task[None]) -> None:
    """A catch-up that ended normally is dropped (a live subscription keeps no finished
    task); one that failed is kept for :meth:`Connection.finish` to read its outcome."""
    if sub.task is task and not task.cancelled() and task.exception() is None:
        sub.task = None
