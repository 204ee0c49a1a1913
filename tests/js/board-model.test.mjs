// web/board-model.js: the live board's fold and view (its parity with the hub's fold is
// tests/functional/test_board_parity_functional.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromFrame, toFrame, apply, view, markingOf, EVENTS_KEPT } from "../../web/board-model.js";

const empty = () => fromFrame({ operation: "op", version: 0, cases: [], alerts: [], events: [] });
const caseEvent = (seq, id, version, record) => ({ seq, kind: "case", action: version === 1 ? "created" : "updated",
  id, version, ts: seq, actor: "alice", record: { id, title: id, severity: "major", status: "open", ...record } });

test("an event folds in once, in order, and an older version never overwrites a newer", () => {
  const b = empty();
  assert.equal(apply(b, caseEvent(1, "c1", 1, {})), true);
  assert.equal(apply(b, caseEvent(1, "c1", 1, {})), false);  // a replay
  apply(b, caseEvent(3, "c1", 3, { severity: "critical" }));
  apply(b, caseEvent(2, "c1", 2, { severity: "minor" }));      // late and behind
  assert.equal(b.cases.get("c1").severity, "critical");
  assert.equal(b.version, 3);
});

test("the view ranks open cases by severity and keeps the last events", () => {
  const b = empty();
  let seq = 0;
  for (let i = 0; i < EVENTS_KEPT + 5; i += 1) apply(b, caseEvent(++seq, `c${i}`, 1, { severity: i % 2 ? "critical" : "minor", updated_at: i }));
  apply(b, caseEvent(++seq, "c1", 2, { severity: "critical", status: "resolved" }));
  const v = view(b);
  assert.equal(v.events.length, EVENTS_KEPT);
  assert.equal(v.openCases[0].severity, "critical");
  assert.ok(!v.openCases.some((c) => c.id === "c1"));
  assert.equal(v.counts.critical.resolved, 1);
  assert.deepEqual(fromFrame(toFrame(b)).cases, b.cases);  // kept on the device and back
});

test("a record's marking reads as the hub writes it", () => {
  assert.equal(markingOf(null), "");
  assert.equal(markingOf({ level: "SECRET", categories: { "REL TO": ["POLICE", "ARMY", "POLICE"] } }), "SECRET REL TO ARMY, POLICE");
});
