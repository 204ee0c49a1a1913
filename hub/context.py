"""The core of one running hub, as handed to routes via ``app.state.hub``.

It names no feature: the features' services are built beside it by the
composition root (:func:`liaison.app.build_services`) and reach their own routes
and frame handlers from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.auditor import Auditor
from hub.auth import Authenticator
from hub.clock import Clock
from hub.config import Settings
from hub.engine.port import Engine
from hub.feeds import Feeds
from hub.handlers import Handlers
from hub.language.translator import Translator
from hub.metrics import Metrics
from hub.models import CONTROL_TOPIC, ControlEvent
from hub.node import Node

__all__ = ["Hub"]


@dataclass(frozen=True, slots=True)
class Hub:
    settings: Settings
    clock: Clock
    engine: Engine
    metrics: Metrics
    auditor: Auditor
    auth: Authenticator
    feeds: Feeds
    handlers: Handlers
    node: Node
    #: The machine translation engine's client, when the operator configured one.
    translator: Translator | None = None

    async def revoke_session(self, session_id: str) -> None:
        """Close the session's sockets on every node now (the poll would within seconds)."""
        await self.engine.broker.publish(CONTROL_TOPIC, ControlEvent(session_id=session_id))
