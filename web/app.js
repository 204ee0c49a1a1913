// The browser client: log in, pick an operation, then chat, cases, alerts and the
// live board over one WebSocket (web/protocol.js). Text is only ever set with
// textContent; every visible string comes from web/i18n.js.
import { HubClient, api } from "/protocol.js";
import { $, el, fmtTime } from "/dom.js";
import { t, translatePage, setLanguage, language, LANGUAGES } from "/i18n.js";
import { applyTheme, theme, THEMES } from "/theme.js";
import { fromFrame, apply, toFrame } from "/board-model.js";
import { loadBoard, saveBoard, forgetAll } from "/offline-store.js";
import { WriteQueue } from "/outbox.js";
import { Chat } from "/chat.js";
import { Cases } from "/cases.js";
import { Alerts } from "/alerts.js";
import { Mine } from "/mine.js";
import { AlertStack } from "/stack.js";
import { stackOf, crowded } from "/stack-model.js";

const state = { client: null, me: null, op: null, operations: new Map(), board: null, boards: new Map(), stack: null, chat: null, cases: null, alerts: null, syncedAt: null };
let replayed = null;    // the board at a past moment, while the replay slider is away from "live"
const TABS = ["mine", "chat", "cases", "alerts", "board", "integrations"];
const PHONE = "(max-width: 40rem)";   // where the responder's own view comes first

function setConn(s) {
  $("conn").className = `conn ${s}`;
  $("conn").textContent = t(`conn.${s}`);
  $("conn").dataset.state = s;
  showSynced();
}

// "Last synced": when the board last heard from the hub, shown whenever it is not live.
function showSynced() {
  const live = state.client?.state === "live";
  $("synced").hidden = live || !state.syncedAt;
  if (state.syncedAt) {
    $("synced").textContent = t("sync.last", { time: fmtTime(state.syncedAt / 1000) });
    $("synced").dataset.at = String(state.syncedAt);
  }
}

// How many writes wait on this device for the hub.
function showQueued(n) {
  $("outbox").hidden = !n;
  $("outbox").textContent = t("outbox.waiting", { n });
  $("outbox").dataset.count = String(n);
}

// Keep the board on the device (at most every half second) so it opens offline.
let saveTimer = null;
function boardChanged() {
  state.syncedAt = Date.now();
  showSynced();
  if (saveTimer) return;
  saveTimer = setTimeout(() => {
    saveTimer = null;
    if (state.me && state.op && state.board) saveBoard(state.me.username, state.op.id, toFrame(state.board), state.syncedAt);
  }, 500);
}

function fillPrefs() {
  $("lang").replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) =>
    el("option", { value: code, text: name, selected: code === language() })));
  $("theme").replaceChildren(...THEMES.map((th) => el("option", { value: th, text: t(`theme.${th}`), selected: th === theme() })));
}

function retranslate() {
  if (state.client && state.client.lang !== language()) { state.client.relang(language()); state.chat?.reopen(); }
  translatePage();
  fillPrefs();
  setConn(state.client ? state.client.state : "offline");
  if (state.me) $("whoami").textContent = `${state.me.display_name} (${state.me.agency})`;
  state.chat?.renderChannels();
  state.chat?.renderMessages({ follow: false });
  state.cases?.retranslate();
  state.alerts?.render();
  renderBoardTab();
}

async function boot() {
  applyTheme();
  translatePage();
  fillPrefs();
  setConn("offline");
  // The choice is the person's (their profile, on every device they use), and this one's.
  $("lang").addEventListener("change", () => { setLanguage($("lang").value); if (state.me) api("/api/me/language", { method: "PUT", body: { lang: $("lang").value } }).catch(() => {}); });
  $("theme").addEventListener("change", () => applyTheme($("theme").value));
  document.addEventListener("languagechange", retranslate);
  $("login").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", onLogout);
  $("operations").addEventListener("change", () => openOperation($("operations").value));
  $("notify").addEventListener("click", askNotifications);
  // On a phone the header is one row: language, theme, notifications and the account
  // sit behind this menu button (on a wide screen they are in the row and it is hidden).
  const menu = (open) => {
    $("menu-toggle").setAttribute("aria-expanded", String(open));
    document.querySelector("header").classList.toggle("menu-open", open);
  };
  $("menu-toggle").addEventListener("click", () => menu($("menu-toggle").getAttribute("aria-expanded") !== "true"));
  $("settings").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && $("menu-toggle").getAttribute("aria-expanded") === "true") { menu(false); $("menu-toggle").focus(); }
  });
  $("sound").checked = localStorage.getItem("liaison.sound") === "on";
  $("sound").addEventListener("change", () => localStorage.setItem("liaison.sound", $("sound").checked ? "on" : "off"));
  setupTabs();
  // The service worker keeps the app and the last state for when the network is gone.
  navigator.serviceWorker?.register("/sw.js").catch(() => { /* not on this browser */ });
  navigator.serviceWorker?.addEventListener("controllerchange", warmOfflineCopies);
  try {
    const me = await api("/api/me");
    await start(me.user);
  } catch (err) {
    // 401: the session is over (logged out elsewhere, a password change, an expiry), so
    // nothing it kept on this device stays. (No network: kept copies answered instead.)
    if (err.status === 401) await forgetAll();
    $("login").hidden = false;
  }
}

