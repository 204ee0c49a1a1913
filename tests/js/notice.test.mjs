// web/notice.js: the hub's notices worded again in the reader's language.
import { test } from "node:test";
import assert from "node:assert/strict";
import { noticeWording } from "../../web/notice.js";

const EN = {
  "notice.alert": "{severity} alert: {summary}", "notice.reminder": " (reminder {n}, still not acknowledged)",
  "notice.step": " (escalation step {step}, not acknowledged)", "notice.still_to": " Each agency must acknowledge; still to: {agencies}.",
  "notice.ack_one": " Acknowledge it with its button, here or in the Alerts tab.", "notice.group": "{severity}: {n} alerts ({what}): ",
  "notice.new": "{n} new", "notice.escalated": "{n} escalated", "notice.reminded": "{n} still not acknowledged",
  "notice.more": "; and {n} more", "notice.more_people": " and {n} more", "notice.ack_group": " Acknowledge each in the Alerts tab.",
  "sev.critical": "critical",
};
const FR = { ...EN, "notice.alert": "Alerte {severity} : {summary}", "notice.step": " (palier d'escalade {step}, non acquittée)",
  "notice.ack_one": " Acquittez-la avec son bouton, ici ou dans l'onglet Alertes.", "notice.group": "{severity} : {n} alertes ({what}) : ",
  "notice.new": "{n} nouvelles", "notice.escalated": "{n} escaladées", "notice.more": " ; et {n} autres",
  "notice.ack_group": " Acquittez chacune dans l'onglet Alertes.", "sev.critical": "critique",
  "notice.still_to": " Chaque organisation doit acquitter ; reste : {agencies}." };
const i18n = (cat) => ({
  t: (key, values = {}) => (cat[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m)),
  word: (kind, value) => cat[`${kind}.${value}`] ?? value,
});
const alert = { id: "al-1", severity: "critical", summary: "Dam breach is critical", state: "firing", pending_agencies: ["ARMY"] };
const alertOf = (id) => (id === "al-1" ? alert : null);
// As alerting/pipeline/stages.py notice_text and alerting/pipeline/grouping.py group_text write them.
const one = { sender: "hub", client_msg_id: "al-1:1:0",
  text: "[EXERCISE] CRITICAL alert: Dam breach is critical (escalation step 2, not acknowledged) @alice @bruno Each agency must acknowledge; still to: ARMY, POLICE. Acknowledge it with its button, here or in the Alerts tab." };
const group = { sender: "hub", client_msg_id: "group-0123456789abcdef0123-critical-7-5-2-0",
  text: "CRITICAL: 7 alerts (5 new, 2 escalated): House 0 is critical; House 1 (east) is critical; House 2 is critical; and 4 more. @bruno @p1 Acknowledge each in the Alerts tab." };

test("in English, the notice reads as the hub wrote it, with the live agencies still to act", () => {
  assert.equal(noticeWording(one, { alertOf, ...i18n(EN) }), one.text.replace("ARMY, POLICE", "ARMY"));
  assert.equal(noticeWording(group, { alertOf, ...i18n(EN) }), group.text);
});

test("in French, the same notices in French, the alerts' own words kept", () => {
  assert.equal(noticeWording(one, { alertOf, ...i18n(FR) }),
    "[EXERCISE] Alerte CRITIQUE : Dam breach is critical (palier d'escalade 2, non acquittée) @alice @bruno"
    + " Chaque organisation doit acquitter ; reste : ARMY. Acquittez-la avec son bouton, ici ou dans l'onglet Alertes.");
  assert.equal(noticeWording(group, { alertOf, ...i18n(FR) }),
    "CRITIQUE : 7 alertes (5 nouvelles, 2 escaladées) : House 0 is critical; House 1 (east) is critical; House 2 is critical"
    + " ; et 4 autres. @bruno @p1 Acquittez chacune dans l'onglet Alertes.");
});

test("what it cannot word again is shown as written", () => {
  assert.equal(noticeWording({ ...one, client_msg_id: "al-9:0:0" }, { alertOf, ...i18n(FR) }), null);  // unknown alert
  assert.equal(noticeWording({ sender: "bruno", client_msg_id: "x", text: "hi" }, { alertOf, ...i18n(FR) }), null);
  assert.equal(noticeWording({ sender: "hub", client_msg_id: "notice-abc", text: "[SECRET] An alert needs attention." }, { alertOf, ...i18n(FR) }), null);
});

test("one structured notice, worded by the shipped catalogues in English, French and Spanish", async () => {
  const { CATALOGUES } = await import("../../web/i18n.js");
  const fr = (await import("../../web/i18n-fr.js")).default;
  const es = (await import("../../web/i18n-es.js")).default;
  const said = Object.fromEntries([["en", CATALOGUES.en], ["fr", fr], ["es", es]].map(
    ([lang, cat]) => [lang, noticeWording(one, { alertOf, ...i18n(cat) })]));
  assert.equal(said.en, one.text.replace("ARMY, POLICE", "ARMY"));
  assert.match(said.fr, /^\[EXERCISE\] Alerte CRITIQUE : Dam breach is critical/);
  assert.equal(said.es, "[EXERCISE] Alerta (CRÍTICO): Dam breach is critical (escalado, paso 2, sin confirmar) @alice @bruno"
    + " Cada agencia debe confirmarla; faltan: ARMY. Confírmela con su botón, aquí o en la pestaña Alertas.");
  // The same structure each time: the alert's own words, the mentions, the agencies still to act.
  for (const text of Object.values(said)) {
    assert.ok(text.includes("Dam breach is critical") && text.includes("@alice @bruno") && text.includes("ARMY"));
  }
});
