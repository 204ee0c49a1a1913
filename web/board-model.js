// The live board as a client holds it: the same fold and view as alerting/board.py
// (keep the two in step; tests/web checks the browser against the hub).

import { SEVERITIES, SEVERITY_RANK, CASE_STATUSES, OPEN_CASE_STATUSES } from "/vocabulary.js";

export const EVENTS_KEPT = 20;
/** The board's rows: most severe first. */
export const BOARD_SEVERITIES = Object.freeze([...SEVERITIES].reverse());
const OPEN = new Set(OPEN_CASE_STATUSES);

export function fromFrame(f) {
  return {
    operation: f.operation, version: f.version,
    cases: new Map(f.cases.map((r) => [r.id, r])),
    alerts: new Map(f.alerts.map((r) => [r.id, r])),
    events: [...f.events], online: f.online || [],
    translations: new Map(Object.entries(f.translations || {})),
    alertTranslations: new Map(Object.entries(f.alert_translations || {})),
  };
}

/** The board as a frame again (what fromFrame reads), to keep it on the device. */
export function toFrame(b) {
  return { operation: b.operation, version: b.version, cases: [...b.cases.values()],
           alerts: [...b.alerts.values()], events: [...b.events], online: b.online || [],
           translations: Object.fromEntries(b.translations || []),
           alert_translations: Object.fromEntries(b.alertTranslations || []) };
}

/** A case's title as its reader reads it: the kept translation of this version of the
 * case into their language (then also the language it came from, and who corrected it),
 * else as written. */
export function titleOf(board, c) {
  const tr = board.translations?.get(c.id);
  return tr?.version === c.version ? { text: tr.title, from: tr.source, by: tr.reviewed_by } : { text: c.title };
}

function caseRow(r, version) {
  const files = r.files || [], photo = files.findIndex((f) => f.thumbnail);
  return {
    id: r.id, version, title: r.title || "", severity: r.severity || "info",
    status: r.status || "open", category: r.category || "", place: (r.location || {}).place ?? null,
    lat: (r.location || {}).lat ?? null, lon: (r.location || {}).lon ?? null,
    assignees: r.assignees || [], reporting_agency: r.reporting_agency || "",
    updated_at: r.updated_at || 0, created_at: r.created_at || 0, exercise: !!r.exercise,
    marking: markingOf(r.label), real_world: !!r.real_world, files: files.length,
    photo: photo < 0 ? null : photo,
  };
}

/** A record's confidentiality marking ("SECRET REL TO ARMY, POLICE"); "" if it has no
 * label. The same text as hub/labels.py's marking_of. */