// The first time the service worker takes over, read through it what the page read
// before it was there, so a reload without network finds it: /api/me first (it names
// the session the worker keeps the others for).
async function warmOfflineCopies() {
  if (!state.me || !navigator.serviceWorker?.controller) return;
  await fetch("/api/me", { credentials: "same-origin" }).catch(() => undefined);
  const reads = ["/api/operations", "/api/map"];
  if (state.op) reads.push(`/api/operations/${encodeURIComponent(state.op.id)}/channels`);
  if (state.chat?.current) reads.push(state.chat.historyPath(state.chat.current.id));
  for (const path of reads) fetch(path, { credentials: "same-origin" }).catch(() => {});
}

// --- login -------------------------------------------------------------------------

async function onLogin(ev) {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = { username: form.get("username"), password: form.get("password") };
  if (form.get("totp")) body.totp = form.get("totp");
  $("login-error").textContent = "";
  try {
    const res = await api("/api/auth/login", { body });
    ev.target.reset();
    // Through the service worker: it keeps this session's answers from now on.
    await fetch("/api/me", { credentials: "same-origin" }).catch(() => undefined);
    await start(res.user);
  } catch (err) {
    if (err.code === "totp_required") {
      $("totp-row").hidden = false;
      $("login-error").textContent = t("auth.totp_needed");
      ev.target.elements.totp.focus();
      return;
    }
    $("login-error").textContent = err.status === 429 ? t("auth.throttled") : t("auth.failed");
  }
}

async function onLogout() {
  try { await api("/api/auth/logout", { body: {} }); } catch { /* already gone */ }
  await forgetAll();   // nothing of this session stays on the device
  location.reload();
}

// --- notifications -------------------------------------------------------------------

function askNotifications() {
  if (!("Notification" in window)) return;
  Notification.requestPermission().then(() => { $("notify").hidden = Notification.permission !== "default"; });
}

let audio = null;
function beep() {
  if ($("sound").checked !== true) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch { /* no audio: the banner and the notification remain */ }
}

// In a storm the system notifications are grouped too: past STORM alert notifications
// within a minute, one notification "N alerts need you" is updated silently instead.
const STORM = 3;
let toldAt = [];

async function notify(kind, title, body, about = null) {
  if (kind !== "mention") beep();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;   // on screen already
  const options = { body, tag: about?.alert ? `alert:${about.alert}` : `${kind}:${title}`, data: about || {} };
  const worker = await navigator.serviceWorker?.getRegistration?.().catch(() => null);
  const now = Date.now();
  if (about?.alert) {
    const row = state.boards.get(about.op)?.alerts.get(about.alert);
    if (row && row.state !== "firing") return;   // acknowledged while this was on its way
    const seen = crowded(toldAt, now, STORM);
    toldAt = seen.times;
    if (seen.grouped && worker) {
      const n = stackOf(state.boards, state.operations, state.me).items.length || toldAt.length;
      await worker.showNotification(t("alert.notify_many", { n }), { body, tag: "alerts:many",
        data: { op: about.op }, renotify: false }).catch(() => {});
      return;
    }
  }
  if (worker) {
    // Through the service worker: it stays with the system, and Acknowledge works from it.
    if (about?.alert) {
      options.renotify = true;
      options.requireInteraction = !!about.critical;
      if (state.me?.canPost) options.actions = [{ action: "ack", title: t("alert.ack") }];
    }
    await worker.showNotification(title, options).catch(() => {});
    return;
  }
  try { new Notification(title, { body, tag: options.tag }); } catch { /* not allowed here */ }
}

