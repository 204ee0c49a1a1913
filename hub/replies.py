"""The frames the core sends on its own account (docs/protocol.md), declared once.

A connection sends these and the features' own replies (channels' ``ack``, alerting's
``case_ack`` and ``board``) through :meth:`hub.gateway.Connection.send`, which encodes
them in its wire format; the SDK's frames (``liaison_client/frames.py``) are checked
against these declarations by a test, so a field added here cannot go unnoticed there.
``message`` and ``op_event`` frames are the envelopes' own (:mod:`hub.models`), built
once per event for fan-out. Pure, no I/O.
"""

from __future__ import annotations

import msgspec

from hub.bodies import Reply

__all__ = ["ConnectionLimits", "ErrorReply", "Pong", "Reset", "Subscribed", "Unsubscribed",
           "Welcome", "WelcomeUser"]


class WelcomeUser(msgspec.Struct, kw_only=True, frozen=True):
    username: str
    display_name: str
    agency: str


class ConnectionLimits(msgspec.Struct, kw_only=True, frozen=True):
    """What this hub lets a connection do (the client paces itself by them)."""

    max_frame_bytes: int
    max_text_chars: int
    max_subscriptions: int
    publish_rate: float
    publish_burst: int


class Welcome(Reply, tag="welcome", kw_only=True, frozen=True):
    """The answer to ``hello``: who the connection is, and the hub's limits."""

    ref: str | None
    connection_id: str
    node: str
    protocol: int
    format: str
    server_time: float
    user: WelcomeUser
    session_expires_at: float | None
    limits: ConnectionLimits


class Subscribed(Reply, tag="subscribed", kw_only=True, frozen=True):
    """A subscription is live: replay follows from ``since_seq`` to ``head_seq``."""

    ref: str | None
    channel: str
    operation: str
    since_seq: int
    head_seq: int
    first_seq: int


class Reset(Reply, tag="reset", kw_only=True, frozen=True):
    """The hub cannot replay what the client asked for: ``retention`` (those messages
    expired; ``head_seq`` is None when it happens under a live subscription) or
    ``ahead`` (past the channel's last seq, after a restore). Start from ``first_seq``."""

    channel: str
    reason: str
    first_seq: int
    head_seq: int | None


class Unsubscribed(Reply, tag="unsubscribed", kw_only=True, frozen=True):
    """The subscription ended: ``requested`` (``ref`` echoes it) or ``access_revoked``."""

    ref: str | None
    channel: str
    reason: str


class Pong(Reply, tag="pong", kw_only=True, frozen=True):
    ref: str | None
    ts: float


class ErrorReply(Reply, tag="error", kw_only=True, frozen=True):
    """A refusal: the code, what was wrong, whether the same frame may succeed later."""

    code: str
    reason: str
    ref: str | None
    retryable: bool
    retry_after: float | msgspec.UnsetType = msgspec.UNSET