export function markingOf(label) {
  if (!label || typeof label !== "object") return "";
  const cats = Object.entries(label.categories || {}).filter(([, v]) => Array.isArray(v))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k} ${[...new Set(v)].sort().join(", ")}`);
  return [String(label.level ?? ""), ...cats].join(" ");
}

// "channel:seq" of the urgent message an alert is about, else null.
function messageRef(r) {
  const labels = r.labels || {};
  return r.source === "message" && "channel_id" in labels ? `${labels.channel_id}:${labels.message}` : null;
}

// Python's round(x, 3): correctly rounded, ties (exact only at sixteenths) to even.
function round3(x) {
  if (Number.isInteger(x * 16) && !Number.isInteger(x * 8)) {
    const f = Math.floor(x * 1000);
    return (f % 2 === 0 ? f : f + 1) / 1000;
  }
  return Number(x.toFixed(3));
}

const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// Per agency: first told, acknowledged when and by whom, and how long it took (as the
// hub's alerting.pipeline.alerts.ledger: the board's rows carry what the API answers).
export function ledger(r) {
  const acks = r.acks || {};
  const told = r.told || {};
  const agencies = [...new Set([...(r.ack_agencies || []), ...Object.keys(acks), ...Object.keys(told)])]
    .sort(byCodePoint);
  return agencies.map((agency) => {
    const ack = acks[agency] || {};
    const at = ack.at ?? null;
    const toldAt = told[agency] ?? null;
    return { agency, told_at: toldAt, acked_at: at, acked_by: ack.by ?? null,
      seconds: at !== null && toldAt !== null ? round3(at - toldAt) : null };
  });
}

function alertRow(r, version) {
  const esc = r.escalation || {};
  const notice = r.last_notice || {};
  return {
    id: r.id, version, summary: r.summary || "", severity: r.severity || "major", state: r.state,
    case_id: r.case_id ?? null, source: r.source ?? null, acked_by: r.acked_by ?? null,
    acked_at: r.acked_at ?? null, step: notice.step ?? null, reminder: notice.reminder ?? 0,
    notified: notice.users || [],
    next_at: esc.next_at ?? null, silenced_by: r.silenced_by ?? null, first_at: r.first_at || 0,
    occurrences: r.occurrences || 1, exercise: !!r.exercise, marking: markingOf(r.label),
    real_world: !!r.real_world,
    pending_agencies: (r.ack_agencies || []).filter((a) => !(a in (r.acks || {}))),
    ledger: ledger(r),
    informed_agencies: r.informed_agencies || [], raised_by: r.raised_by ?? null,
    message_ref: messageRef(r), summary_words: r.summary_words ?? null,
  };
}

// A line of the significant-events log (or null); the text is a message key and values.
export function eventItem(f) {
  const rec = f.record || {};
  const ch = f.changes || {};
  let key = null;
  let values = {};
  if (f.kind === "case") {
    if (f.action === "created") { key = "ev.case_created"; values = { title: rec.title, severity: rec.severity }; }
    else if (ch.severity) { key = "ev.case_severity"; values = { title: rec.title, from: ch.severity[0], to: ch.severity[1] }; }
    else if (ch.status) { key = "ev.case_status"; values = { title: rec.title, status: ch.status[1] }; }
  } else if (f.kind === "alert") {
    if (f.action === "fired") { key = "ev.alert_fired"; values = { summary: rec.summary }; }
    else if (f.action === "acknowledged" || f.action === "resolved") { key = `ev.alert_${f.action}`; values = { summary: rec.summary, actor: f.actor }; }
    else if (f.action === "notified" && (f.notice || {}).step > 0) { key = "ev.alert_escalated"; values = { summary: rec.summary, step: f.notice.step + 1 }; }
  } else if (f.kind === "silence" && f.action === "created") {
    key = "ev.silence"; values = { reason: rec.reason };
  }
  if (!key) return null;
  return { seq: f.seq, ts: f.ts, kind: f.kind, action: f.action, id: f.id, actor: f.actor, key, values, exercise: !!rec.exercise, real_world: !!rec.real_world };
}

// Fold one op_event into the board; returns false if it was already folded in.
export function apply(board, f) {
  if (f.seq <= board.version) return false;
  const table = f.kind === "case" ? board.cases : f.kind === "alert" ? board.alerts : null;
  if (table && f.record) {
    const current = table.get(f.id);
    if (!current || current.version <= f.version) {
      table.set(f.id, f.kind === "case" ? caseRow(f.record, f.version) : alertRow(f.record, f.version));
    }
  }
  const item = eventItem(f);
  if (item) board.events = [...board.events, item].slice(-EVENTS_KEPT);
  board.version = f.seq;
  return true;
}

export function view(board) {
  const cases = [...board.cases.values()];
  const counts = {};
  for (const s of BOARD_SEVERITIES) counts[s] = Object.fromEntries(CASE_STATUSES.map((st) => [st, 0]));
  for (const r of cases) if (counts[r.severity] && r.status in counts[r.severity]) counts[r.severity][r.status] += 1;
  const openCases = cases.filter((r) => OPEN.has(r.status)).sort((a, b) =>
    (SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]) || (a.updated_at - b.updated_at) || (a.id < b.id ? -1 : 1));
  const alerts = [...board.alerts.values()].filter((a) => a.state !== "resolved").sort((a, b) =>
    ((a.state !== "firing") - (b.state !== "firing")) || (SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])
    || (a.first_at - b.first_at) || (a.id < b.id ? -1 : 1));
  return { counts, openCases, alerts, events: board.events, online: board.online };
}