// An alert no longer firing: its system notification goes (acknowledged anywhere).
async function withdraw(alertId) {
  const worker = await navigator.serviceWorker?.getRegistration?.().catch(() => null);
  const shown = await worker?.getNotifications?.({ tag: `alert:${alertId}` }).catch(() => []);
  for (const n of shown || []) n.close();
}

// --- the session ---------------------------------------------------------------------

async function start(user) {
  // A device that never chose a language reads in its person's.
  if (user.lang && LANGUAGES[user.lang] && !localStorage.getItem("liaison.lang")) await setLanguage(user.lang);
  state.me = { ...user, canPost: false,
    canPostIn: (op) => op.role === "coordinator" || op.role === "member" || (user.is_admin && !op.role) };
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  $("op-picker").hidden = false;
  $("sound-row").hidden = false;
  $("notify").hidden = !("Notification" in window) || Notification.permission !== "default";
  $("whoami").textContent = `${user.display_name} (${user.agency})`;
  const client = new HubClient({ outboxKey: `liaison.outbox.${user.username}`, lang: language() });
  state.client = client;
  const queue = new WriteQueue(user.username);   // case and alert writes made offline
  state.queue = queue;
  queue.addEventListener("changed", (e) => { showQueued(e.detail.queued); state.alerts?.syncWaiting(); });
  queue.addEventListener("rejected", (e) => {
    $("session-msg").textContent = t("outbox.rejected", { label: e.detail.item.label, reason: e.detail.error.message });
    $("session-msg").hidden = false;
  });
  globalThis.addEventListener("online", () => queue.drain());
  queue.list().then((items) => { showQueued(items.length); if (items.length) queue.drain(); });
  client.addEventListener("state", (e) => {
    setConn(e.detail.state);
    if (e.detail.state === "live") queue.drain();   // the hub is reachable again
    if (e.detail.state === "ended") {
      // The hub ended the session: what this page shows and kept may be more than the
      // next session may see (a lowered clearance), so all of it goes, unsent writes too
      // (the hub would refuse them from this session).
      $("app").hidden = true;
      state.board = null;
      state.boards.clear();
      forgetAll();
      $("session-msg").textContent = t("auth.session_ended");
      $("session-msg").hidden = false;
    }
  });
  client.addEventListener("hub-error", (e) => {
    if (e.detail.ref && String(e.detail.ref).startsWith("ack:")) return;
    $("chat-error").textContent = `${e.detail.code}: ${e.detail.reason}`;
  });
  // Every operation's board is kept live (the alert stack covers them all); the current
  // operation's is state.board, which the screens show.
  client.addEventListener("board", (e) => {
    const board = fromFrame(e.detail);
    state.boards.set(e.detail.operation, board);
    renderStack();
    if (!state.op || e.detail.operation !== state.op.id) return;
    state.board = board;
    boardChanged();
    refreshAll();
  });
  // Each event is applied to its board at once; the screens are drawn at most once a
  // frame, so a storm of a thousand alerts costs a few draws, not a thousand.
  client.addEventListener("op_event", (e) => {
    const f = e.detail;
    if (f.kind === "alert" && f.record?.state && f.record.state !== "firing") withdraw(f.id);
    const other = state.boards.get(f.feed.slice(4));
    if (other && other !== state.board) {
      apply(other, f);
      if (f.kind === "alert") drawSoon();
      return;
    }
    if (!state.op || !state.board || f.feed !== `ops:${state.op.id}`) return;
    apply(state.board, f);
    boardChanged();
    state.cases.onEvent(f);
    state.alerts.onEvent(f);
    drawSoon();
  });
  // A case or an alert of a board now reads in this reader's language (on every screen).
  client.addEventListener("translated", (e) => {
    const f = e.detail, b = (f.case || f.alert) && state.boards.get(f.channel.slice(4));
    if (!b) return;
    if (f.case) b.translations.set(f.case, f.translation);
    else b.alertTranslations.set(f.alert, f.translation);
    if (b === state.board) { boardChanged(); drawSoon(); }
  });
  client.addEventListener("presence", () => refreshOnline());
  state.chat = new Chat({ client, me: state.me, notify, show: (tab) => selectTab(tab),
    inExercise: () => !!state.op?.exercise, alerts: {
    get: (id) => state.board?.alerts.get(id) ?? null,
    // The alert tracking an urgent message every agency must acknowledge, if any.
    forMessage: (channel, seq) => [...(state.board?.alerts.values() || [])]
      .find((a) => a.message_ref === `${channel}:${seq}`) ?? null,
    ack: (id) => state.alerts.act({ id }, "ack"),
  } });
  state.cases = new Cases({ me: state.me, getBoard: () => state.board, queue });
  state.alerts = new Alerts({ me: state.me, getBoard: () => state.board, notify, queue,
                              changed: () => { renderStack(); state.mine?.render(); } });
  state.alerts.syncWaiting();
  state.stack = new AlertStack({ me: state.me, act: (opId, a) => state.alerts.act(a, "ack", opId),
    waiting: () => state.alerts.waiting,
    open: (opId) => { $("operations").value = opId; openOperation(opId); } });
  state.mine = new Mine({ me: state.me, getBoard: () => state.board, alerts: state.alerts,
                          cases: state.cases, show: (tab) => selectTab(tab) });
  if (globalThis.matchMedia?.(PHONE).matches) selectTab("mine");
  client.connect();
  const { operations } = await api("/api/operations");
  state.operations = new Map(operations.map((op) => [op.id, op]));
  $("operations").replaceChildren(...operations.map((op) => el("option", { value: op.id, text: `${op.code} — ${op.name}` })));
  for (const op of operations) client.subscribeBoard(op.id);   // every one, for the stack
  // A link from the wall display (#op=<id>&case=<id>) opens that case; else the last operation.
  const asked = new URLSearchParams(location.hash.slice(1));
  const saved = asked.get("op") || await withMyAlerts(operations, localStorage.getItem("liaison.operation"));
  const first = operations.find((op) => op.id === saved) || operations[0];
  if (first) { $("operations").value = first.id; await openOperation(first.id); }
  if (first && first.id === asked.get("op") && asked.get("case")) openCase(asked.get("case"));
}

