"""Every Redis key and shard channel the hub names, in one place.

``{...}`` is a cluster hash tag: an operation's records, event log and event
channel share one slot, and so do a chat channel's hash, stream and shard
channel, so each Lua script touches one slot. The full layout is described in
:mod:`hub.engine.redis_db`.
"""

from __future__ import annotations

from hub.models import CONTROL_TOPIC

__all__ = ["RedisKeys"]


class RedisKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def channel(self, ch_id: str) -> str:
        """A chat channel's hash (``:log`` its stream, ``:idem:...`` its retry keys)."""
        return f"{self.prefix}ch:{{{ch_id}}}"

    def operation(self, op_id: str, suffix: str) -> str:
        """Keys of an operation's records and event log (one cluster slot)."""
        return f"{self.prefix}op:{{{op_id}}}:{suffix}"

    def op_events(self, op_id: str) -> str:
        """The shard channel an operation's log events travel on."""
        return self.operation(op_id, "events")

    def channel_events(self, op_id: str, ch_id: str) -> str:
        """The shard channel a chat channel's events travel on (its keys' slot)."""
        return f"{self.prefix}op:{op_id}:ch:{{{ch_id}}}"

    def node(self, node_id: str) -> str:
        """A node's own health channel."""
        return f"{self.prefix}node:{node_id}"

    def topic(self, topic: str) -> str:
        """The shard channel of a broker topic (``ops:<op>``, ``ch:<op>:<channel>``)."""
        if topic == CONTROL_TOPIC:
            return f"{self.prefix}control"
        if topic.startswith("ops:"):
            return self.op_events(topic[4:])
        _kind, op_id, ch_id = topic.split(":", 2)
        return self.channel_events(op_id, ch_id)
