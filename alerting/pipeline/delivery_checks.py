"""Where an alert may go, checked against the operation: the channels a route names
and the escalation policy it follows. Rules, escalation policies and pushed alerts
(:mod:`alerting.pipeline.service`, :mod:`alerting.pipeline.push`) share these checks.

A route names a channel only to readers who may see it
(:func:`channels.labelling.channel_ref`); a missing channel and one hidden from the
caller get the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from alerting.kinds import POLICY
from alerting.pipeline.routing import TargetError, channels_of, check_targets
from alerting.rules.engine import is_config_id
from channels.access import Access
from channels.labelling import channel_ref
from channels.permissions import Action
from hub.engine.port import Store
from hub.errors import BadRequest, Forbidden, NotFound
from hub.labels import Label
from hub.models import Operation
from hub.principal import Principal

__all__ = ["DeliveryChecks"]


class DeliveryChecks:
    def __init__(self, *, store: Store, access: Access,
                 global_policy_ids: Iterable[str] = ()) -> None:
        self._store = store
        self._access = access
        self._global_policy_ids = frozenset(global_policy_ids)

    async def channels(self, principal: Principal, op: Operation, targets: Sequence[str],
                       where: str, client: str, readers: Label) -> tuple[str, ...]:
        """Every ``channel:`` target must be a channel of the operation the caller may post
        in. Returns the targets as the record keeps them: a channel that some of the
        record's ``readers`` may not see is named by :func:`channel_ref`, never by name.
        """
        channels = await self._store.list_channels(op.id)
        by_name = {ch.name: ch for ch in channels} | {channel_ref(ch): ch for ch in channels}
        shown: dict[str, str] = {}
        for name in channels_of(targets):
            ch = by_name.get(name)
            try:
                if ch is None:
                    raise NotFound()
                await self._access.channel(principal, ch.id, Action.POST, client=client)
            except (NotFound, Forbidden):
                raise BadRequest(f"{where}: 'channel:{name}' is not a channel of this "
                                 "operation that you may post in") from None
            covered = self._access.policy.covers(readers, self._access.channel_label(ch))
            shown[name] = ch.name if covered else channel_ref(ch)
        return tuple(f"channel:{shown[t[8:]]}" if t.startswith("channel:") else t
                     for t in targets)

    async def policy(self, op: Operation, policy: str | None, where: str) -> None:
        """``policy`` (if any) must be a global policy or one of the operation's."""
        if policy is None or policy in self._global_policy_ids:
            return
        if await self._store.get_record(op.id, POLICY, policy) is None:
            raise BadRequest(f"{where}: no escalation policy '{policy[:64]}' in this operation "
                             "(create it first)")

    async def delivery(self, principal: Principal, op: Operation, route_given: object,
                       policy: object, client: str,
                       readers: Label | None = None) -> tuple[tuple[str, ...], str | None]:
        """A pushed alert's route and escalation policy, checked (default: "default").
        ``readers``: the alert's label (default: the operation's)."""
        try:
            route = check_targets(route_given, "'route'")
        except TargetError as exc:
            raise BadRequest(str(exc)) from None
        route = await self.channels(principal, op, route, "'route'", client,
                                    readers or self._access.operation_label(op))
        if policy is not None and not is_config_id(policy):
            raise BadRequest("'escalation' must be the id of an escalation policy")
        assert policy is None or isinstance(policy, str)
        await self.policy(op, policy, "'escalation'")
        if policy is None and await self._store.get_record(op.id, POLICY, "default"):
            policy = "default"
        return route, policy
