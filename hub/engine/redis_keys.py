"""Every Redis key and shard channel the hub names, in one place.

``P`` is the configured key prefix. ``{...}`` is a cluster hash tag, so on a
Redis Cluster every Lua script and transaction touches one slot:

* the directory (users, sessions, operations, membership, the audit chain)
  shares the tag ``{dir}``: small, read on every login and membership check,
  written rarely, and its transactions span several of its keys;
* an operation's records, event log and event channel share ``{<op id>}``;
* a chat channel's hash, stream, retry keys and shard channel share
  ``{<channel id>}``; these two carry the traffic, spread over the masters.

``D`` below is ``P{dir}:``. Hash fields hold JSON values.

* identity: ``D user:<id>`` hash, ``D username:<lower>`` -> id, ``D users``
  set; ``D session:<id>`` hash, ``D tokenhash:<sha256>`` -> id,
  ``D user:<id>:sessions`` and ``D sessions`` sets, ``D revocations`` list
  (seq = position + 1)
* operations: ``D op:<id>`` hash, ``D opcode:<lower>`` -> id, ``D ops`` set,
  ``D op:<id>:members`` hash user -> role, ``D user:<id>:ops`` set,
  ``D op:<id>:channels`` set, ``D op:<id>:chname:<lower>`` -> channel id
* chat: ``P ch:{<id>}`` hash (channel fields, ``last_seq``, ``first_seq``),
  ``P ch:{<id>}:log`` stream with ids ``<seq>-1``,
  ``P ch:{<id>}:idem:<sender>:<client_msg_id>`` -> seq (expires after the
  idempotency window)
* records and the log, in the operation's slot: ``P op:{<id>}:rec:<kind>:<id>``
  hash (doc, version), ``:kind:<kind>`` set of ids, ``:log`` stream with ids
  ``<seq>-1``, ``:meta`` (``last_seq``), ``:state`` hash, ``:idem:<actor>:<key>``
* coordination: ``P lease:<name>``, ``P marker:<name>``, ``P conns:<user>``
  (sorted set of live connections), ``P rate:<key>`` (token bucket),
  ``P presence:{<channel>}`` and the ``P presence:channels`` set
* audit: ``D audit`` list of JSON records, ``D audit:head`` the chain head
* ``D layout``: the key layout's version (see :data:`LAYOUT`)
* shard channels: ``P control``, ``P node:<id>``, ``P op:{<id>}:events``,
  ``P op:<op>:ch:{<channel>}``
"""

from __future__ import annotations

from hub.models import CONTROL_TOPIC

__all__ = ["DIRECTORY_ROOTS", "LAYOUT", "RedisKeys"]

#: Version 3 stores a message as an envelope and an opaque body (hub.engine.redis_layout);
#: version 2 put the directory under ``{dir}``; version 1 named those keys without a tag
#: (see :meth:`RedisKeys.upgraded`).
LAYOUT = 3

#: The first segment of every directory key's name, after the prefix and tag.
DIRECTORY_ROOTS = frozenset({"user", "username", "users", "session", "sessions",
                             "tokenhash", "revocations", "op", "opcode", "ops", "audit"})


