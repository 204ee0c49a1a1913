// The alert stack's model (web/stack-model.js), with node's built-in test runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { forMe, stackOf } from "../../web/stack-model.js";

const me = { username: "bruno", agency: "ARMY" };
const alert = (id, extra = {}) => ({ id, state: "firing", severity: "critical", first_at: 100,
  silenced_by: null, pending_agencies: [], raised_by: null, ...extra });
const board = (...alerts) => ({ alerts: new Map(alerts.map((a) => [a.id, a])) });
const ops = new Map([["A", { id: "A", code: "OP-A" }], ["B", { id: "B", code: "OP-B" }]]);

test("every active critical and major alert of every operation, newest first", () => {
  const boards = new Map([
    ["A", board(alert("a1", { first_at: 1 }), alert("a2", { first_at: 3, severity: "major" }),
      alert("a3", { first_at: 2, severity: "minor" }), alert("a4", { first_at: 9, state: "acknowledged" }))],
    ["B", board(alert("b1", { first_at: 2 }), alert("b2", { first_at: 5, silenced_by: "s1" }))],
  ]);
  const { items, counts, byOp } = stackOf(boards, ops, me);
  assert.deepEqual(items.map((i) => [i.op.code, i.alert.id]), [["OP-A", "a2"], ["OP-B", "b1"], ["OP-A", "a1"]]);
  assert.deepEqual(counts, { critical: 2, major: 1 });
  assert.deepEqual([...byOp], [["A", 2], ["B", 1]]);
});

test("ties keep one order whatever order the boards held them in", () => {
  const x = alert("x"), y = alert("y");
  const one = stackOf(new Map([["A", board(x, y)]]), ops, me).items.map((i) => i.alert.id);
  const two = stackOf(new Map([["A", board(y, x)]]), ops, me).items.map((i) => i.alert.id);
  assert.deepEqual(one, two);
});

test("not my own urgent message, nor one my agency already acknowledged", () => {
  assert.equal(forMe(alert("m", { raised_by: "bruno" }), me), false);
  assert.equal(forMe(alert("m", { pending_agencies: ["POLICE"] }), me), false);
  assert.equal(forMe(alert("m", { pending_agencies: ["ARMY", "POLICE"] }), me), true);
  assert.equal(forMe(alert("m", { raised_by: "alice" }), me), true);
});

test("an operation the user left, or whose board has not come, adds nothing", () => {
  const boards = new Map([["Z", board(alert("z"))], ["B", null]]);
  assert.deepEqual(stackOf(boards, ops, me).items, []);
});

test("past three alert notifications in a minute, the next ones are grouped", async () => {
  const { crowded } = await import("../../web/stack-model.js");
  let times = [];
  const grouped = [];
  for (const at of [0, 1000, 2000, 3000, 4000, 70000, 130000]) {
    const seen = crowded(times, at);
    times = seen.times;
    grouped.push(seen.grouped);
  }
  // the 4th and 5th within the minute are grouped; a minute on, one at a time again
  assert.deepEqual(grouped, [false, false, false, true, true, false, false]);
});
