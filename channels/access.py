"""The one authorization gate, used by REST routes and WebSocket frames alike.

Each check loads what it needs, asks :func:`channels.permissions.decide`, and
on refusal writes an ``authz.denied`` audit record before raising. A thing the
caller may not see raises exactly the same :class:`NotFound` as a thing that
does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping

from channels.permissions import Action, Decision, decide
from hub.auditor import Auditor
from hub.clock import Clock, SystemClock
from hub.engine.port import Operations
from hub.errors import Forbidden, NotFound
from hub.labels import REL_TO, Clearance, Label, Policy
from hub.models import Channel, ChannelId, Operation, OperationId, Role, UserId
from hub.principal import Principal

__all__ = ["Access"]

_CACHED = 10_000  # distinct stored labels kept parsed (a few per channel in practice)

_Found = tuple[Channel, Operation, Role | None]


class Access:
    """``cache_seconds``: how long a channel, its operation and the caller's role, read
    for one check, answer the next posting checks of the same caller on the same channel
    (every publish makes one). Every change the hub makes to them calls :meth:`forget` on its
    own node and, through the control events, on every other; the time bounds only a
    change written by another process without telling the hub (0: no reuse)."""

    def __init__(self, store: Operations, auditor: Auditor, policy: Policy, *,
                 clock: Clock | None = None, cache_seconds: float = 0.0) -> None:
        self._store = store
        self._audit = auditor
        self.policy = policy
        self._clock = clock or SystemClock()
        self._cache_seconds = cache_seconds
        self._found: dict[tuple[str, UserId], tuple[float, _Found]] = {}
        self._generation = 0  # moved by forget(): a read begun before it is not kept
        # Parsed labels and clearances by their stored text: every publish checks one.
        self._labels: dict[tuple[str, tuple[str, ...]], Label] = {}
        self._clearances: dict[tuple[str, str], Clearance] = {}

    def forget(self) -> None:
        """Something a check reads changed (a membership, a channel, an operation): the
        next check of every caller reads the store again."""
        self._generation += 1
        self._found.clear()

    async def _channel_access(self, ch_id: str, user_id: UserId,
                              reuse: bool) -> _Found | None:
        key = (ch_id, user_id)
        now = self._clock.now()
        hit = self._found.get(key) if reuse else None
        if hit is not None and hit[0] <= now < hit[0] + self._cache_seconds:
            return hit[1]
        generation = self._generation
        found = await self._store.channel_access(ChannelId(ch_id), user_id)
        if found is None:
            return None
        ch, op, role = found
        if op is None:
            return None
        if self._cache_seconds > 0 and generation == self._generation:
            if len(self._found) >= _CACHED:
                self._found.clear()
            self._found[key] = (now, (ch, op, role))
        return ch, op, role

    def clearance(self, principal: Principal) -> Clearance:
        user = principal.user
        key = (user.clearance, user.agency)
        found = self._clearances.get(key)
        if found is None:
            if len(self._clearances) > _CACHED:
                self._clearances.clear()
            found = self._clearances[key] = self.policy.clearance_of(*key)
        return found

    def channel_label(self, ch: Channel) -> Label:
        """The channel's label; one stored before labels existed is the lowest level,
        released to the channel's agencies if it names any."""
        key = (ch.label, ch.agencies)
        found = self._labels.get(key)
        if found is None:
            legacy = Label(self.policy.levels[0],
                           ((REL_TO, frozenset(ch.agencies)),) if ch.agencies else ())
            if len(self._labels) > _CACHED:
                self._labels.clear()
            found = self._labels[key] = self.policy.stored(ch.label, legacy)
        return found

    def operation_label(self, op: Operation) -> Label:
        """The operation's label: the ceiling of everything in it."""
        return self.policy.stored(op.classification, self.policy.lowest)

    def cleared(self, principal: Principal, ch: Channel) -> bool:
        return self.policy.may_see(self.clearance(principal), self.channel_label(ch))

    def sees(self, principal: Principal, record: Mapping[str, object] | None) -> bool:
        """Whether the caller may see a stored record (a case, an alert) by its label;
        a record written before labels carries none and is the operation's to see."""
        label = self.policy.of_record(record.get("label")) if record is not None else None
        return label is None or self.policy.may_see(self.clearance(principal), label)

    async def exported(self, principal: Principal, op_id: str, meta: Mapping[str, object],
                       client: str) -> None:
        await self._audit.record(actor=principal.username, action="operation.export",
                                 target=f"operation:{op_id}", outcome="ok", client=client,
                                 operation_id=op_id,
                                 details={"counts": meta.get("counts"),
                                          "withheld": meta.get("withheld")})

    async def label_changed(self, principal: Principal, op_id: str, target: str,
                            before: Label | None, after: Label, client: str) -> None:
        await self._audit.record(actor=principal.username, action=f"{target.split(':')[0]}"
                                 ".label", target=target, outcome="ok", client=client,
                                 operation_id=op_id,
                                 details={"from": before.marking() if before else None,
                                          "to": after.marking()})

    async def role(self, principal: Principal, op_id: OperationId) -> Role | None:
        m = await self._store.get_membership(op_id, principal.user_id)
        return m.role if m else None

    async def operation(self, principal: Principal, op_id: str, action: Action, *,
                        client: str = "") -> tuple[Operation, Role | None]:
        op = await self._store.get_operation(OperationId(op_id)) if op_id else None
        if op is None and op_id:  # bots and scripts may name it by its code: OP-DELTA
            op = await self._store.get_operation_by_code(op_id[:64])
        if op is None:
            await self._deny(principal, action, f"operation:{op_id[:64]}", "", "not_found",
                             client)
            raise NotFound()
        role = await self.role(principal, op.id)
        decision = decide(action, is_admin=principal.is_admin, role=role,
                          in_scope=principal.in_scope(op.id), agency=principal.agency,
                          operation_open=op.status != "closed")
        await self._enforce(decision, principal, action, f"operation:{op.id}", op.id, client)
        return op, role

    async def channel(self, principal: Principal, ch_id: str, action: Action, *,
                      client: str = "") -> tuple[Channel, Operation, Role | None]:
        # Only posting reuses a reading: its callers take nothing from the channel that
        # moves with every message (last_seq), which a reading up to a second old would
        # hold stale; every other check (reading, subscribing, managing) reads afresh.
        found = (await self._channel_access(ch_id, principal.user_id, action is Action.POST)
                 if ch_id else None)
        if found is None:
            await self._deny(principal, action, f"channel:{ch_id[:64]}", "", "not_found", client)
            raise NotFound()
        ch, op, role = found
        decision = decide(action, is_admin=principal.is_admin, role=role,
                          in_scope=principal.in_scope(op.id), agency=principal.agency,
                          channel_agencies=ch.agencies, operation_open=op.status != "closed",
                          cleared=self.cleared(principal, ch))
        await self._enforce(decision, principal, action, f"channel:{ch.id}", op.id, client)
        return ch, op, role

    def allows(self, principal: Principal, role: Role | None, ch: Channel,
               action: Action) -> bool:
        """Whether ``action`` on the channel is allowed (no audit: for checks made on
        someone's behalf, such as a webhook's creator at each post)."""
        return decide(action, is_admin=principal.is_admin, role=role,
                      in_scope=principal.in_scope(ch.operation_id), agency=principal.agency,
                      channel_agencies=ch.agencies,
                      cleared=self.cleared(principal, ch)) is Decision.ALLOW

    def visible(self, principal: Principal, role: Role | None, ch: Channel) -> bool:
        """Whether the channel appears in the caller's channel list (no audit)."""
        decision = decide(Action.READ_CHANNEL, is_admin=principal.is_admin, role=role,
                          in_scope=principal.in_scope(ch.operation_id), agency=principal.agency,
                          channel_agencies=ch.agencies, cleared=self.cleared(principal, ch))
        return decision is not Decision.HIDE

    async def _enforce(self, decision: Decision, principal: Principal, action: Action,
                       target: str, op_id: str, client: str) -> None:
        if decision is Decision.ALLOW:
            return
        outcome = "hidden" if decision is Decision.HIDE else "forbidden"
        await self._deny(principal, action, target, op_id, outcome, client)
        if decision is Decision.HIDE:
            raise NotFound()
        raise Forbidden(f"your role does not allow {action}")

    async def _deny(self, principal: Principal, action: Action, target: str, op_id: str,
                    outcome: str, client: str) -> None:
        await self._audit.record(actor=principal.username, action="authz.denied",
                                 target=target, outcome=outcome, client=client,
                                 operation_id=op_id, details={"attempted": str(action)})