class RedisKeys:
    def __init__(self, prefix: str) -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("the Redis key prefix cannot contain braces (hash tags)")
        self.prefix = prefix
        self._dir = f"{prefix}{{dir}}:"

    def layout(self) -> str:
        return f"{self._dir}layout"

    def upgraded(self, key: str) -> str | None:
        """A layout-1 key's layout-2 name, or None if the key did not move."""
        rest = key.removeprefix(self.prefix)
        if rest == key or "{" in rest:
            return None
        root = rest.split(":", 1)[0]
        return self._dir + rest if root in DIRECTORY_ROOTS else None

    # --- identity --------------------------------------------------------------------

    def user(self, user_id: str) -> str:
        return f"{self._dir}user:{user_id}"

    def username(self, username: str) -> str:
        """Usernames are unique case-insensitively."""
        return f"{self._dir}username:{username.lower()}"

    def users(self) -> str:
        return f"{self._dir}users"

    def user_sessions(self, user_id: str) -> str:
        return f"{self.user(user_id)}:sessions"

    def user_operations(self, user_id: str) -> str:
        return f"{self.user(user_id)}:ops"

    def session(self, session_id: str) -> str:
        return f"{self._dir}session:{session_id}"

    def sessions(self) -> str:
        return f"{self._dir}sessions"

    def token_hash(self, token_hash: str) -> str:
        return f"{self._dir}tokenhash:{token_hash}"

    def revocations(self) -> str:
        return f"{self._dir}revocations"

    # --- operations and channels -------------------------------------------------------

    def op_meta(self, op_id: str) -> str:
        """An operation's own fields (not its records: see :meth:`operation`)."""
        return f"{self._dir}op:{op_id}"

    def op_code(self, code: str) -> str:
        return f"{self._dir}opcode:{code.lower()}"

    def op_ids(self) -> str:
        return f"{self._dir}ops"

    def op_members(self, op_id: str) -> str:
        return f"{self.op_meta(op_id)}:members"

    def op_channels(self, op_id: str) -> str:
        return f"{self.op_meta(op_id)}:channels"

    def channel_name(self, op_id: str, name: str) -> str:
        """Channel names are unique within an operation, case-insensitively."""
        return f"{self.op_meta(op_id)}:chname:{name.lower()}"

    def channel(self, ch_id: str) -> str:
        """A chat channel's hash."""
        return f"{self.prefix}ch:{{{ch_id}}}"

    def channel_log(self, ch_id: str) -> str:
        return f"{self.channel(ch_id)}:log"

    def channel_redactions(self, ch_id: str) -> str:
        """Bodies that replaced redacted messages' (seq -> base64 body)."""
        return f"{self.channel(ch_id)}:redacted"

    def channel_notes(self, ch_id: str) -> str:
        """Notes kept beside messages, such as translations (seq -> msgpack map)."""
        return f"{self.channel(ch_id)}:notes"

    def channel_retry(self, ch_id: str, sender_id: str, client_msg_id: str) -> str:
        """The seq a publish stored, found again when it is retried."""
        return f"{self.channel(ch_id)}:idem:{sender_id}:{client_msg_id}"

    # --- records and the operation log ---------------------------------------------------

    def _op_slot(self, op_id: str, suffix: str) -> str:
        """Keys of an operation's records and event log (one cluster slot)."""
        return f"{self.prefix}op:{{{op_id}}}:{suffix}"

    def record(self, op_id: str, kind: str, record_id: str) -> str:
        """A record's hash: its document and version."""
        return self._op_slot(op_id, f"rec:{kind}:{record_id}")

    def records(self, op_id: str, kind: str = "*") -> str:
        """The pattern of an operation's records (of one kind, or ``*`` for all)."""
        return self._op_slot(op_id, f"rec:{kind}:*")

    def record_ids(self, op_id: str, kind: str) -> str:
        """The set of an operation's record ids of one kind."""
        return self._op_slot(op_id, f"kind:{kind}")

    def op_log(self, op_id: str) -> str:
        """The operation's event log: a stream with ids ``<seq>-1``."""
        return self._op_slot(op_id, "log")

    def op_log_head(self, op_id: str) -> str:
        """A hash whose ``last_seq`` is the log's head."""
        return self._op_slot(op_id, "meta")

    def op_state(self, op_id: str) -> str:
        """Named state documents (the alert pipeline's cursor and engine state)."""
        return self._op_slot(op_id, "state")

    def op_retry(self, op_id: str, actor: str, key: str) -> str:
        """The seq a write with an idempotency key stored, found again on a retry."""
        return self._op_slot(op_id, f"idem:{actor}:{key}")

    # --- coordination ------------------------------------------------------------------

    def lease(self, name: str) -> str:
        return f"{self.prefix}lease:{name}"

    def marker(self, name: str) -> str:
        return f"{self.prefix}marker:{name}"

    def connections(self, user_id: str) -> str:
        return f"{self.prefix}conns:{user_id}"

    def rate(self, key: str) -> str:
        return f"{self.prefix}rate:{key}"

    def failures(self, key: str) -> str:
        return f"{self.prefix}fail:{key}"

    def presence(self, ch_id: str) -> str:
        return f"{self.prefix}presence:{{{ch_id}}}"

    def presence_channels(self) -> str:
        return f"{self.prefix}presence:channels"

    # --- audit ---------------------------------------------------------------------------

    def audit(self) -> str:
        return f"{self._dir}audit"

    def audit_head(self) -> str:
        return f"{self._dir}audit:head"

    # --- shard channels ------------------------------------------------------------------

    def op_events(self, op_id: str) -> str:
        """The shard channel an operation's log events travel on."""
        return self._op_slot(op_id, "events")

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
