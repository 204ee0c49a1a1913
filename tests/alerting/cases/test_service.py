"""alerting/cases/service.py (CaseService) without sockets: the shared case record.

Writes go through the real access gate and embedded store; the tests read the
operation log back to check what every write left there.
"""

from __future__ import annotations

from typing import Any

import pytest

from alerting.bodies import CaseChanges, CaseComment, NewCase, PushedAlert
from alerting.cases.service import CaseConflict, CaseService
from hub.bodies import convert
from hub.errors import BadRequest, Forbidden, NotFound
from hub.models import OperationId
from tests.conftest import Embedded


def cases(env: Embedded) -> CaseService:
    return env.services.cases


def op(env: Embedded) -> OperationId:
    return OperationId(env.ops["A"].id)


async def create(env: Embedded, who: str = "bruno", **data: Any) -> dict[str, Any]:
    event, _ = await cases(env).create_case(await env.principal(who), op(env),
                                            convert({"title": "Dam breach", **data}, NewCase), "t")
    return {**event.data["record"], "version": event.version}  # type: ignore[dict-item]


async def update(env: Embedded, case: dict[str, Any], who: str = "bruno",
                 **data: Any) -> dict[str, Any]:
    event, _ = await cases(env).update_case(await env.principal(who), op(env), case["id"],
                                            convert({"version": case["version"], **data},
                                                    CaseChanges), "t")
    return {**event.data["record"], "version": event.version, "action": event.action}  # type: ignore[dict-item]


async def test_a_new_case_carries_its_author_agency_and_time(embedded: Embedded) -> None:
    case = await create(embedded, severity="major")
    assert (case["created_by"], case["reporting_agency"], case["created_at"],
            case["version"]) == \
        ("bruno", "ARMY", embedded.clock.now(), 1)
    assert case["operation_id"] == op(embedded)
    listed = await cases(embedded).list_cases(await embedded.principal("olga"), op(embedded),
                                              "t")
    assert [(c["id"], c["version"]) for c in listed] == [(case["id"], 1)]


async def test_a_create_retried_with_its_idempotency_key_stores_one_case(
        embedded: Embedded) -> None:
    bruno = await embedded.principal("bruno")
    data = {"title": "Bridge", "idempotency_key": "k-1"}
    first, created = await cases(embedded).create_case(bruno, op(embedded),
                                                       convert(data, NewCase), "t")
    again, created_again = await cases(embedded).create_case(bruno, op(embedded),
                                                             convert(data, NewCase), "t")
    assert created and not created_again and again.record_id == first.record_id
    assert len(await cases(embedded).list_cases(bruno, op(embedded), "t")) == 1
    with pytest.raises(BadRequest, match="field 'idempotency_key': expected `str` of length"):
        convert({"title": "x", "idempotency_key": "k" * 65}, NewCase)


async def test_an_update_needs_the_version_the_writer_saw(embedded: Embedded) -> None:
    for version in (None, 0, True, "1", 1.0):
        with pytest.raises(BadRequest, match="field 'version'"):
            convert({"version": version, "severity": "minor"}, CaseChanges)
    with pytest.raises(BadRequest, match="field 'version' is required"):
        convert({"severity": "minor"}, CaseChanges)


async def test_a_stale_update_is_a_conflict_carrying_the_current_case(
        embedded: Embedded) -> None:
    case = await create(embedded)
    newer = await update(embedded, case, severity="critical")
    with pytest.raises(CaseConflict) as err:
        await update(embedded, case, who="alice", severity="minor")  # saw version 1
    assert err.value.version == 2 and err.value.current["severity"] == "critical"
    body = err.value.body()
    assert body["current"]["version"] == 2  # type: ignore[index]
    assert body["current"]["severity"] == newer["severity"]  # type: ignore[index]


async def test_update_actions_say_what_happened(embedded: Embedded) -> None:
    case = await create(embedded)
    case = await update(embedded, case, assignees=["alice"])
    assert case["action"] == "assigned"
    case = await update(embedded, case, severity="critical", assignees=["bruno"])
    assert case["action"] == "updated"
    case = await update(embedded, case, status="closed")
    assert case["action"] == "closed"
    with pytest.raises(BadRequest, match="nothing to change"):
        await update(embedded, case, status="closed")


