"""hub/handlers.py: the registry features fill and the gateway dispatches through."""

from __future__ import annotations

from typing import Any

import pytest

from alerting.frames import CaseFrame as CaseCommand
from channels.bodies import Priority
from channels.bodies import PublishFrame as Publish
from channels.bodies import TypingFrame as Typing
from hub.config import Settings
from hub.handlers import FeedSnapshot, Handlers
from hub.protocol import Ping
from liaison.app import build_services


async def _nothing(session: Any, frame: Any) -> None:
    return None


async def _snap(session: Any, feed: Any) -> FeedSnapshot:
    return FeedSnapshot(1, {"type": "board"})


def test_a_frame_class_finds_its_handler_and_nothing_else_does() -> None:
    handlers = Handlers()
    handlers.on_frame(Publish, _nothing)
    publish = Publish(ref="r", channel="ch", text="hi", client_msg_id="m",
                      priority=Priority.NORMAL)
    assert handlers.frame_handler(publish) is _nothing
    assert handlers.frame_handler(Ping(type="ping", ref="r")) is None


def test_registering_twice_is_a_programming_error() -> None:
    handlers = Handlers()
    handlers.on_frame(Publish, _nothing)
    with pytest.raises(ValueError, match="PublishFrame"):
        handlers.on_frame(Publish, _nothing)
    assert handlers.declared == {"publish": Publish}  # the codec decodes it from now on
    handlers.on_snapshot("board", _snap)
    with pytest.raises(ValueError, match="board"):
        handlers.on_snapshot("board", _snap)
    assert handlers.snapshot("board") is _snap and handlers.snapshot("map") is None


def test_the_composition_root_registers_every_feature_frame(tmp_path: Any) -> None:
    """What the features add: publish and typing (channels), case and board (alerting)."""
    services = build_services(Settings(data_dir=tmp_path / "data"))
    registry = services.hub.handlers
    for kind in (Publish, Typing, CaseCommand):
        assert registry._frames.get(kind) is not None, kind.__name__
    assert registry.snapshot("board") is not None
    assert Ping not in registry._frames  # the core's own frames are not features
