// What the client keeps on the device, in IndexedDB, per user: the last board of each
// operation it showed (to open with no network) and the writes made while the network
// was down (sent in order when it is back, see outbox.js), and messages with files,
// the files themselves included, until they are uploaded and published (attach.js). All of it, the service
// worker's copies of answers (sw.js, one cache per session) and what localStorage holds
// of the session (drafts, the chat outbox, read marks, the last channel and operation)
// is forgotten at logout, when the hub ends the session, and when the app starts to a
// 401: what a session kept may be more than the next one may see. Preferences (language,
// theme, sound) stay.

const DB = "liaison";
const STORE = "kv";
const OUTBOX = "outbox";
const POSTS = "posts";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 3);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
      if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
      if (!db.objectStoreNames.contains(POSTS)) db.createObjectStore(POSTS, { keyPath: "id" });
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

/** Keep (or update) a message with its files until it is published; keyed by its
 *  client_msg_id. The files are the File or Blob objects themselves. */
export function keepPost(user, post) {
  return run("readwrite", (s) => s.put({ ...post, user }), POSTS);
}

/** This user's messages with files not yet published, oldest first. */
export async function keptPosts(user) {
  const all = await run("readonly", (s) => s.getAll(), POSTS).catch(() => []);
  return (all || []).filter((p) => p.user === user).sort((a, b) => a.at - b.at);
}

export function dropPost(id) {
  return run("readwrite", (s) => s.delete(id), POSTS);
}

/** The caches of the service worker that hold a session's answers (sw.js). */
export const DATA_PREFIX = "liaison-data-";
const META = "liaison-meta";
const PREFERENCES = new Set(["liaison.lang", "liaison.theme", "liaison.sound"]);

async function forgetCopies() {
  if (!globalThis.caches) return;
  for (const name of await caches.keys().catch(() => [])) {
    if (name.startsWith(DATA_PREFIX) || name === META) await caches.delete(name).catch(() => undefined);
  }
}

function forgetLocal() {
  const keys = [];
  for (let i = 0; i < localStorage.length; i++) keys.push(localStorage.key(i));
  for (const key of keys) {
    if (key && key.startsWith("liaison.") && !PREFERENCES.has(key)) localStorage.removeItem(key);
  }
}

/** Forget everything this device kept of a session: boards, queued writes, the worker's
 *  copies, drafts, messages with files and the chat outbox (logout, a session the hub ended, a 401 at start). */
export async function forgetAll() {
  forgetLocal();
  await run("readwrite", (s) => s.clear()).catch(() => undefined);
  await run("readwrite", (s) => s.clear(), OUTBOX).catch(() => undefined);
  await run("readwrite", (s) => s.clear(), POSTS).catch(() => undefined);
  await forgetCopies();
  navigator.serviceWorker?.controller?.postMessage({ type: "forget" });
}
