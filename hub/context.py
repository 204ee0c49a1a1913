"""The objects one running hub is made of, as handed to routes via ``app.state.hub``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.auditor import Auditor
from hub.auth import Authenticator
from hub.clock import Clock
from hub.config import Settings
from hub.engine.port import Engine
from hub.feeds import Feeds
from hub.metrics import Metrics
from hub.models import CONTROL_TOPIC, ControlEvent
from hub.node import Node

if TYPE_CHECKING:
    from alerting.service import CaseService
    from alerting.service_alerts import AlertService
    from channels.service import ChannelService

__all__ = ["Hub"]


@dataclass(frozen=True, slots=True)
class Hub:
    settings: Settings
    clock: Clock
    engine: Engine
    metrics: Metrics
    auditor: Auditor
    auth: Authenticator
    channels: ChannelService
    cases: CaseService
    alerts: AlertService
    feeds: Feeds
    node: Node

    async def revoke_session(self, session_id: str) -> None:
        """Close the session's sockets on every node now (the poll would within seconds)."""
        await self.engine.broker.publish(CONTROL_TOPIC, ControlEvent(session_id=session_id))
