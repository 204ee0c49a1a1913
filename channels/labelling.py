"""The labels of operations and channels, from a request body: pure, no I/O.

An operation's label is the ceiling of everything in it and the default of what
is created in it; a channel's label decides who may see the channel at all (with
its "REL TO" values kept in step with the channel's ``agencies``). Both can be
set only to a level the author's clearance reaches, and a channel's only within
its operation's (:meth:`hub.labels.Policy.within`). Errors name the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from hub.errors import BadRequest
from hub.labels import REL_TO, Clearance, Label, LabelError, Policy
from hub.models import Channel

__all__ = ["channel_label", "channel_ref", "item_label", "operation_label"]


def channel_ref(ch: Channel) -> str:
    """A name for ``ch`` that tells nothing of it: ``~`` and a digest of its id and the
    moment it was made, neither of which a reader who may not see the channel knows.

    A route or an escalation step naming a channel that some reader of the rule or
    alert may not see keeps this instead of the name (the hub resolves both)."""
    digest = hashlib.sha256(f"{ch.id}\n{ch.created_at!r}".encode()).hexdigest()[:20]
    return f"~{digest}"


def _parse(policy: Policy, raw: object, where: str) -> Label:
    try:
        return policy.parse(raw, where)
    except LabelError as exc:
        raise BadRequest(f"'{exc.field}' {exc.message}") from None


def _reachable(policy: Policy, author: Clearance, label: Label, where: str) -> None:
    """Nobody labels above their own clearance's level. Releasability is not a
    clearance: a coordinator may release a channel to agencies other than their own."""
    if policy.rank(author.level) < policy.rank(label.level):
        raise BadRequest(f"'{where}': {label.level} is above your clearance "
                         f"({author.level}); nobody labels above what they may read")


def operation_label(policy: Policy, data: Mapping[str, object], author: Clearance,
                    current: Label | None,
                    contents: Iterable[tuple[str, Label]] = ()) -> Label | None:
    """The operation's label from ``data`` ("label", or the older "classification" as
    a level name); None when the request does not set it. ``contents`` (name, label)
    are what the operation holds: the new ceiling must still cover each of them."""
    if "label" in data:
        label = _parse(policy, data["label"], "label")
    elif "classification" in data:
        label = _parse(policy, data["classification"], "classification")
    else:
        return None if current is not None else policy.lowest
    _reachable(policy, author, label, "label")
    for name, inside in contents:
        why = policy.within(inside, label)
        if why is not None:
            raise BadRequest(f"'label': {name} is {inside.marking()}, which would no longer "
                             f"fit ({why})")
    return label


def channel_label(policy: Policy, data: Mapping[str, object], author: Clearance, *,
                  ceiling: Label, current: Label | None, agencies: tuple[str, ...] | None,
                  taking_part: tuple[str, ...] = ()) -> Label | None:
    """The channel's label from ``data``; None when neither "label" nor "agencies" change
    it. ``agencies`` set its "REL TO", whose values must be among ``taking_part`` (the
    operation's agencies) when it names any; a new channel (``current`` None) starts
    from the operation's label."""
    if "label" not in data and agencies is None and current is not None:
        return None
    label = _parse(policy, data["label"], "label") if "label" in data \
        else (current or ceiling)
    if agencies is not None:
        given = label.values(REL_TO) if "label" in data else None
        if given is not None and given != frozenset(agencies):
            raise BadRequest("'agencies' and the label's REL TO disagree; send one of them")
        rest = tuple(c for c in label.categories if c[0] != REL_TO)
        rel = ((REL_TO, frozenset(agencies)),) if agencies else ()
        label = Label(label.level, tuple(sorted(rest + rel)))
    foreign = sorted((label.values(REL_TO) or frozenset()) - set(taking_part)) \
        if taking_part else []
    if foreign:
        raise BadRequest(f"'label': {REL_TO} {', '.join(foreign)} is not an agency of the "
                         "operation")
    why = policy.within(label, ceiling)
    if why is not None:
        raise BadRequest(f"'label': {why}")
    _reachable(policy, author, label, "label")
    return label


def item_label(policy: Policy, raw: object, author: Clearance, ceiling: Label,
               where: str = "label") -> Label:
    """A case's or an alert's label from a request: within the operation's label and at
    most the author's level. (``raw`` None: the operation's label, the default.)"""
    if raw is None:
        return ceiling
    label = _parse(policy, raw, where)
    why = policy.within(label, ceiling)
    if why is not None:
        raise BadRequest(f"'{where}': {why}")
    _reachable(policy, author, label, where)
    return label