// The operation to open: the last one used if it has alerts for me (or none has), else
// the one with my newest active critical or major alert (a new device lands where the
// user is needed, not on the alphabetically first operation).
async function withMyAlerts(operations, last) {
  if (operations.length < 2) return last;
  const boards = new Map(await Promise.all(operations.map(async (op) => {
    try {
      const { alerts } = await api(`/api/operations/${encodeURIComponent(op.id)}/alerts?state=firing`);
      return [op.id, { alerts: new Map(alerts.map((a) => [a.id, a])) }];
    } catch { return [op.id, null]; }
  })));
  const { items, byOp } = stackOf(boards, state.operations, state.me);
  if (!items.length || byOp.has(last)) return last;
  return items[0].op.id;
}

function openCase(id) {
  selectTab("cases");
  state.cases.openDetail(id);
}

async function openOperation(opId) {
  const op = state.operations.get(opId);
  state.op = op;
  state.board = state.boards.get(op.id) || null;   // live already, or on its way
  replayed = null;                 // a new operation's board starts live
  $("replay-at").value = "1000";
  updateMap = null;                // a new operation's map fits its own cases
  localStorage.setItem("liaison.operation", op.id);
  state.me.canPost = op.role === "coordinator" || op.role === "member" || (state.me.is_admin && !op.role);
  state.me.canManage = op.role === "coordinator";
  $("classification").textContent = op.classification;
  $("classification").hidden = !op.classification;
  $("classification").style.background = op.colour || "";   // the label policy's colour
  $("exercise-banner").hidden = !op.exercise;
  $("board-link").href = `/board.html?op=${encodeURIComponent(op.id)}`;
  $("composer").hidden = !state.me.canPost;
  $("observer-hint").hidden = state.me.canPost || op.role !== "observer";
  $("new-case").hidden = !state.me.canPost;
  $("tab-integrations").hidden = !state.me.canManage;
  if (!state.me.canManage && !$("panel-integrations").hidden) selectTab("chat");
  else if (!$("panel-integrations").hidden) showIntegrations();
  if (!state.client.boards.has(`ops:${op.id}`)) state.client.subscribeBoard(op.id);
  if (state.board) refreshAll();
  const kept = await loadBoard(state.me.username, op.id);   // the last board, until the hub answers
  if (kept && !state.board && state.op === op) {
    state.board = fromFrame(kept.frame);
    state.boards.set(op.id, state.board);
    state.syncedAt = kept.savedAt;
    showSynced();
    refreshAll();
  }
  state.cases.setOperation(op);
  state.alerts.setOperation(op);
  await state.chat.setOperation(op);
  warmOfflineCopies();
}

