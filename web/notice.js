// The hub's notices in the reader's language (issue 25, item 6). The hub stores each
// notice in English; what it is about travels with it: an alert notice's client_msg_id
// names the alert, its step and reminder (the alert's live state is on the board), a
// group notice's the severity and its counts. From those the client words it again in
// the reader's language; the English text stays the fallback. Pure: t and word are
// passed in, so node's test runner checks it (tests/js).

const TAIL_ONE = / Acknowledge it with its button, here or in the Alerts tab\.$/;
const TAIL_GROUP = / Acknowledge each in the Alerts tab\.$/;
const STILL_TO = / Each agency must acknowledge; still to: [^.]*\.$/;
const MENTIONS = /((?: @[\w.-]+)+)(?: and (\d+) more)?$/;
const MARKING = /^\[([^\]]+)\] /;

function mentionsOf(text) {
  const found = MENTIONS.exec(text);
  return found ? { names: found[1].trim().split(/\s+/), more: Number(found[2] || 0), rest: text.slice(0, found.index) }
    : { names: [], more: 0, rest: text };
}

function mentionText(m, t) {
  if (!m.names.length) return "";
  return ` ${m.names.join(" ")}${m.more ? t("notice.more_people", { n: m.more }) : ""}`;
}

/** The notice `m` in the reader's language, or null (show m.text). `alertOf(id)` gives the
 *  alert's board row; `t(key, values)` and `word(kind, value)` are i18n.js's. */
export function noticeWording(m, { alertOf, t, word, summaryOf = (a) => a.summary }) {
  if (m.sender !== "hub" || typeof m.client_msg_id !== "string") return null;
  const marking = MARKING.exec(m.text);
  const head = marking ? `[${marking[1]}] ` : "";
  const one = /^(al-[^:]+):(\d+):(\d+)$/.exec(m.client_msg_id);
  if (one && TAIL_ONE.test(m.text)) {
    const a = alertOf(one[1]);
    if (!a) return null;
    const [step, reminder] = [Number(one[2]), Number(one[3])];
    const who = mentionsOf(m.text.replace(TAIL_ONE, "").replace(STILL_TO, ""));
    const pending = a.state === "firing" ? a.pending_agencies || [] : [];
    return head + t("notice.alert", { severity: word("sev", a.severity).toUpperCase(), summary: summaryOf(a) })
      + (reminder ? t("notice.reminder", { n: reminder }) : step ? t("notice.step", { step: step + 1 }) : "")
      + mentionText(who, t)
      + (pending.length ? t("notice.still_to", { agencies: pending.join(", ") }) : "")
      + t("notice.ack_one");
  }
  const group = /^group-[0-9a-f]+-(\w+)-(\d+)-(\d+)-(\d+)-(\d+)$/.exec(m.client_msg_id);
  if (group && TAIL_GROUP.test(m.text)) {
    const [severity, n, fresh, escalated, reminded] = [group[1], ...group.slice(2).map(Number)];
    const who = mentionsOf(m.text.replace(TAIL_GROUP, ""));
    const body = who.rest.replace(/\.$/, "");
    const start = body.indexOf("): ");
    if (start < 0) return null;
    const moreOf = /; and (\d+) more$/.exec(body);
    const listed = body.slice(start + 3, moreOf ? moreOf.index : undefined);
    const what = [[fresh, "notice.new"], [escalated, "notice.escalated"], [reminded, "notice.reminded"]]
      .filter(([k]) => k).map(([k, key]) => t(key, { n: k })).join(", ");
    return head + t("notice.group", { severity: word("sev", severity).toUpperCase(), n, what }) + listed
      + (moreOf ? t("notice.more", { n: Number(moreOf[1]) }) : "") + "."
      + mentionText(who, t) + t("notice.ack_group");
  }
  return null;
}
