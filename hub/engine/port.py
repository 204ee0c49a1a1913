"""The engine port: the narrow interfaces every engine implements.

An engine is a :class:`Store` (durable records), a :class:`Broker` (fan-out
of events between connections and hub processes) and a :class:`Presence`
registry. The embedded engine (SQLite + in-process broker) implements them in
:mod:`hub.engine.sqlite` and :mod:`hub.engine.memory`; nothing outside
``hub/engine`` knows which engine runs.

Guarantees every engine must keep (the engine contract tests check them):

* **Durability before acknowledgement.** A write method returns only after its
  record is durably stored under the engine's documented durability setting.
  Callers acknowledge to clients only after the call returns.
* **Per-channel sequence.** ``append_message`` assigns ``seq = last_seq + 1``
  atomically with storing the message: seqs are strictly increasing with no
  gaps in a channel, and two concurrent appends never get the same seq.
* **Idempotency.** ``append_message`` of a ``(channel, sender, client_msg_id)`` already
  stored returns it with ``created=False``: nothing is written, no seq consumed.
* **The write publishes.** ``append_message`` and ``write_record`` publish the
  message or op event they created to its topic as part of the write: the Redis
  engine in the same Lua script as the write, the embedded engine on its
  in-process broker right after COMMIT. So an event is published if and only if
  it was stored, every event a subscriber receives can be read back from the
  store, and no caller publishes stored events itself (``Broker.publish`` carries
  only ephemeral and control events: typing, presence, redactions, revocations).
  A retry that finds its write stored (``created=False``) publishes nothing.
* **Broker delivery is at-most-once and may reorder across publishers.**
  Subscribers detect gaps by seq and fill them with ``read_messages``.
* **Audit is append-only and chained** (see :mod:`hub.audit`): ``append_audit``
  assigns the next seq and hash in the same transaction as the chain head.
* **Failure.** When the backing service cannot be reached, methods raise
  :class:`hub.errors.Unavailable`; no partial write is acknowledged.
* **Bodies are opaque** bytes to an engine (hub.bodies); only ``redact_message`` changes one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol

from hub.documents import D, RecordKind, StateName
from hub.models import (
    AuditRecord,
    Channel,
    ChannelId,
    Event,
    Membership,
    Message,
    Operation,
    OperationId,
    OpEvent,
    Role,
    Session,
    User,
    UserId,
)

__all__ = ["AuditEntry", "AuditLog", "Broker", "Coordination", "Engine", "EventHandler", "Identity",
           "Messages", "NewMessage", "Operations", "Presence", "PresenceEntry", "RecordWrite",
           "Records", "Revocation", "Snapshot", "Store"]


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append: its envelope and opaque body (see Message)."""
    channel_id: ChannelId
    id: str
    sender_id: UserId
    sender: str
    sender_name: str
    agency: str
    ts: float
    client_msg_id: str
    body_type: str
    body: bytes
    body_version: int = 1
    label_json: str = ""  # see Message.label_json and .real_world
    real_world: bool = False

    def stored(self, seq: int) -> Message:
        """This message as stored under ``seq``."""
        return Message(seq=seq, **{name: getattr(self, name) for name in self.__slots__})


@dataclass(frozen=True, slots=True)
class RecordWrite(Generic[D]):
    """Create or replace a record of an operation and append its event, atomically.

    ``expected_version`` None means "create": the record must not exist. Otherwise the
    stored version must equal it (optimistic concurrency). ``idempotency_key`` (per
    operation and actor) makes a retry return the first write's event instead of writing
    again. A ``private`` record's event carries only ``extra``, not the record: for
    configuration only its managers may read (webhooks and their secrets), since every
    member reads the operation's log."""

    operation_id: OperationId
    kind: RecordKind[D]
    record_id: str
    doc: D
    expected_version: int | None
    action: str
    actor: str
    ts: float
    extra: dict[str, object]
    idempotency_key: str | None = None
    private: bool = False


@dataclass(frozen=True, slots=True)
class AuditEntry:
    ts: float
    actor: str
    action: str
    target: str
    outcome: str
    operation_id: str = ""
    client: str = ""
    details: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class Revocation:
    seq: int
    session_id: str | None
    user_id: UserId | None


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    username: str
    display_name: str
    agency: str


class Identity(Protocol):
    """Users, login sessions and API tokens, and the log of their revocations."""

    async def create_user(self, user: User) -> None:
        """Store a new user; raise Conflict if the username is taken."""

    async def get_user(self, user_id: UserId) -> User | None: ...
    async def get_user_by_name(self, username: str) -> User | None:
        """Look a user up by username, case-insensitively."""

    async def update_user(self, user_id: UserId, **fields: object) -> None: ...
    async def list_users(self) -> list[User]: ...

    async def create_session(self, session: Session) -> None: ...
    async def get_session(self, token_hash: str) -> Session | None: ...
    async def get_session_by_id(self, session_id: str) -> Session | None: ...
    async def touch_session(self, session_id: str, at: float) -> None: ...
    async def revoke_session(self, session_id: str, at: float) -> bool:
        """Mark revoked and record a :class:`Revocation`; False if unknown/already revoked."""

    async def revoke_user_sessions(self, user_id: UserId, at: float,
                                   kinds: Sequence[str] = ("session", "token")) -> int:
        """Revoke every live session of the user and record one :class:`Revocation`."""

    async def list_sessions(self, user_id: UserId | None = None,
                            kind: str | None = None) -> list[Session]: ...
    async def revocations_since(self, seq: int) -> list[Revocation]:
        """Revocations with a seq above ``seq``, in order (nodes poll this)."""