function renderStack() {
  if (state.stack && state.operations) state.stack.render(state.boards, state.operations, state.op);
}

let drawing = 0;
function drawSoon() {
  drawing ||= requestAnimationFrame(() => { drawing = 0; renderStack(); refreshAll(); });
}

function refreshAll() {
  state.cases.renderList();
  state.alerts.render();
  state.mine.render();
  state.chat.refreshAlert(null);
  renderBoardTab();
}

let updateMap = null;   // the board's map, made the first time the board tab shows
let boardView = null;   // board-view.js, fetched the first time the board tab shows
function renderBoardTab() {
  if (!state.board && !replayed || $("panel-board").hidden) return;
  boardView ||= import("/board-view.js");
  boardView.then(({ renderBoard, mapOf }) => {
    const board = replayed || state.board;   // as it is once the module is here
    if (!board || $("panel-board").hidden) return;
    renderBoard($("board"), board, replayed ? { now: replayed.at } : {});
    updateMap ||= mapOf($("map-host"), (c) => openCase(c.id));
    updateMap(board);
  });
}

// After-action review: the slider runs from the operation's start to now; away from its
// end, the board shows the operation as it stood then (read-only, from its log).
let replayTimer = null;
function replayMoment() {
  const start = state.op?.created_at || 0;
  const end = Date.now() / 1000;
  return start + (end - start) * Number($("replay-at").value) / 1000;
}
function showLive() {
  replayed = null;
  $("replay-at").value = "1000";
  $("replay-when").textContent = t("replay.live");
  $("replay-live").hidden = true;
  renderBoardTab();
}
$("replay-at").addEventListener("input", () => {
  if ($("replay-at").value === "1000") { showLive(); return; }
  const at = replayMoment();
  $("replay-when").textContent = fmtTime(at, { seconds: true });
  clearTimeout(replayTimer);
  replayTimer = setTimeout(async () => {
    try {
      const past = await api(`/api/operations/${encodeURIComponent(state.op.id)}/board?at=${at.toFixed(3)}`);
      if ($("replay-at").value === "1000") return;
      replayed = { ...fromFrame({ ...past, online: [] }), at };
      $("replay-live").hidden = false;
      renderBoardTab();
    } catch (err) { $("replay-when").textContent = err.message; }
  }, 250);
});
$("replay-live").addEventListener("click", showLive);

let onlineTimer = null;
// Who is online in the operation (for the board): after presence changes, at most every 2 s.
function refreshOnline() {
  if (onlineTimer) return;
  onlineTimer = setTimeout(async () => {
    onlineTimer = null;
    if (!state.op || !state.board) return;
    try {
      const { online } = await api(`/api/operations/${encodeURIComponent(state.op.id)}/presence`);
      state.board.online = online;
      renderBoardTab();
    } catch { /* the connection indicator says what is wrong */ }
  }, 2000);
}

setInterval(() => { renderBoardTab(); refreshOnline(); }, 15000);   // staleness moves on

// --- tabs (arrow keys move between them, as WAI-ARIA tabs do) -------------------------

function selectTab(name, focus = false) {
  for (const n of TABS) {
    const tab = $(`tab-${n}`);
    const on = n === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${n}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  $("app").dataset.tab = name;   // a phone shows the channel row with the chat only
  if (name === "board") renderBoardTab();
  if (name === "cases") state.cases?.renderList();
  if (name === "integrations") showIntegrations();
  if (name === "alerts") { state.alerts?.render(); state.alerts?.loadSilences(); }
  if (name === "mine") state.mine?.render();
  if (name === "chat" && state.chat?.current) state.chat.renderMessages();
}

function setupTabs() {
  for (const n of TABS) {
    const tab = $(`tab-${n}`);
    tab.addEventListener("click", () => selectTab(n));
    tab.addEventListener("keydown", (ev) => {
      const shown = TABS.filter((t) => !$(`tab-${t}`).hidden);
      const i = shown.indexOf(n);
      if (ev.key === "ArrowRight") selectTab(shown[(i + 1) % shown.length], true);
      else if (ev.key === "ArrowLeft") selectTab(shown[(i + shown.length - 1) % shown.length], true);
      else return;
      ev.preventDefault();
    });
  }
}

// Integrations (coordinators): its own module, fetched the first time the tab opens.
let integrations = null;
async function showIntegrations() {
  if (!state.op) return;
  integrations ||= import("/integrations.js").then((m) => new m.Integrations());
  (await integrations).show(state.op);
}

boot();
