// The alert stack's model: every active critical or major alert of every operation the
// user is in, that still asks something of them, newest first. Pure (no DOM), so node's
// test runner checks it (tests/js).

import { SEVERITY_RANK } from "./vocabulary.js";

// Severities the stack holds: major and above.
const stacked = (severity) => (SEVERITY_RANK[severity] ?? -1) >= SEVERITY_RANK.major;

// Whether a firing alert still asks something of me: not one my own message raised,
// nor one my agency has already acknowledged where each agency must.
export function forMe(a, me) {
  if (a.raised_by && a.raised_by === me.username) return false;
  return !(a.pending_agencies?.length && !a.pending_agencies.includes(me.agency));
}

// boards: Map operation id -> board (board-model.js); operations: Map id -> operation.
// -> { items: [{ op, alert }] newest first, counts: { critical, major }, byOp: Map id -> n }
export function stackOf(boards, operations, me) {
  const items = [];
  const byOp = new Map();
  for (const [opId, board] of boards) {
    const op = operations.get(opId);
    if (!op || !board) continue;
    for (const a of board.alerts.values()) {
      if (a.state !== "firing" || a.silenced_by || !stacked(a.severity) || !forMe(a, me)) continue;
      items.push({ op, alert: a });
      byOp.set(opId, (byOp.get(opId) || 0) + 1);
    }
  }
  items.sort((x, y) => (y.alert.first_at - x.alert.first_at) || (x.alert.id < y.alert.id ? -1 : 1));
  const counts = { critical: 0, major: 0 };
  for (const { alert } of items) counts[alert.severity] += 1;
  return { items, counts, byOp };
}

// System notifications in a storm: the times alert notifications were shown within the
// last minute, with `now` added, and whether this one is past the first `limit` (then
// one "N alerts need you" is updated instead of another notification).
export function crowded(times, now, limit = 3, window = 60000) {
  const recent = [...times.filter((at) => now - at < window), now];
  return { times: recent, grouped: recent.length > limit };
}
