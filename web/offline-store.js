// What the client keeps on the device to open with no network: the last board of each
// operation it showed (cases, alerts, events), per user, in IndexedDB. Forgotten at logout.

const DB = "liaison";
const STORE = "kv";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
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

/** Forget everything this device kept (logout): the boards and the service worker's copies. */
export async function forgetAll() {
  await run("readwrite", (s) => s.clear()).catch(() => undefined);
  if (globalThis.caches) await caches.delete("liaison-data-v1").catch(() => undefined);
}
