"""What the features add to the WebSocket gateway.

The gateway itself handles only the frames every feed needs: ``hello``,
``subscribe``/``unsubscribe`` and ``ping``. Everything else is registered here
by a feature when the composition root builds the hub:

- a **frame handler** per frame type (``channels`` registers ``publish`` and
  ``typing``, ``alerting`` registers ``case``), with the frame's declaration (a
  :class:`hub.bodies.Frame`, which the codec decodes and validates by its
  ``type``): the handler receives the connection as a
  :class:`FrameSession` and the decoded frame, and replies through ``session.send``;
  errors it raises become error frames;
- a **snapshot** per subscribe option (``alerting`` registers ``board``): the
  gateway calls it after registering the subscription and before replaying, and
  the snapshot's version becomes the subscription's starting seq.

A feature may also **follow an operation's log** (``alerting`` does, to run
its pipeline outside the requests that write): :class:`LogFollower` is told of
every event published on a followed topic, and of a broker reconnect that may
have lost some, through :class:`LogTap` (the node).

So the core knows no feature, and a feature knows the core only through
:class:`FrameSession`, which a unit test can implement without a socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hub.bodies import Frame, Reply, frame_type

if TYPE_CHECKING:
    from hub.feeds import Feed
    from hub.metrics import Metrics
    from hub.models import OpEvent
    from hub.principal import Principal
    from hub.protocol import ClientFrame

__all__ = [
    "FeedSnapshot",
    "FrameHandler",
    "FrameSession",
    "Handlers",
    "LogFollower",
    "LogTap",
    "SnapshotProvider",
]

F = TypeVar("F")

#: The frame types the core's codec decodes itself (hub.protocol).
CORE_FRAMES = frozenset({"hello", "subscribe", "unsubscribe", "ping"})


class LogFollower(Protocol):
    """Told of an operation log's events as they are published."""

    def heard(self, event: OpEvent) -> None:
        """An event of a followed log was published (called on the event loop; must not block)."""

    def missed(self) -> None:
        """The broker reconnected: events may have been lost; read the logs from the store."""


class LogTap(Protocol):
    """Where a follower subscribes to a topic (the node, sharing the broker subscription)."""

    async def follow(self, topic: str, follower: LogFollower) -> None: ...

    async def unfollow(self, topic: str, follower: LogFollower) -> None: ...


class FrameSession(Protocol):
    """The connection as a feature's handler sees it."""

    @property
    def principal(self) -> Principal: ...
    @property
    def client(self) -> str: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def lang(self) -> str | None:
        """The reader's language (``hello``'s, else their profile's), if known."""

    def send(self, frame: Reply) -> None:
        """Queue a reply frame (overflowing the queue closes the connection)."""

    def subscribed(self, key: str) -> Feed | None:
        """The feed this connection is subscribed to under ``key``, if any."""


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """A feed's state at ``version`` (a seq of the feed), sent as one frame."""

    version: int
    #: the snapshot's frame; it declares ``ref``, which echoes the subscribe's
    frame: Reply


FrameHandler = Callable[["FrameSession", Any], Awaitable[None]]
SnapshotProvider = Callable[["FrameSession", "Feed"], Awaitable[FeedSnapshot]]


class Handlers:
    """The registry the gateway dispatches to; filled once at start-up."""

    def __init__(self) -> None:
        self._frames: dict[type, FrameHandler] = {}
        self._snapshots: dict[str, SnapshotProvider] = {}
        #: The frames the features declared, by ``type``: the codec decodes them.
        self.declared: dict[str, type[Frame]] = {}

    def on_frame(self, kind: type[F],
                 handler: Callable[[FrameSession, F], Awaitable[None]]) -> None:
        """Handle every decoded frame of class ``kind`` with ``handler``; a declared
        :class:`hub.bodies.Frame` is also decoded from then on, by its ``type``."""
        if kind in self._frames:
            raise ValueError(f"a handler for {kind.__name__} is registered already")
        if isinstance(kind, type) and issubclass(kind, Frame):
            name = frame_type(kind)
            if name in self.declared or name in CORE_FRAMES:
                raise ValueError(f"a frame of type {name!r} is declared already")
            self.declared[name] = kind
        self._frames[kind] = handler

    def on_snapshot(self, option: str, provider: SnapshotProvider) -> None:
        """Answer ``subscribe`` frames that ask for ``option`` with ``provider``'s snapshot."""
        if option in self._snapshots:
            raise ValueError(f"a snapshot for {option!r} is registered already")
        self._snapshots[option] = provider

    def frame_handler(self, frame: ClientFrame) -> FrameHandler | None:
        return self._frames.get(type(frame))

    def snapshot(self, option: str) -> SnapshotProvider | None:
        return self._snapshots.get(option)