async def test_a_missing_case_and_another_operations_case_are_both_not_found(
        embedded: Embedded) -> None:
    case = await create(embedded)
    xavier, bruno = await embedded.principal("xavier"), await embedded.principal("bruno")
    with pytest.raises(NotFound):
        await cases(embedded).get_case(bruno, op(embedded), "case_nope", "t")
    with pytest.raises(NotFound):  # xavier is in B: A does not exist for him
        await cases(embedded).get_case(xavier, op(embedded), case["id"], "t")
    with pytest.raises(NotFound):  # nor does A's case under B
        await cases(embedded).get_case(xavier, embedded.ops["B"].id, case["id"], "t")
    with pytest.raises(NotFound):
        await cases(embedded).update_case(bruno, op(embedded), "case_nope",
                                          convert({"version": 1, "severity": "minor"},
                                                  CaseChanges), "t")


async def test_observers_read_cases_but_do_not_write_them(embedded: Embedded) -> None:
    case = await create(embedded)
    olga = await embedded.principal("olga")
    assert (await cases(embedded).get_case(olga, op(embedded), case["id"], "t"))["id"] == \
        case["id"]
    with pytest.raises(Forbidden):
        await cases(embedded).create_case(olga, op(embedded), convert({"title": "mine"}, NewCase),
                                          "t")
    with pytest.raises(Forbidden):
        await cases(embedded).comment(olga, op(embedded), case["id"], CaseComment(text="hi"), "t")


async def test_comments_count_on_the_case_and_their_text_lives_in_the_log(
        embedded: Embedded) -> None:
    case = await create(embedded)
    alice = await embedded.principal("alice")
    event, _ = await cases(embedded).comment(alice, op(embedded), case["id"],
                                             CaseComment(text="  crews on site  "), "t")
    assert event.action == "commented" and event.data["record"]["comments"] == 1  # type: ignore[index]
    assert event.data["comment"] == {"text": "crews on site", "by": "alice",
                                     "agency": "POLICE"}
    # A comment never conflicts: it applies on top of whatever is current.
    await update(embedded, {**case, "version": event.version}, severity="minor")
    again, _ = await cases(embedded).comment(alice, op(embedded), case["id"],
                                             CaseComment(text="second"), "t")
    assert again.data["record"]["comments"] == 2  # type: ignore[index]
    for text in ("", "   ", "x" * 4001, 5):
        with pytest.raises(BadRequest, match="field 'text'"):
            convert({"text": text}, CaseComment)


async def test_the_timeline_holds_the_cases_events_and_its_alerts_only(
        embedded: Embedded) -> None:
    mine = await create(embedded)
    other = await create(embedded, title="Road")
    await update(embedded, mine, severity="critical")
    await update(embedded, other, severity="minor")
    bruno = await embedded.principal("bruno")
    await embedded.services.pushes.push(bruno, op(embedded),
                                        PushedAlert(summary="about it", case=mine["id"]), "t")
    await embedded.services.pushes.push(bruno, op(embedded), PushedAlert(summary="unrelated"),
                                        "t")
    line = await cases(embedded).timeline(bruno, op(embedded), mine["id"], "t")
    assert [(e.kind, e.action) for e in line] == [("case", "created"), ("case", "updated"),
                                                  ("alert", "fired")]
    by_code = await cases(embedded).timeline(bruno, embedded.ops["A"].code, mine["id"], "t")
    assert [e.seq for e in by_code] == [e.seq for e in line]


async def test_the_operation_feed_and_events_page_through_the_log(embedded: Embedded) -> None:
    for i in range(4):
        await create(embedded, title=f"case {i}")
    bruno = await embedded.principal("bruno")
    feed = await cases(embedded).open_feed(bruno, f"ops:{op(embedded)}", "t")
    assert (feed.key, feed.chat) == (f"ops:{op(embedded)}", False)
    first, head = await cases(embedded).feed_bounds(feed)
    assert head - first + 1 >= 4
    page = await cases(embedded).read_feed(feed, after_seq=head - 2, limit=10)
    assert [e.seq for e in page] == [head - 1, head]
    events, next_after, more = await cases(embedded).events(bruno, op(embedded), head - 3, 2,
                                                            "t")
    assert [e.seq for e in events] == [head - 2, head - 1] and (next_after, more) == \
        (head - 1, True)
    with pytest.raises(NotFound):
        await cases(embedded).open_feed(await embedded.principal("xavier"),
                                        f"ops:{op(embedded)}", "t")


async def test_the_board_snapshot_is_the_current_cases_at_the_log_head(
        embedded: Embedded) -> None:
    case = await create(embedded)
    await update(embedded, case, severity="critical")
    bruno = await embedded.principal("bruno")
    feed = await cases(embedded).open_feed(bruno, f"ops:{op(embedded)}", "t")
    snap = await cases(embedded).board_snapshot(feed, bruno)
    _, head = await cases(embedded).feed_bounds(feed)
    assert snap["version"] == head
    assert snap["cases"][case["id"]]["severity"] == "critical"
    assert snap["cases"][case["id"]]["version"] == 2
