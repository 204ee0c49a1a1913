// The full-screen situation board for a wall display: /board.html?op=<operation id>.
// A snapshot on (re)connect, then live deltas; staleness ticks every 15 s.
import { HubClient, api } from "/protocol.js";
import { fromFrame, apply, titleOf } from "/board-model.js";
import { renderBoard, mapOf } from "/board-view.js";
import { t, word, ago, translatePage } from "/i18n.js";
import { applyTheme } from "/theme.js";
import { clock } from "/dom.js";

const $ = (id) => document.getElementById(id);
let board = null;
let scheduled = false;
let opId = null;
let updateMap = null;
let shown = null;      // the case whose card is open beside the map

function render() {
  scheduled = false;
  if (board) {
    renderBoard($("board"), board);
    updateMap ||= mapOf($("map-host"), (c) => showCase(c.id));
    updateMap(board);
    if (shown) showCase(shown);
  }
  $("clock").textContent = clock();
}

// A marker's case, as the board knows it, in a card beside the map (kept live); the
// link opens it in the main client.
function showCase(id) {
  const c = board?.cases.get(id);
  const card = $("map-case");
  if (!c) { shown = null; card.hidden = true; return; }
  const opened = shown !== id;
  shown = id;
  $("map-case-title").textContent = titleOf(board, c).text;
  $("map-case-meta").textContent = t("map.case_meta", {
    severity: word("sev", c.severity), status: word("status", c.status),
    place: c.place ? `${c.place} · ` : "", ago: ago(Date.now() / 1000 - c.updated_at) });
  $("map-case-open").href = `/#op=${encodeURIComponent(opId)}&case=${encodeURIComponent(id)}`;
  // Its first photo, as a thumbnail (the board row says which file it is, if any).
  const photo = $("map-case-photo");
  photo.hidden = c.photo == null;
  if (c.photo != null) {
    photo.src = `/api/operations/${encodeURIComponent(opId)}/cases/${encodeURIComponent(id)}/files/${c.photo}?variant=thumbnail`;
    photo.alt = c.title;
  }
  card.className = `map-case sev-${c.severity}`;
  card.hidden = false;
  if (opened) $("map-case-close").focus();
}

function schedule() {
  if (!scheduled) { scheduled = true; requestAnimationFrame(render); }
}

function fail(key) {
  const msg = $("board-message");
  msg.textContent = t(key);
  msg.hidden = false;
}

async function refreshOnline(opId) {
  try {
    const { online } = await api(`/api/operations/${encodeURIComponent(opId)}/presence`);
    if (board) { board.online = online; schedule(); }
  } catch { /* shown as offline by the connection indicator */ }
}

async function boot() {
  applyTheme();
  translatePage();
  $("fullscreen").addEventListener("click", () => document.documentElement.requestFullscreen?.());
  opId = new URLSearchParams(location.search).get("op");
  $("map-case-close").addEventListener("click", () => { shown = null; $("map-case").hidden = true; });
  try { await api("/api/me"); } catch { fail("board.login"); return; }
  let op;
  try { op = await api(`/api/operations/${encodeURIComponent(opId || "-")}`); } catch { fail("board.unknown_op"); return; }
  $("op-name").textContent = `${op.code} — ${op.name}`;
  if (op.classification) {
    $("classification").textContent = op.classification;
    $("classification").style.background = op.colour || "";  // the label policy's colour
    $("classification").hidden = false;
  }
  const client = new HubClient();
  client.addEventListener("state", (e) => {
    const s = e.detail.state;
    $("conn").className = `conn ${s}`;
    $("conn").textContent = t(`conn.${s}`);
  });
  client.addEventListener("board", (e) => {
    board = fromFrame(e.detail);
    schedule();
  });
  client.addEventListener("op_event", (e) => {
    if (board && e.detail.feed === `ops:${op.id}` && apply(board, e.detail)) schedule();
  });
  client.addEventListener("translated", (e) => {
    const f = e.detail;
    if (!board || f.channel !== `ops:${op.id}`) return;
    if (f.case) board.translations.set(f.case, f.translation);
    else if (f.alert) board.alertTranslations.set(f.alert, f.translation);
    else return;
    schedule();
  });
  document.addEventListener("languagechange", () => { translatePage(); schedule(); });
  client.subscribeBoard(op.id);
  client.connect();
  setInterval(() => { schedule(); }, 15000);
  setInterval(() => refreshOnline(op.id), 15000);
  refreshOnline(op.id);
}

boot();
