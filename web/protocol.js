// Liaison Hub client protocol: connect, authenticate, subscribe with since_seq,
// recover after reconnects, resend unacknowledged publishes with their
// client_msg_id. Shared by every screen (and later the mobile client).
// It mirrors docs/protocol.md; no framework, no dependencies.

import { CLOSE_TERMINAL } from "/vocabulary.js";
import { encode, decode } from "/msgpack.js";

// MessagePack by default: smaller frames on a phone's link. The hub picks the
// first subprotocol it speaks, so JSON remains the fallback.
const SUBPROTOCOLS = { msgpack: ["liaison.v1.msgpack", "liaison.v1.json"], json: ["liaison.v1.json"] };

// Every other close code is retried with backoff (CLOSE_RETRY lists the hub's own).
const TERMINAL_CLOSE = new Set(CLOSE_TERMINAL);

export function newId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export class HubClient extends EventTarget {
  constructor({ url, token = null, outboxKey = null, format = "msgpack", lang = null } = {}) {
    super();
    this.format = format;          // "msgpack" (default) or "json"
    this.outboxKey = outboxKey;    // where unsent publishes survive a reload (localStorage)
    this.url = url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    this.token = token;            // bots pass a token; browsers use the session cookie
    this.lang = lang;              // the reader's language: translations into it come live
    this.state = "offline";        // offline | connecting | live | reconnecting | ended
    this.lastSeq = new Map();      // channel -> last seq delivered to the app
    this.wanted = new Set();       // channels to (re)subscribe
    this.boards = new Set();       // operation feeds wanted as a board: a fresh snapshot each time
    this.outbox = new Map();       // client_msg_id -> publish frame, until acked
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    if (outboxKey) {
      try {
        for (const f of JSON.parse(localStorage.getItem(outboxKey) || "[]")) this.outbox.set(f.client_msg_id, f);
      } catch { /* a damaged outbox is dropped rather than blocking the client */ }
      // Back online (or the tab wakes up): try at once instead of waiting out the backoff.
      globalThis.addEventListener?.("online", () => this.kick());
    }
  }

  saveOutbox() {
    if (this.outboxKey) localStorage.setItem(this.outboxKey, JSON.stringify([...this.outbox.values()]));
  }

  // Read in another language: a new connection says so (what was missed is replayed).
  relang(lang) {
    this.lang = lang;
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    ws.close();
    this.connect();
  }

  // Reconnect now if we are waiting to (network back, user asked).
  // The network is back: connect now. An attempt still in flight began while it was away
  // and may never finish (or fail only to wait out a long backoff): it is dropped.
  kick() {
    if (this.state !== "reconnecting" && this.state !== "connecting") return;
    const stale = this.ws;
    if (stale) {
      this.ws = null;
      stale.onopen = stale.onmessage = stale.onclose = null;
      stale.close();
    }
    this.connect();
  }

  pending(channel) { return [...this.outbox.values()].filter((f) => f.channel === channel); }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  setState(state, detail) {
    this.state = state;
    this.emit("state", { state, ...detail });
  }

  connect() {
    clearTimeout(this.timer);
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url, SUBPROTOCOLS[this.format] || SUBPROTOCOLS.json);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => this.write(ws, { type: "hello", ...(this.token && { token: this.token }),
                                       ...(this.lang && { lang: this.lang }) });
    ws.onmessage = (ev) => {
      let frame;
      try {
        frame = typeof ev.data === "string" ? JSON.parse(ev.data) : decode(ev.data);
      } catch (e) {
        // Never act on a frame we could not read: start over, and recover by seq.
        this.emit("protocol-error", { error: String(e) });
        ws.close(1002);
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (ev) => this.onClose(ev);
  }

  // One frame in the connection's negotiated format.
  write(ws, frame) {
    ws.send(ws.protocol === "liaison.v1.msgpack" ? encode(frame) : JSON.stringify(frame));
  }

  onClose(ev) {
    if (this.ws === null) return;
    this.ws = null;
    if (TERMINAL_CLOSE.has(ev.code)) {
      this.setState("ended", { code: ev.code, reason: ev.reason });
      return;
    }
    // Exponential backoff with full jitter, capped at 30 s.
    this.attempt += 1;
    const cap = Math.min(30000, 500 * 2 ** Math.min(this.attempt, 6));
    const delay = Math.random() * cap;
    this.setState("reconnecting", { code: ev.code, retryInMs: Math.round(delay) });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  close() {
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.setState("offline");
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === "live") {
      this.write(this.ws, frame);
      return true;
    }
    return false;
  }

  onFrame(f) {
    switch (f.type) {
      case "welcome":
        this.attempt = 0;
        this.user = f.user;
        this.setState("live", { user: f.user });
        for (const ch of this.wanted) this.sendSubscribe(ch);
        for (const frame of this.outbox.values()) this.send(frame);   // same client_msg_id
        break;
      case "message": {
        const last = this.lastSeq.get(f.channel) ?? 0;
        if (f.seq <= last) return;                     // duplicate after a replay
        this.lastSeq.set(f.channel, f.seq);
        this.emit("message", f);
        break;
      }
      case "op_event": {
        // Cases, alerts, rules, silences: the operation feed, recovered exactly like chat.
        const last = this.lastSeq.get(f.feed) ?? 0;
        if (f.seq <= last) return;
        this.lastSeq.set(f.feed, f.seq);
        this.emit("op_event", f);
        break;
      }
      case "board":
        this.lastSeq.set(f.channel, f.version);   // deltas follow from this version
        this.emit("board", f);
        break;
      case "ack":
        this.outbox.delete(f.client_msg_id);
        this.saveOutbox();
        this.emit("ack", f);
        break;
      case "reset":
        // The hub no longer has what we missed: reload history over REST (a board
        // subscription asks for a new snapshot instead).
        this.lastSeq.set(f.channel, f.head_seq ?? f.first_seq - 1);
        if (this.boards.has(f.channel)) this.sendSubscribe(f.channel);
        this.emit("reset", f);
        break;
      case "error":
        if (f.ref && this.outbox.has(f.ref) && !f.retryable) {
          // Refused for good (too long, not allowed): drop it so it cannot block the rest.
          const frame = this.outbox.get(f.ref);
          this.outbox.delete(f.ref);
          this.saveOutbox();
          this.emit("rejected", { frame, error: f });
        }
        this.emit("hub-error", f);
        break;
      default:
        this.emit(f.type, f);   // subscribed, unsubscribed, presence, typing, pong
    }
  }

  sendSubscribe(channel) {
    const frame = { type: "subscribe", channel, ref: `sub:${channel}` };
    if (this.boards.has(channel)) frame.board = true;
    else if (this.lastSeq.has(channel)) frame.since_seq = this.lastSeq.get(channel);
    this.send(frame);
  }

  // The operation's live board: a "board" snapshot, then its op_event deltas.
  subscribeBoard(operationId) {
    const feed = `ops:${operationId}`;
    this.boards.add(feed);
    this.wanted.add(feed);
    this.sendSubscribe(feed);
  }

  subscribe(channel, sinceSeq) {
    this.wanted.add(channel);
    if (sinceSeq !== undefined) this.lastSeq.set(channel, sinceSeq);
    this.sendSubscribe(channel);
  }

  unsubscribe(channel) {
    this.wanted.delete(channel);
    this.boards.delete(channel);
    this.send({ type: "unsubscribe", channel });
  }

  publish(channel, text, priority = "normal", id = newId(), extra = {}) {
    // "urgent-each": urgent, and every agency taking part must acknowledge it.
    const each = priority === "urgent-each";
    const frame = { type: "publish", channel, text, priority: each ? "urgent" : priority, client_msg_id: id, ref: id };
    if (each) frame.ack = "each_agency";
    Object.assign(frame, extra);          // e.g. real_world: a real event during an exercise
    this.outbox.set(id, frame);           // kept until acked; resent after reconnect
    this.saveOutbox();
    this.send(frame);
    return id;
  }

  typing(channel) { this.send({ type: "typing", channel }); }
}

export async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options };
  if (options.body !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json", ...(options.headers || {}) };
    init.body = JSON.stringify(options.body);
  }
  const r = await fetch(path, init);
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const err = new Error((data && data.error && data.error.message) || r.statusText);
    err.status = r.status;
    err.code = data && data.error && data.error.code;
    err.body = data;
    throw err;
  }
  return data;
}
