"""The chat frames a WebSocket connection may send: ``publish`` and ``typing``.

Declared in :mod:`channels.bodies` and registered with the gateway by :func:`register`
(which the codec then decodes them by); each handler authorizes
through :class:`channels.service.ChannelService` like the REST routes do.
"""

from __future__ import annotations

from channels.bodies import AckReply, PublishFrame, TypingFrame, body_of
from channels.service import ChannelService
from hub.errors import ErrorCode, HubError
from hub.handlers import FrameSession, Handlers

__all__ = ["ChatFrames", "register"]


class ChatFrames:
    def __init__(self, service: ChannelService) -> None:
        self.service = service

    async def publish(self, session: FrameSession, frame: PublishFrame) -> None:
        """Store the message, then ack it (the ack means it is durable)."""
        message, created = await self.service.messages.publish(
            session.principal, frame.channel, body=body_of(frame),
            client_msg_id=frame.client_msg_id, client=session.client, ack_of=frame.ack_of,
            label=frame.label, ack=frame.ack, real_world=frame.real_world,
            attach=frame.attach)
        if created:
            session.metrics.messages_stored.inc()
        session.send(AckReply(ref=frame.ref, channel=message.channel_id,
                              client_msg_id=message.client_msg_id, seq=message.seq,
                              id=message.id, ts=message.ts, duplicate=not created))

    async def typing(self, session: FrameSession, frame: TypingFrame) -> None:
        """Only on a chat channel the connection is subscribed to; no reply."""
        feed = session.subscribed(frame.channel)
        if feed is None or not feed.chat:
            raise HubError("subscribe to the chat channel before sending typing",
                           code=ErrorCode.NOT_SUBSCRIBED)
        await self.service.typing(session.principal, feed.key, session.client)


def register(handlers: Handlers, service: ChannelService) -> None:
    frames = ChatFrames(service)
    handlers.on_frame(PublishFrame, frames.publish)
    handlers.on_frame(TypingFrame, frames.typing)
