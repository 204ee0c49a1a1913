// web/board-model.js: the live board's fold and view (its parity with the hub's fold is
// tests/functional/test_board_parity_functional.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromFrame, toFrame, apply, view, markingOf, ledger, titleOf, EVENTS_KEPT } from "../../web/board-model.js";

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

test("the ledger is the hub's: agencies sorted, seconds rounded as Python's round(x, 3)", () => {
  const rows = ledger({ ack_agencies: ["POLICE", "ARMY"], told: { ARMY: 10, POLICE: 10, RED: 11 },
    acks: { ARMY: { by: "bruno", at: 10.0625 }, POLICE: { by: "alice", at: 12.3456789 } } });
  assert.deepEqual(rows.map((r) => r.agency), ["ARMY", "POLICE", "RED"]);
  assert.equal(rows[0].seconds, 0.062);   // a tie goes to even, as in Python
  assert.equal(rows[1].seconds, 2.346);
  assert.deepEqual(rows[2], { agency: "RED", told_at: 11, acked_at: null, acked_by: null, seconds: null });
  assert.equal(ledger({ ack_agencies: ["X"], acks: { X: { by: "x", at: 1.1875 } }, told: { X: 1 } })[0].seconds, 0.188);
});

test("a case's title reads translated only for the version its translation names", () => {
  const b = empty();
  apply(b, caseEvent(1, "c1", 1, { title: "The bridge is closed" }));
  b.translations.set("c1", { title: "El puente está cortado", source: "en", version: 1, reviewed_by: "olga" });
  assert.deepEqual(titleOf(b, b.cases.get("c1")), { text: "El puente está cortado", from: "en", by: "olga" });
  apply(b, caseEvent(2, "c1", 2, { title: "The bridge is open" }));   // newer than its translation
  assert.deepEqual(titleOf(b, b.cases.get("c1")), { text: "The bridge is open" });
  // Case and alert translations are kept on the device with the board, and come back.
  b.alertTranslations.set("al-1", { summary: "Bomba 3 caída", original: ["Pump 3 down", ""], source: "en" });
  const back = fromFrame(JSON.parse(JSON.stringify(toFrame(b))));
  assert.deepEqual(back.translations, b.translations);
  assert.deepEqual(back.alertTranslations, b.alertTranslations);
});
