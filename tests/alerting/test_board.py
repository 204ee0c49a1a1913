"""The board projection: snapshot + deltas, as a client applies them, equals a recomputation."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.board import apply, assemble, event_item, from_frame, view

SEVERITIES = ("info", "minor", "major", "critical")
STATUSES = ("open", "in_progress", "resolved", "closed")


class FakeLog:
    """A store's records and event log, written the way the real engines write them."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
        self.log: list[dict[str, Any]] = []
        self.history: list[dict[tuple[str, str], tuple[dict[str, Any], int]]] = [{}]

    def write(self, kind: str, rid: str, doc: dict[str, Any], action: str,
              changes: dict[str, Any] | None = None) -> None:
        version = self.records.get((kind, rid), ({}, 0))[1] + 1
        self.records[(kind, rid)] = (doc, version)
        frame: dict[str, Any] = {"type": "op_event", "seq": len(self.log) + 1, "kind": kind,
                                 "action": action, "id": rid, "version": version,
                                 "actor": "t", "ts": float(len(self.log)), "record": doc}
        if changes:
            frame["changes"] = changes
        self.log.append(frame)
        self.history.append(dict(self.records))

    def rows(self, kind: str, at: int) -> list[tuple[dict[str, Any], int]]:
        return [(d, v) for (k, _), (d, v) in self.history[at].items() if k == kind]


step = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(SEVERITIES)),
    st.tuples(st.just("severity"), st.integers(0, 20), st.sampled_from(SEVERITIES)),
    st.tuples(st.just("status"), st.integers(0, 20), st.sampled_from(STATUSES)),
    st.tuples(st.just("comment"), st.integers(0, 20)),
    st.tuples(st.just("fire"), st.integers(0, 20)),
    st.tuples(st.just("ack"), st.integers(0, 20)),
    st.tuples(st.just("resolve"), st.integers(0, 20)),
)


def play(steps: list[tuple[Any, ...]]) -> FakeLog:
    store = FakeLog()
    cases: list[str] = []
    alerts: list[str] = []
    for s in steps:
        if s[0] == "create":
            cid = f"case-{len(cases)}"
            cases.append(cid)
            store.write("case", cid, {"id": cid, "title": cid, "severity": s[1],
                                      "status": "open", "updated_at": len(store.log),
                                      "created_at": len(store.log)}, "created")
            continue
        if s[0] in ("severity", "status", "comment", "fire") and cases:
            cid = cases[s[1] % len(cases)]
            doc, _ = store.records[("case", cid)]
            if s[0] == "fire":
                aid = f"al-{len(alerts)}"
                alerts.append(aid)
                store.write("alert", aid, {"id": aid, "summary": cid, "severity": "critical",
                                           "state": "firing", "case_id": cid,
                                           "first_at": len(store.log)}, "fired")
                continue
            new = {**doc, "updated_at": len(store.log)}
            changes = None
            if s[0] != "comment":
                new[s[0]] = s[2]
                changes = {s[0]: [doc[s[0]], s[2]]}
            store.write("case", cid, new, "commented" if s[0] == "comment" else "updated",
                        changes)
        elif s[0] in ("ack", "resolve") and alerts:
            aid = alerts[s[1] % len(alerts)]
            doc, _ = store.records[("alert", aid)]
            if doc["state"] == "resolved":
                continue
            state = "acknowledged" if s[0] == "ack" else "resolved"
            store.write("alert", aid, {**doc, "state": state}, state)
    return store


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=60), st.data())
def test_snapshot_plus_deltas_equals_the_board_recomputed_from_the_store(
        steps: list[tuple[Any, ...]], data: st.DataObject) -> None:
    store = play(steps)
    n = len(store.log)
    # The snapshot reads the head, then the records (maybe later), then the log after the head.
    head = data.draw(st.integers(0, n))
    records_at = data.draw(st.integers(head, n))
    log_until = data.draw(st.integers(records_at, n))
    snapshot = assemble("op", head, store.rows("case", records_at),
                        store.rows("alert", records_at), store.log[:head],
                        store.log[head:log_until])
    # Sent as a frame; the client keeps it and applies every later op_event.
    frame = {"operation": "op", "version": snapshot["version"],
             "cases": list(snapshot["cases"].values()),
             "alerts": list(snapshot["alerts"].values()), "events": snapshot["events"]}
    client = from_frame(frame)
    redelivered = data.draw(st.integers(0, log_until))  # a duplicate delivery is harmless
    for event in store.log[redelivered:]:
        apply(client, event)
    recomputed = assemble("op", n, store.rows("case", n), store.rows("alert", n), store.log,
                          [])
    assert view(client) == view(recomputed)
    assert client["version"] == n


def test_view_counts_ranks_and_lists_active_alerts() -> None:
    store = play([("create", "minor"), ("create", "critical"), ("create", "critical"),
                  ("status", 0, "resolved"), ("fire", 1), ("fire", 2), ("ack", 0)])
    board = view(assemble("op", len(store.log), store.rows("case", 7), store.rows("alert", 7),
                          store.log, []))
    assert board["counts"]["critical"]["open"] == 2
    assert board["counts"]["minor"]["resolved"] == 1
    # Most severe first, then the one without an update for longest.
    assert [c["id"] for c in board["open_cases"]] == ["case-1", "case-2"]
    assert [(a["id"], a["state"]) for a in board["alerts"]] == \
        [("al-1", "firing"), ("al-0", "acknowledged")]
    assert [e["text"] for e in board["events"]][:2] == ["new minor case: case-0",
                                                       "new critical case: case-1"]


def test_routine_events_stay_off_the_events_log() -> None:
    assert event_item({"seq": 1, "kind": "case", "action": "commented", "record": {}}) is None
    assert event_item({"seq": 2, "kind": "rule", "action": "created", "record": {}}) is None
    assert event_item({"seq": 3, "kind": "alert", "action": "notified",
                       "notice": {"step": 0}, "record": {}}) is None
    item = event_item({"seq": 4, "kind": "alert", "action": "notified",
                       "notice": {"step": 1}, "record": {"summary": "Dam"}})
    assert item is not None and item["text"] == "alert escalated (step 2): Dam"
