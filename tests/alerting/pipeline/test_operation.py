"""alerting/pipeline/operation.py without sockets: the stages in order over the real embedded store.

The services write as people would (cases, rules, policies, silences); the
test then runs the pipeline over the operation's log itself, so every effect
is the pipeline's and nothing depends on background timing.
"""

from __future__ import annotations

from typing import Any

from alerting.bodies import CaseChanges, NewCase
from alerting.kinds import ALERT, PIPELINE_STATE
from alerting.pipeline.operation import Pipeline
from alerting.pipeline.opstate import OpState
from channels.admin_bodies import NewChannel
from channels.bodies import chat_body
from hub.bodies import convert
from hub.models import OperationId
from tests.conftest import Embedded

RULE = {"id": "crit", "when": 'severity == "critical"', "summary": "{title} is critical",
        "severity": "critical"}
POLICY = {"id": "default", "steps": [{"notify": ["assignees", "channel:alerts"],
                                      "wait": "5m"}, {"notify": ["coordinators"]}]}


class World:
    def __init__(self, env: Embedded) -> None:
        self.env = env
        self.op = OperationId(env.ops["A"].id)
        self.pipeline: Pipeline = env.services.pipeline
        self.rt: OpState | None = None

    async def setup(self, *, policy: bool = True, rule: dict[str, Any] | None = None) -> None:
        alice = await self.env.principal("alice")
        await self.env.services.channels.create_channel(alice, self.op, NewChannel(name="alerts"),
                                                        "t")
        if policy:
            await self.env.services.alerts.put_policy(alice, self.op, dict(POLICY), "t")
        await self.env.services.alerts.put_rule(alice, self.op, dict(rule or RULE), "t")

    async def run(self) -> OpState:
        """One pipeline pass, from the state it saved (as after a restart, when asked)."""
        if self.rt is None:
            self.rt = await self.pipeline.load(self.op)
        await self.pipeline.run(self.rt, self.env.clock.now())
        return self.rt

    async def case(self, **fields: Any) -> dict[str, Any]:
        event, _ = await self.env.services.cases.create_case(
            await self.env.principal("bruno"), self.op,
            convert({"title": "Dam breach", "assignees": ["bruno"], **fields}, NewCase), "t")
        return {**event.data["record"], "version": event.version}  # type: ignore[dict-item]

    async def patch(self, case: dict[str, Any], **fields: Any) -> dict[str, Any]:
        event, _ = await self.env.services.cases.update_case(
            await self.env.principal("bruno"), self.op, case["id"],
            convert({"version": case["version"], **fields}, CaseChanges), "t")
        return {**event.data["record"], "version": event.version}  # type: ignore[dict-item]

    async def alerts(self) -> list[dict[str, Any]]:
        return [doc for doc, _ in await self.env.store.list_records(self.op, ALERT)]

    async def alert_events(self) -> list[tuple[str, str]]:
        events = await self.env.store.read_op_events(self.op, after_seq=0, limit=500)
        return [(e.action, e.record_id) for e in events if e.kind == ALERT]

    async def notices(self) -> list[str]:
        ch = next(c for c in await self.env.store.list_channels(self.op) if c.name == "alerts")
        return [chat_body(m).text for m in await self.env.store.read_messages(ch.id, after_seq=0,
                                                                   limit=100)]