class Operations(Protocol):
    """Operations, their members and their channels."""

    async def create_operation(self, op: Operation) -> None: ...
    async def get_operation(self, op_id: OperationId) -> Operation | None: ...
    async def get_operation_by_code(self, code: str) -> Operation | None: ...
    async def update_operation(self, op_id: OperationId, **fields: object) -> None: ...
    async def list_operations(self, user_id: UserId | None = None) -> list[Operation]:
        """All operations, or those the user is a member of."""

    async def set_membership(self, m: Membership) -> None: ...
    async def remove_membership(self, op_id: OperationId, user_id: UserId) -> bool: ...
    async def get_membership(self, op_id: OperationId, user_id: UserId) -> Membership | None: ...
    async def list_members(self, op_id: OperationId) -> list[tuple[Membership, User]]: ...

    async def create_channel(self, ch: Channel) -> None:
        """Store a new channel; raise Conflict if the name is taken in its operation."""

    async def get_channel(self, ch_id: ChannelId) -> Channel | None: ...
    async def channel_access(self, ch_id: ChannelId, user_id: UserId
                             ) -> tuple[Channel, Operation | None, Role | None] | None:
        """A channel, its operation and the user's role there, read in one round trip
        (every publish and channel route needs the three); None if no such channel."""
        ...
    async def update_channel(self, ch_id: ChannelId, **fields: object) -> None: ...
    async def list_channels(self, op_id: OperationId) -> list[Channel]: ...

class Messages(Protocol):
    """Each channel's messages, with their gap-free per-channel seq."""

    async def append_message(self, msg: NewMessage, *, retain: int = 0) -> tuple[Message, bool]:
        """Assign the next seq and store ``msg`` atomically; idempotent (see module doc).
        ``retain`` > 0 drops the channel's oldest messages beyond that count in the same
        transaction and advances ``first_seq``. Returns the stored message, and True if it
        was written now (False: a retry)."""

    async def read_messages(self, ch_id: ChannelId, *, after_seq: int = 0,
                            before_seq: int | None = None, limit: int = 100,
                            newest_first: bool = False) -> list[Message]:
        """Messages with ``after_seq < seq < before_seq``, oldest first unless asked."""

    async def redact_message(self, ch_id: ChannelId, seq: int, body: bytes) -> bool:
        """Replace message ``seq``'s body (envelope kept), durably; False: no such one."""

    async def put_note(self, ch_id: ChannelId, seq: int, key: str, body: bytes) -> bool:
        """Keep opaque ``body`` beside message ``seq`` under ``key`` (a translation), durably;
        the same key again replaces it; False: no such message. Retention drops both."""

    async def read_notes(self, ch_id: ChannelId, seqs: Sequence[int]
                         ) -> dict[int, dict[str, bytes]]: ...

class Records(Protocol):
    """Versioned records of an operation (cases, alerts, rules, policies, silences),
    the operation's event log that every record write appends to, and the
    internal state documents of the features that consume that log."""

    async def write_record(self, w: RecordWrite[D]) -> tuple[OpEvent, bool]:
        """Write the record with version+1 and append its event (next op seq), atomically.

        Returns the event and True, or the earlier event and False for a retry
        with the same idempotency key. Raises Conflict (version mismatch, or
        create of an existing record) and NotFound (update of a missing one).
        """

    async def get_record(self, op_id: OperationId, kind: RecordKind[D],
                         record_id: str) -> tuple[D, int] | None:
        """The record and its version, only if it belongs to that operation."""

    async def list_records(self, op_id: OperationId,
                           kind: RecordKind[D]) -> list[tuple[D, int]]: ...
    async def read_op_events(self, op_id: OperationId, *, after_seq: int = 0,
                             limit: int = 100) -> list[OpEvent]: ...
    async def op_event_bounds(self, op_id: OperationId) -> tuple[int, int]:
        """(first retained seq, last seq) of the operation's event log."""

    async def put_state(self, op_id: OperationId, name: StateName[D], doc: D) -> None:
        """Keep an internal document of an operation (no event; last write wins)."""

    async def get_state(self, op_id: OperationId, name: StateName[D]) -> D | None: ...

class Coordination(Protocol):
    """What the hub processes agree on through the store: leases and markers."""

    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew ``name`` for ``holder`` until ``now + ttl``.

        True if ``holder`` holds it afterwards: it was free, expired (by the
        clock passed in, so nodes need roughly synchronised clocks), or already
        held by ``holder``. Atomic across nodes.
        """

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up if ``holder`` holds it, so another node takes over at once."""

    async def advance_marker(self, name: str, value: int) -> bool:
        """Raise marker ``name`` to ``value``; False if it was already at or above it.

        Atomic across nodes: of two callers with the same value exactly one
        gets True. Used to refuse a TOTP code that was already used anywhere.
        """

