// web/protocol.js: the client's connection to the hub, against a WebSocket double (no
// hub here; the browser tests drive the real one).
import { test } from "node:test";
import assert from "node:assert/strict";
import { HubClient } from "../../web/protocol.js";

class FakeSocket {
  static made = [];
  constructor(url) { this.url = url; this.closed = false; FakeSocket.made.push(this); }
  send() {}
  close() { this.closed = true; }
}

test("the network back drops an attempt begun while it was away and connects at once", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  globalThis.WebSocket = FakeSocket;
  FakeSocket.made = [];
  const client = new HubClient({ url: "ws://hub.test/ws" });
  client.connect();                       // begun offline: it never opens, never fails
  FakeSocket.made[0].closed = true;       // ...or it failed: a backoff is waiting
  client.onClose({ code: 1006 });
  assert.equal(client.state, "reconnecting");
  client.connect();                       // the backoff ran out: another attempt, in flight
  const stale = FakeSocket.made.at(-1);
  client.kick();                          // "online"
  assert.equal(stale.closed, true);
  assert.equal(stale.onclose, null);      // its late close schedules nothing
  assert.equal(FakeSocket.made.length, 3);
  assert.equal(client.ws, FakeSocket.made.at(-1));
  client.kick();                          // again: the new attempt is replaced, never two at once
  assert.equal(FakeSocket.made.filter((s) => !s.closed).length, 1);
  delete globalThis.WebSocket;
});

test("a live connection is left alone when the network says it is back", () => {
  globalThis.WebSocket = FakeSocket;
  FakeSocket.made = [];
  const client = new HubClient({ url: "ws://hub.test/ws" });
  client.connect();
  client.setState("live");
  client.kick();
  assert.equal(FakeSocket.made.length, 1);
  assert.equal(FakeSocket.made[0].closed, false);
  delete globalThis.WebSocket;
});
