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

export class WriteQueue extends EventTarget {
  constructor(user) {
    super();
    this.user = user;
    this.draining = null;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  /** Send now, or keep it for later: resolves to { sent: true, result } or { sent: false }.
   *  A refusal (4xx) is thrown, as a direct call would. */
  async send(path, { method = "POST", body = {}, label = "" } = {}) {
    if ((await queuedWrites(this.user)).length === 0) {
      try {
        return { sent: true, result: await api(path, { method, body }) };
      } catch (err) {
        if (!unreachable(err)) throw err;
      }
    }
    await queueWrite(this.user, { path, method, body, label, at: Date.now() });
    this.emit("changed", { queued: (await queuedWrites(this.user)).length });
    this.drain();   // in case the hub is back already
    return { sent: false };
  }

  list() { return queuedWrites(this.user); }

  /** Send what is queued, oldest first, stopping at the first that cannot reach the hub. */
  drain() {
    if (!this.draining) this.draining = this.run().finally(() => { this.draining = null; });
    return this.draining;
  }

  async run() {
    for (const item of await queuedWrites(this.user)) {
      try {
        const result = await api(item.path, { method: item.method, body: item.body });
        await dropWrite(item.seq);
        this.emit("sent", { item, result });
      } catch (err) {
        if (unreachable(err)) return;   // still away: the rest waits behind it
        await dropWrite(item.seq);        // refused: it will never pass; say so
        this.emit("rejected", { item, error: err });
      }
    }
    this.emit("changed", { queued: (await queuedWrites(this.user)).length });
  }
}