class AuditLog(Protocol):
    """The append-only, hash-chained audit trail (see :mod:`hub.audit`)."""

    async def append_audit(self, entry: AuditEntry) -> AuditRecord: ...
    def iter_audit(self, after_seq: int = 0) -> AsyncIterator[AuditRecord]:
        """The records after ``after_seq``, in order."""
    async def audit_head(self) -> tuple[int, str] | None: ...


class Store(Identity, Operations, Messages, Records, Coordination, AuditLog, Protocol):
    """Durable records: every concern above, in one engine.

    All methods are coroutines and safe to call concurrently. A module that
    needs one concern takes that narrower protocol instead.
    """

    async def open(self) -> None:
        """Connect, and migrate the data forward to this release's schema; raise
        :class:`hub.errors.DataTooNew` for data written by a newer release."""

    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Raise :class:`Unavailable` unless the store answers."""

    async def schema_version(self) -> int:
        """The data schema stored with the data (docs/architecture.md)."""

    async def repair_documents(self, *, dry_run: bool = False) -> dict[str, int]:
        """Rewrite stored documents that cannot be served as stored (see
        :func:`hub.engine.jsondoc.repaired`); counts per table or key kind.

        Entries of append-only logs that cannot be rewritten in place are
        counted under ``served_repaired``: every read repairs them.
        """


EventHandler = Callable[[str, Event], None]


class Broker(Protocol):
    """Carries events between connections, on this process and (engine allowing) others.

    Topics are strings built by the hub from ids (``ch:<op>:<channel id>``,
    ``ops:<op>``, ``control``); the broker never interprets them. Stored messages and
    op events are published by the store's write (see above); ``publish`` is for the
    ephemeral and control events. Delivery is at-most-once: a subscriber may miss an
    event (and must fill gaps from the store), never receive one twice from a single
    publish. ``publish`` returns once the event is handed to the transport.
    """

    async def start(self, handler: EventHandler) -> None:
        """Begin delivering events of subscribed topics to ``handler`` (on the event loop)."""

    async def close(self) -> None: ...
    async def subscribe(self, topic: str) -> None: ...
    async def unsubscribe(self, topic: str) -> None: ...
    async def publish(self, topic: str, event: Event) -> None: ...
    def healthy(self) -> bool:
        """True while events published anywhere reach this process."""


class Presence(Protocol):
    """Who is online where: connection counts per (channel, user)."""

    async def join(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        """Record a connection; True if the user was not present before."""

    async def leave(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        """Forget a connection; True if it was the user's last one."""

    async def members(self, ch_id: ChannelId) -> list[PresenceEntry]: ...

    async def heartbeat(self) -> None:
        """Refresh this process's entries (engines whose entries expire)."""

    async def sweep(self) -> list[ChannelId]:
        """Drop entries of processes that died; return the channels that changed."""


class Limits(Protocol):
    """Per-user limits that hold across every hub process sharing the engine.

    Connections are counted per user over all processes; those of a process
    that died stop counting within the presence TTL, so its users can
    reconnect to the survivors.
    """

    async def admit(self, user_id: str, conn_id: str, limit: int) -> bool:
        """Count a new connection; False (and not counted) if the user has ``limit``."""

    async def release(self, user_id: str, conn_id: str) -> None:
        """Stop counting a connection that closed."""

    async def heartbeat(self) -> None:
        """Keep this process's connections counted (engines whose entries expire)."""

    async def take(self, key: str, rate: float, burst: int, now: float) -> float:
        """Take one token of ``key``'s bucket (``rate``/s, ``burst`` saved up) at ``now``:
        0.0 if allowed, else the seconds until a token is available."""

    async def fail(self, key: str, window: float, now: float, cap: int) -> int:
        """Count a failure of ``key`` at ``now``: the failures within the last ``window``
        seconds, this one included. At most ``cap`` are kept; past it, ``cap + 1``.
        """

    async def failures(self, key: str, window: float, now: float) -> int:
        """The failures of ``key`` within the last ``window`` seconds, counting none."""

    async def forgive(self, key: str) -> None:
        """Forget ``key``'s failures (a success ends the series)."""


@dataclass(frozen=True, slots=True)
class Engine:
    store: Store
    broker: Broker
    presence: Presence
    limits: Limits
    name: str
    node_id: str  # this process's one name among the hub's, for every part that needs one


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A consistent copy of an engine's data, taken while the hub serves (for a backup).
    ``parts``: archive name (``data/...``) -> file; ``schema``: the data schema it holds;
    ``audit_head``: its audit chain's (seq, hash); ``counts``: what it holds (manifest)."""

    parts: dict[str, Path]
    schema: int
    audit_head: tuple[int, str] | None
    counts: dict[str, int] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
