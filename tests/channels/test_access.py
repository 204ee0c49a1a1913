"""channels/access.py on the real embedded store: the one authorization gate and its audit."""

from __future__ import annotations

import dataclasses

import pytest

from channels.access import Access
from channels.permissions import Action
from hub.errors import Forbidden, NotFound
from hub.models import OperationId, Role
from tests.conftest import Embedded


def _access(env: Embedded) -> Access:
    return env.services.cases.access


async def _denials(env: Embedded) -> list[tuple[str, str, str]]:
    return [(r.actor, r.target, r.outcome) async for r in env.store.iter_audit()
            if r.action == "authz.denied"]


async def test_a_member_reaches_their_operation_by_id_or_by_code(embedded: Embedded) -> None:
    bruno = await embedded.principal("bruno")
    op = embedded.ops["A"]
    found, role = await _access(embedded).operation(bruno, op.id, Action.EDIT_RECORDS)
    assert found.id == op.id and role == Role.MEMBER
    by_code, _ = await _access(embedded).operation(bruno, "OP-A", Action.READ_RECORDS)
    assert by_code.id == op.id
    assert await _denials(embedded) == []


async def test_another_operation_and_a_missing_one_are_refused_alike(embedded: Embedded) -> None:
    xavier = await embedded.principal("xavier")
    errors = []
    for op_id in (embedded.ops["A"].id, "op_does_not_exist", "OP-NOPE"):
        with pytest.raises(NotFound) as caught:
            await _access(embedded).operation(xavier, op_id, Action.READ_RECORDS,
                                              client="10.1.2.3")
        errors.append((type(caught.value), str(caught.value), caught.value.body()))
    assert errors[0] == errors[1] == errors[2]
    outcomes = [outcome for _, _, outcome in await _denials(embedded)]
    assert outcomes == ["hidden", "not_found", "not_found"]  # told apart only in the audit


async def test_an_observer_reads_but_may_not_edit(embedded: Embedded) -> None:
    olga = await embedded.principal("olga")
    op = embedded.ops["A"].id
    await _access(embedded).operation(olga, op, Action.READ_RECORDS)
    with pytest.raises(Forbidden):
        await _access(embedded).operation(olga, op, Action.EDIT_RECORDS)
    assert await _denials(embedded) == [("olga", f"operation:{op}", "forbidden")]


async def test_an_agency_channel_is_invisible_to_other_agencies(embedded: Embedded) -> None:
    police = embedded.channels["A/police"]
    alice, bruno = await embedded.principal("alice"), await embedded.principal("bruno")
    ch, op, role = await _access(embedded).channel(alice, police.id, Action.POST)
    assert ch.id == police.id and op.id == police.operation_id and role == Role.COORDINATOR
    with pytest.raises(NotFound):
        await _access(embedded).channel(bruno, police.id, Action.READ_CHANNEL)
    with pytest.raises(NotFound):
        await _access(embedded).channel(bruno, "ch_missing", Action.READ_CHANNEL)
    role_b = await _access(embedded).role(bruno, OperationId(police.operation_id))
    assert not _access(embedded).visible(bruno, role_b, police)
    assert _access(embedded).visible(alice, Role.COORDINATOR, police)
    assert [o for _, _, o in await _denials(embedded)] == ["hidden", "not_found"]


async def test_an_admin_outside_the_operation_may_manage_it_but_not_post(
        embedded: Embedded) -> None:
    root = await embedded.principal("root")
    op = embedded.ops["A"].id
    await _access(embedded).operation(root, op, Action.MANAGE_OPERATION)
    with pytest.raises(Forbidden):
        await _access(embedded).channel(root, embedded.channels["A/general"].id, Action.POST)


async def test_a_token_scoped_to_another_operation_sees_nothing_here(
        embedded: Embedded) -> None:
    bruno = dataclasses.replace(await embedded.principal("bruno"),
                                scope=(OperationId(embedded.ops["B"].id),))
    with pytest.raises(NotFound):
        await _access(embedded).operation(bruno, embedded.ops["A"].id, Action.READ_RECORDS)


async def test_nobody_posts_or_edits_in_a_closed_operation(embedded: Embedded) -> None:
    op = embedded.ops["A"]
    await embedded.store.update_operation(op.id, status="closed")
    bruno = await embedded.principal("bruno")
    await _access(embedded).operation(bruno, op.id, Action.READ_RECORDS)
    with pytest.raises(Forbidden):
        await _access(embedded).operation(bruno, op.id, Action.EDIT_RECORDS)
    with pytest.raises(Forbidden):
        await _access(embedded).channel(bruno, embedded.channels["A/general"].id, Action.POST)
