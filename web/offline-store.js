// What the client keeps on the device, in IndexedDB, per user: the last board of each
// operation it showed (to open with no network) and the writes made while the network
// was down (sent in order when it is back, see outbox.js). Forgotten at logout; the boards
// also when the hub ends the session.

const DB = "liaison";
const STORE = "kv";
const OUTBOX = "outbox";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 2);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
      if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn, store = STORE) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const boardKey = (user, op) => `board:${user}:${op}`;

/** The last board saved for this user and operation: { frame, savedAt } or undefined. */
export function loadBoard(user, op) {
  return run("readonly", (s) => s.get(boardKey(user, op))).catch(() => undefined);
}

export function saveBoard(user, op, frame, savedAt) {
  return run("readwrite", (s) => s.put({ frame, savedAt }, boardKey(user, op))).catch(() => undefined);
}

/** Keep a write to send later; resolves to its place in the queue. */
export function queueWrite(user, item) {
  return run("readwrite", (s) => s.add({ ...item, user }), OUTBOX);
}

/** This user's queued writes, oldest first. */
export async function queuedWrites(user) {
  const all = await run("readonly", (s) => s.getAll(), OUTBOX).catch(() => []);
  return (all || []).filter((w) => w.user === user).sort((a, b) => a.seq - b.seq);
}

export function dropWrite(seq) {
  return run("readwrite", (s) => s.delete(seq), OUTBOX);
}

/** Forget what this device kept to read (boards, the worker's copies of answers), not the
 *  writes still to send: the hub ended the session (a lowered clearance, a password change,
 *  a disabled account), so what was kept may be more than the next session may see. */
export async function forgetReadings() {
  await run("readwrite", (s) => s.clear()).catch(() => undefined);
  if (globalThis.caches) await caches.delete("liaison-data-v1").catch(() => undefined);
}

/** Forget everything this device kept (logout): boards, queued writes, the worker's copies. */
export async function forgetAll() {
  await run("readwrite", (s) => s.clear()).catch(() => undefined);
  await run("readwrite", (s) => s.clear(), OUTBOX).catch(() => undefined);
  if (globalThis.caches) await caches.delete("liaison-data-v1").catch(() => undefined);
}
