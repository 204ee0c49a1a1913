// web/outbox.js: writes that must not be lost while the hub is out of reach.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WriteQueue, unreachable } from "../../web/outbox.js";

// The device's queue, in memory (the page's is IndexedDB).
function memoryStore() {
  let seq = 0;
  const items = [];
  return {
    items,
    async queueWrite(user, w) { items.push({ ...w, user, seq: ++seq }); },
    async queuedWrites(user) { return items.filter((w) => w.user === user); },
    async dropWrite(n) { items.splice(items.findIndex((w) => w.seq === n), 1); },
  };
}

const refused = (status) => Object.assign(new Error(`refused ${status}`), { status });

test("a write the hub refuses is thrown; one that cannot reach it is kept", async () => {
  assert.equal(unreachable(new TypeError("fetch failed")), true);
  assert.equal(unreachable(refused(503)), true);
  assert.equal(unreachable(refused(403)), false);
  const store = memoryStore();
  let hub = async () => { throw refused(409); };
  const q = new WriteQueue("bruno", { send: (...a) => hub(...a), store });
  await assert.rejects(q.send("/api/x", { body: { a: 1 } }), /refused 409/);
  hub = async () => { throw new TypeError("offline"); };
  assert.deepEqual(await q.send("/api/ack/1", { label: "Acknowledge: dam" }), { sent: false });
  await q.drain();
  assert.deepEqual(store.items.map((w) => [w.path, w.label]), [["/api/ack/1", "Acknowledge: dam"]]);
});

test("queued writes go in the order they were made, once, when the hub is back", async () => {
  const store = memoryStore();
  const sent = [];
  let online = false;
  const q = new WriteQueue("bruno", { store, send: async (path) => {
    if (!online) throw new TypeError("offline");
    sent.push(path);
    return { ok: path };
  } });
  for (const p of ["/a", "/b", "/c"]) assert.equal((await q.send(p)).sent, false);
  // While one waits, a new write queues behind it rather than overtaking it.
  online = true;
  const events = [];
  q.addEventListener("sent", (e) => events.push(e.detail.item.path));
  await q.drain();
  assert.deepEqual(sent, ["/a", "/b", "/c"]);
  assert.deepEqual(events, ["/a", "/b", "/c"]);
  assert.equal(store.items.length, 0);
  await q.drain();
  assert.deepEqual(sent, ["/a", "/b", "/c"]);  // nothing sent twice
});

test("a refusal while draining is said and dropped; the rest goes on", async () => {
  const store = memoryStore();
  let online = false;
  const q = new WriteQueue("bruno", { store, send: async (path) => {
    if (!online) throw new TypeError("offline");
    if (path === "/refused") throw refused(403);
    return {};
  } });
  await q.send("/refused");
  await q.send("/fine");
  online = true;
  const rejected = [];
  q.addEventListener("rejected", (e) => rejected.push([e.detail.item.path, e.detail.error.status]));
  await q.drain();
  assert.deepEqual(rejected, [["/refused", 403]]);
  assert.equal(store.items.length, 0);
});

test("draining stops at the first write that cannot reach the hub", async () => {
  const store = memoryStore();
  let calls = 0;
  const q = new WriteQueue("bruno", { store, send: async () => { calls += 1; throw new TypeError("offline"); } });
  await q.send("/a");
  await q.send("/b");
  calls = 0;
  await q.drain();
  assert.equal(calls, 1);
  assert.equal(store.items.length, 2);
});

test("each user's queue is their own", async () => {
  const store = memoryStore();
  const off = async () => { throw new TypeError("offline"); };
  await new WriteQueue("bruno", { store, send: off }).send("/mine");
  assert.deepEqual(await new WriteQueue("alice", { store, send: off }).list(), []);
});
