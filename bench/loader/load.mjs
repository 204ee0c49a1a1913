// The load generator of bench/compare.py --loader node.
//
// The Python load generator saturates its one core near 50,000 deliveries a
// second (the 1000 x 50/s row), so its own delay swamps the servers' p99.
// This one does the same job on Node's event loop with the `ws` client.
//
// Driven by compare.py over stdin/stdout, one JSON object per line:
//   argv[2]: {url, protocol, channel, n, rate, duration, tokens: {reader, writer}}
//   out: {"ready": true}  once n subscribers are subscribed (RSS is read then)
//   in:  "go"             compare.py has read the server's CPU time: publish
//   out: {sent, delivered, p50_ms, p99_ms, span_s}  after the drain (nothing moved for
//        1 s); span_s: from the first publish to the last delivery
//
// Each published text starts with the send time (ms since the epoch, fixed width);
// a subscriber reads only that out of each frame, with no JSON parse.

import { createInterface } from "node:readline";
import WebSocket from "ws";

const cfg = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const TEXT = Buffer.from('"text":'); // the baselines write '"text": "', the hub no space
const STAMP = 20;

function open(token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(cfg.url, [cfg.protocol], { perMessageDeflate: false });
    ws.once("error", reject);
    ws.once("open", () => {
      ws.send(JSON.stringify({ type: "hello", token }));
      ws.once("message", () => resolve(ws));
    });
  });
}

function subscribe(ws) {
  return new Promise((resolve) => {
    const onMessage = (data) => {
      if (JSON.parse(data.toString()).type === "subscribed") {
        ws.off("message", onMessage);
        resolve();
      }
    };
    ws.on("message", onMessage);
    ws.send(JSON.stringify({ type: "subscribe", channel: cfg.channel }));
  });
}

const latencies = [];
const readers = [];
for (let i = 0; i < cfg.n; i += 100) {
  const batch = [];
  for (let j = i; j < Math.min(cfg.n, i + 100); j++) {
    batch.push(open(cfg.tokens.reader).then(async (ws) => {
      await subscribe(ws);
      readers.push(ws);
    }));
  }
  await Promise.all(batch);
}
let lastAt = 0; // when the latest delivery arrived
for (const ws of readers) {
  ws.on("message", (data) => {
    const at = data.indexOf(TEXT);
    if (at >= 0 && data.indexOf('"message"') >= 0) {
      const start = data.indexOf(0x22, at + TEXT.length) + 1; // past the opening quote
      lastAt = now();
      latencies.push(lastAt - parseFloat(data.toString("latin1", start, start + STAMP)));
    }
  });
}
const writer = await open(cfg.tokens.writer);
writer.on("message", () => {}); // acks
console.log(JSON.stringify({ ready: true }));

const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once("line", resolve));

const padding = "x".repeat(100 - STAMP - 1);
let sent = 0;
let serial = 0;
const begin = now();
const tick = Math.max(1, Math.min(5, 500 / cfg.rate));
await new Promise((resolve) => {
  const step = () => {
    const elapsed = now() - begin;
    if (elapsed >= cfg.duration * 1000) {
      resolve();
      return;
    }
    while (sent < Math.floor((elapsed / 1000) * cfg.rate)) {
      writer.send(JSON.stringify({
        type: "publish", channel: cfg.channel,
        text: `${now().toFixed(3).padEnd(STAMP)} ${padding}`,
        client_msg_id: `load-${process.pid}-${serial++}`,
      }));
      sent += 1;
    }
    setTimeout(step, tick);
  };
  step();
});

let last = -1;
let quiet = 0;
for (let i = 0; i < 200 && quiet < 1000; i++) { // nothing moved for 1 s, or 20 s at most
  quiet = latencies.length === last ? quiet + 100 : 0;
  last = latencies.length;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const sorted = Float64Array.from(latencies).sort();
const pct = (q) => sorted.length
  ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10
  : null;
console.log(JSON.stringify({ sent, delivered: sorted.length, p50_ms: pct(0.5),
                             p99_ms: pct(0.99), span_s: Math.max(0, lastAt - begin) / 1000 }));
for (const ws of [...readers, writer]) ws.terminate();
lines.close();