async def test_a_critical_case_raises_one_alert_and_notifies_its_first_step(
        embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()  # the pipeline starts from the head: nothing to say yet
    await w.case(severity="critical")
    rt = await w.run()
    [alert] = await w.alerts()
    assert alert["summary"] == "Dam breach is critical" and alert["state"] == "firing"
    assert alert["last_notice"]["users"] == ["bruno"]
    assert alert["escalation"]["step"] == 1
    assert [a for a, _ in await w.alert_events()] == ["fired", "notified"]
    [text] = await w.notices()
    assert text.startswith("CRITICAL alert: Dam breach is critical") and "@bruno" in text
    assert set(rt.alerts) == {alert["id"]}


async def test_running_again_changes_nothing_and_the_cursor_is_saved(
        embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()
    await w.case(severity="critical")
    rt = await w.run()
    events = await w.alert_events()
    saved = await embedded.store.get_state(w.op, PIPELINE_STATE)
    assert saved is not None
    case_seq = max(e.seq for e in await embedded.store.read_op_events(w.op, limit=500)
                   if e.kind == "case")
    assert saved["cursor"] >= case_seq  # the case is never evaluated twice
    await w.run()
    assert await w.alert_events() == events  # nothing new: not due, already raised
    _, head = await embedded.store.op_event_bounds(w.op)
    assert rt.cursor == head  # its own alert events read too (saved with the next case)


async def test_events_heard_from_the_broker_are_taken_without_reading_the_log(
        embedded: Embedded, monkeypatch: Any) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()
    reads: list[int] = []
    real_read = embedded.store.read_op_events

    async def counting(op_id: OperationId, **kw: Any) -> Any:
        reads.append(kw.get("after_seq", 0))
        return await real_read(op_id, **kw)

    monkeypatch.setattr(embedded.store, "read_op_events", counting)
    case = await w.case(severity="critical")
    [event] = await real_read(w.op, after_seq=w.rt.cursor if w.rt else 0, limit=10)
    assert event.kind == "case" and event.record_id == case["id"]
    await w.pipeline.run(w.rt, embedded.clock.now(), heard=[event])  # type: ignore[arg-type]
    assert reads == []  # the write's own event, as published: no read back
    [alert] = await w.alerts()
    assert alert["case_id"] == case["id"] and alert["state"] == "firing"


async def test_a_gap_in_the_heard_events_is_filled_from_the_log(
        embedded: Embedded, monkeypatch: Any) -> None:
    w = World(embedded)
    await w.setup()
    rt = await w.run()
    start = rt.cursor
    first = await w.case(severity="critical", title="North dam")
    await w.case(severity="critical", title="South dam")
    late = (await embedded.store.read_op_events(w.op, after_seq=start, limit=10))[-1]
    assert late.seq == start + 2  # the event of the first case was lost on the way
    await w.pipeline.run(rt, embedded.clock.now(), heard=[late])
    summaries = sorted(a["summary"] for a in await w.alerts())
    assert summaries == ["North dam is critical", "South dam is critical"]
    assert first["id"] in rt.cases and rt.cursor == late.seq


async def test_replaying_the_log_from_the_start_raises_nothing_twice(
        embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()
    await w.case(severity="critical")
    await w.run()
    before = await w.alert_events()
    replay = await w.pipeline.load(w.op)
    replay.cursor = 0  # as if the saved cursor were lost: every event again
    await w.pipeline.run(replay, embedded.clock.now())
    assert await w.alert_events() == before
    assert len(await w.alerts()) == 1


async def test_a_case_that_stops_being_critical_resolves_its_alert(embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()
    case = await w.case(severity="critical")
    await w.run()
    await w.patch(case, severity="major")
    rt = await w.run()
    [alert] = await w.alerts()
    assert alert["state"] == "resolved" and alert["resolution"] == "auto"
    assert alert["resolved_by"] == "rule:crit" and rt.alerts == {}


async def test_the_next_step_waits_for_its_time(embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()
    await w.case(severity="critical")
    await w.run()
    embedded.clock.advance(299)
    await w.run()
    assert len(await w.notices()) == 1
    embedded.clock.advance(1)
    await w.run()
    [alert] = await w.alerts()
    assert alert["last_notice"]["step"] == 1 and alert["last_notice"]["users"] == ["alice"]
    assert len(await w.notices()) == 1  # step 1 tells the coordinators, not the channel


async def test_an_alert_raised_under_a_silence_is_marked_and_not_notified(
        embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()
    await embedded.services.alerts.create_silence(
        await embedded.principal("alice"), w.op,
        {"matchers": [{"label": "rule", "value": "crit"}], "duration": "10m",
         "reason": "crews on site"}, "t")
    await w.case(severity="critical")
    await w.run()
    [alert] = await w.alerts()
    assert alert["silenced_by"] is not None and alert["last_notice"] is None
    assert alert["escalation"]["next_at"] == embedded.clock.now() + 600
    assert [a for a, _ in await w.alert_events()] == ["fired", "silenced"]
    assert await w.notices() == []
    embedded.clock.advance(600)  # the silence ends: the first step goes out at once
    await w.run()
    [alert] = await w.alerts()
    assert alert["silenced_by"] is None and alert["last_notice"]["step"] == 0
    assert [a for a, _ in await w.alert_events()][-2:] == ["unsilenced", "notified"]
    assert len(await w.notices()) == 1


async def test_a_new_rule_is_evaluated_against_the_cases_already_there(
        embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup(rule={"id": "crit", "when": 'severity == "critical"', "enabled": False})
    await w.run()
    await w.case(severity="critical")
    await w.run()
    assert await w.alerts() == []
    await embedded.services.alerts.put_rule(await embedded.principal("alice"), w.op,
                                            dict(RULE), "t")
    await w.run()
    [alert] = await w.alerts()
    assert alert["rule_id"] == "crit"


async def test_without_saved_state_every_existing_case_is_evaluated_once(
        embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.case(severity="critical")
    await w.case(severity="critical", title="Bridge")
    rt = await w.pipeline.load(w.op)
    assert rt.fresh
    await w.pipeline.run(rt, embedded.clock.now())
    assert sorted(a["summary"] for a in await w.alerts()) == \
        ["Bridge is critical", "Dam breach is critical"]
    assert not rt.fresh


async def test_an_acknowledged_alert_is_not_notified_again(embedded: Embedded) -> None:
    w = World(embedded)
    await w.setup()
    await w.run()
    await w.case(severity="critical")
    await w.run()
    [alert] = await w.alerts()
    await embedded.services.alerts.acknowledge(await embedded.principal("alice"), w.op,
                                               alert["id"], "t")
    embedded.clock.advance(3600)
    await w.run()
    assert [a for a, _ in await w.alert_events()] == ["fired", "notified", "acknowledged"]
