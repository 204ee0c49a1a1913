// Writes over REST that must not be lost when the network is down: case reports, case
// updates and alert acknowledgements. A write that cannot reach the hub is kept in
// IndexedDB (offline-store.js), survives reloads and browser restarts, and is sent when
// the hub is reachable again, in the order it was made. Each is sent exactly once: case
// writes carry an idempotency key, and acknowledging an acknowledged alert changes
// nothing. (Chat messages have their own outbox in protocol.js, keyed by client_msg_id.)
import { api } from "/protocol.js";
import { queueWrite, queuedWrites, dropWrite } from "/offline-store.js";

/** Whether an error means "the hub was not reached" (try later) rather than "refused". */
export function unreachable(err) {
  return !err || !err.status || err.status >= 500;
}

const STORE = { queueWrite, queuedWrites, dropWrite };

export class WriteQueue extends EventTarget {
  // send and store: the hub's REST call and the device's queue (tests/js give doubles).
  constructor(user, { send = api, store = STORE } = {}) {
    super();
    this.user = user;
    this.api = send;
    this.store = store;
    this.draining = null;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  /** Send now, or keep it for later: resolves to { sent: true, result } or { sent: false }.
   *  A refusal (4xx) is thrown, as a direct call would. */
  async send(path, { method = "POST", body = {}, label = "" } = {}) {
    if ((await this.store.queuedWrites(this.user)).length === 0) {
      try {
        return { sent: true, result: await this.api(path, { method, body }) };
      } catch (err) {
        if (!unreachable(err)) throw err;
      }
    }
    await this.store.queueWrite(this.user, { path, method, body, label, at: Date.now() });
    this.emit("changed", { queued: (await this.store.queuedWrites(this.user)).length });
    this.drain();   // in case the hub is back already
    return { sent: false };
  }

  list() { return this.store.queuedWrites(this.user); }

  /** Send what is queued, oldest first, stopping at the first that cannot reach the hub.
   *  Asked again while a pass is under way (the network came back meanwhile), it runs
   *  one more pass after it, and the promise covers both. */
  drain() {
    this.again = true;
    this.draining ||= (async () => {
      try {
        while (this.again) { this.again = false; await this.run(); }
      } finally { this.draining = null; }
    })();
    return this.draining;
  }

  async run() {
    for (const item of await this.store.queuedWrites(this.user)) {
      try {
        const result = await this.api(item.path, { method: item.method, body: item.body });
        await this.store.dropWrite(item.seq);
        this.emit("sent", { item, result });
      } catch (err) {
        if (unreachable(err)) return;   // still away: the rest waits behind it
        await this.store.dropWrite(item.seq);   // refused: it will never pass; say so
        this.emit("rejected", { item, error: err });
      }
    }
    this.emit("changed", { queued: (await this.store.queuedWrites(this.user)).length });
  }
}
