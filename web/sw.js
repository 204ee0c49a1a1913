// The service worker: the client opens with no network, reload included.
//
// The app shell (every file the first screen loads) is cached at install and kept
// fresh: network first, the cached copy when the network is down; files fetched later
// (the board's map and its outlines) are kept the same way once fetched. A few API
// reads (who am I, the map's settings, my operations, their channels, recent
// messages) are kept too, so the last state shows offline; nothing that writes or
// logs in is ever cached. The board (cases and alerts) is kept by the page itself
// (offline-store.js).
//
// Answers are kept per session: in cache "liaison-data-<session id>", the session
// /api/me last named (remembered in "liaison-meta", as the worker may be stopped at
// any time). A new session's /api/me drops every other session's copies; any 401 from
// the hub drops them all, and so does the page at logout (offline-store.js forgetAll).
// Until /api/me has named the session, nothing is kept.

const SHELL = "liaison-shell-v3";
const DATA_PREFIX = "liaison-data-";
const META = "liaison-meta";
const TILES = "liaison-tiles";   // the map's tiles from the hub's archive: kept across versions
const SESSION_KEY = "/__liaison/session";
const ASSETS = [
  "/", "/style.css", "/favicon.svg", "/app.js", "/protocol.js", "/msgpack.js", "/vocabulary.js",
  "/dom.js", "/i18n.js", "/theme.js", "/board-model.js", "/board-view.js", "/chat.js",
  "/cases.js", "/alerts.js", "/offline-store.js", "/outbox.js", "/mine.js", "/stack.js",
  "/stack-model.js", "/long-list.js", "/notice.js",
];
const KEPT_READS = [
  /^\/api\/me$/, /^\/api\/map$/, /^\/api\/operations$/, /^\/api\/operations\/[^/]+\/channels$/,
  /^\/api\/channels\/[^/]+\/messages$/,
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== SHELL && name !== META && name !== TILES && !name.startsWith(DATA_PREFIX)) await caches.delete(name);   // an older version's
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname === "/ws") return;
  if (url.pathname.startsWith("/api/")) {
    if (KEPT_READS.some((re) => re.test(url.pathname))) event.respondWith(keptRead(request, url));
    else event.respondWith(watched(request));
    return;
  }
  event.respondWith(networkFirst(request, url.pathname.startsWith("/tiles/") ? TILES : SHELL));
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "forget") event.waitUntil(forgetSessions());
});

let session;   // undefined: not read yet; null: none

async function currentSession() {
  if (session === undefined) {
    const kept = await (await caches.open(META)).match(SESSION_KEY);
    session = kept ? await kept.text() : null;
  }
  return session;
}

async function setSession(id) {
  session = id;
  await (await caches.open(META)).put(SESSION_KEY, new Response(id));
  for (const name of await caches.keys()) {
    if (name.startsWith(DATA_PREFIX) && name !== DATA_PREFIX + id) await caches.delete(name);
  }
}

async function forgetSessions() {
  session = null;
  for (const name of await caches.keys()) {
    if (name.startsWith(DATA_PREFIX) || name === META) await caches.delete(name);
  }
}

/** Any other API call: passed through, but a 401 means no session: forget its copies. */
async function watched(request) {
  const response = await fetch(request);
  if (response.status === 401) await forgetSessions();
  return response;
}

// An /api/me being read names the session; a read answered meanwhile waits for it
// before it is kept (else the first reads after the worker takes over, made together,
// would find no session and be lost offline).
let naming = Promise.resolve();

function keptRead(request, url) {
  const answer = readAndKeep(request, url);
  if (url.pathname === "/api/me") naming = answer.then(() => undefined, () => undefined);
  return answer;
}

async function readAndKeep(request, url) {
  let response;
  try {
    response = await fetch(request);
  } catch (err) {
    const id = await currentSession();
    const kept = id ? await (await caches.open(DATA_PREFIX + id)).match(request, { ignoreVary: true }) : undefined;
    if (kept) return kept;
    throw err;
  }
  if (response.status === 401) {
    await forgetSessions();
  } else if (response.ok) {
    if (url.pathname === "/api/me") {
      const me = await response.clone().json().catch(() => null);
      if (me && typeof me.session_id === "string" && me.session_id !== await currentSession()) {
        await setSession(me.session_id);
      }
    } else {
      await naming;
    }
    const id = await currentSession();
    if (id) await (await caches.open(DATA_PREFIX + id)).put(request, response.clone());
  }
  return response;
}

async function networkFirst(request, name) {
  const cache = await caches.open(name);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match(request, { ignoreVary: true })
      || (request.mode === "navigate" ? await cache.match("/", { ignoreVary: true }) : undefined);
    if (kept) return kept;
    throw err;
  }
}

// --- alert notifications ----------------------------------------------------------
// The page asks the worker to show an alert that names its user (app.js notify), so
// the notification stays with the system while the app is in the background, and its
// Acknowledge action acknowledges the *alert* from here, without opening the app. If
// the hub cannot be reached the app comes forward instead (its outbox keeps the ack).

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(handleNotificationClick(event.notification, event.action));
});

async function handleNotificationClick(notification, action) {
  notification.close();
  const { op, alert } = notification.data || {};
  if (action === "ack" && op && alert) {
    try {
      const r = await fetch(`/api/operations/${encodeURIComponent(op)}/alerts/${encodeURIComponent(alert)}/ack`,
        { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: "{}" });
      if (r.ok) return;
    } catch { /* unreachable: bring the app forward */ }
  }
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (windows.length) { await windows[0].focus(); return; }
  await self.clients.openWindow("/");
}
