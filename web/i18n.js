// Every string the client shows, in English here and in each other language in
// i18n-<code>.js (fr, es; fetched only when chosen). t("key", {values}) looks a key up in
// the chosen language; the choice is kept in localStorage.
// Add a key to EVERY catalogue: tests/web checks that each covers the English one.

export const CATALOGUES = {
  en: {
    "app.title": "Liaison Hub",
    "conn.live": "live", "conn.connecting": "connecting", "conn.reconnecting": "reconnecting",
    "conn.offline": "offline", "conn.ended": "session ended",
    "lang.label": "Language", "theme.label": "Theme", "theme.light": "light", "theme.dark": "dark",
    "theme.auto": "system",
    "sev.critical": "critical", "sev.major": "major", "sev.minor": "minor", "sev.info": "info",
    "status.open": "open", "status.in_progress": "in progress", "status.resolved": "resolved",
    "status.closed": "closed",
    "alert.firing": "firing", "alert.acknowledged": "acknowledged", "alert.resolved": "resolved",
    "board.title": "Situation board", "board.counts": "Cases by severity and status",
    "board.severity": "Severity", "board.open_cases": "Open cases, most urgent first",
    "board.alerts": "Active alerts", "board.online": "Online", "board.events": "Latest events",
    "board.none": "Nothing here.", "board.updated": "updated {ago} ago",
    "board.stale": "no update for {ago}", "board.step": "escalation step {step}",
    "board.reminder": "reminder {n}", "board.acked_by": "acknowledged by {user}",
    "board.silenced": "silenced", "board.exercise": "EXERCISE", "board.version": "version {v}",
    "board.real_world": "REAL WORLD", "banner.exercise": "EXERCISE",
    "board.pending": "to acknowledge: {agencies}",
    "board.agency_acked": "{agency} acknowledged by {user} at {time}", "board.informed": "informed: {agencies}",
    "stack.label": "Active alerts", "stack.critical": "{n} critical", "stack.major": "{n} major",
    "stack.more": "+{n} more", "stack.less": "Show fewer", "stack.op_badge": "{n} active",
    "stack.elsewhere": "{n} in other operations",
    "case.real_world": "REAL WORLD: a real event during an exercise",
    "board.login": "Log in to see the board.", "board.fullscreen": "Full screen",
    "board.unknown_op": "No such operation, or it is not yours.",
    "board.occurrences": "×{n}",
    "ev.case_created": "new {severity} case: {title}",
    "ev.case_severity": "{title}: severity {from} → {to}",
    "ev.case_status": "{title}: {status}",
    "ev.alert_fired": "alert: {summary}",
    "ev.alert_acknowledged": "alert acknowledged by {actor}: {summary}",
    "ev.alert_resolved": "alert resolved by {actor}: {summary}",
    "ev.alert_escalated": "alert escalated (step {step}): {summary}",
    "ev.silence": "silence: {reason}",
    "time.s": "{n} s", "time.m": "{n} min", "time.h": "{n} h", "time.d": "{n} d",
    "app.skip": "Skip to content", "op.label": "Operation",
    "notify.enable": "Enable notifications", "menu.label": "Settings", "notify.sound": "Sound for critical alerts",
    "auth.title": "Log in", "auth.username": "Username", "auth.password": "Password",
    "auth.totp": "Code from your authenticator app", "auth.submit": "Log in", "auth.logout": "Log out",
    "auth.failed": "Wrong username or password.", "auth.throttled": "Too many attempts: wait a few minutes and try again.",
    "auth.totp_needed": "Enter the code from your authenticator app.",
    "auth.session_ended": "Your session has ended. Reload the page and log in again; unsent messages are kept.",
    "tab.label": "Views", "tab.chat": "Chat", "tab.cases": "Cases", "tab.alerts": "Alerts", "tab.board": "Board",
    "chat.channels": "Channels", "chat.online": "Online in this channel", "chat.older": "Load older messages",
    "chat.priority": "Priority", "chat.placeholder": "Message (@name or @AGENCY to mention)", "chat.send": "Send",
    "chat.restricted": "restricted", "chat.unread": "unread messages", "chat.mentions": "mentions of you",
    "chat.typing": "{name} is typing…", "chat.queued": "queued: will be sent when back online",
    "chat.sending": "sending…", "chat.attach": "Attach files", "chat.original": "send original",
    "chat.mt": "machine translated from {lang}", "chat.mt_reviewed": "translated from {lang}, reviewed by {name}", "chat.mt_original": "show original", "chat.mt_correct": "correct", "chat.mt_translation": "show translation",
    "chat.mt_wait": "translating…", "chat.mt_down": "translation unavailable: the original is shown", "chat.mt_missing": "no agreed translation of {terms}, kept as written",
    "chat.redact": "Remove", "chat.redact_why": "Reason (audited)", "chat.redacted": "Removed by {name}", "chat.rejected": "Not sent (\u201c{text}\u201d): {reason}",
    "chat.acknowledge": "Acknowledge", "chat.acked_by": "acknowledged by {names}",
    "chat.reply": "Reply", "chat.reply_to": "↪ reply to #{seq} {text}",
    "chat.replying": "Replying to #{seq} ({name})",
    "chat.not_acked": "not acknowledged yet",
    "yes": "yes", "no": "no", "sync.last": "last synced {time}",
    "tab.mine": "For me", "mine.alerts": "Alerts for me", "mine.cases": "My cases",
    "mine.report": "Report a case", "mine.no_alerts": "No alert for you right now.",
    "mine.no_cases": "No case assigned to you.", "case.locate": "Use my location",
    "case.locating": "Finding your location…", "case.no_location": "Location unavailable: enter it by hand.",
    "outbox.queued": "Kept on this device: it will be sent as soon as the hub can be reached.",
    "outbox.waiting": "{n} waiting to send", "outbox.rejected": "Not sent: {label} ({reason})", "chat.empty": "No messages yet.",
    "chat.observer_hint": "You are an observer in this operation: you can read everything here but not post.",
    "list.more": "Show more ({shown} of {total} shown)", "notice.alert": "{severity} alert: {summary}", "notice.reminder": " (reminder {n}, still not acknowledged)", "notice.step": " (escalation step {step}, not acknowledged)", "notice.still_to": " Each agency must acknowledge; still to: {agencies}.", "notice.ack_one": " Acknowledge it with its button, here or in the Alerts tab.", "notice.group": "{severity}: {n} alerts ({what}): ", "notice.new": "{n} new", "notice.escalated": "{n} escalated", "notice.reminded": "{n} still not acknowledged", "notice.more": "; and {n} more", "notice.more_people": " and {n} more", "notice.ack_group": " Acknowledge each in the Alerts tab.",
    "alert.urgent_summary": "Urgent message in #{channel} from {sender} ({agency}): {text}", "chat.group_open": "Show them in the Alerts tab", "chat.alert_firing": "Alert not acknowledged yet",
    "chat.alert_silenced": "Alert silenced, not acknowledged",
    "chat.alert_acked": "Alert acknowledged by {user}", "chat.alert_resolved": "Alert resolved",
    "chat.alert_unknown": "Alert state not loaded yet",
    "prio.normal": "normal", "prio.high": "high", "prio.urgent": "urgent — ask for acknowledgement",
    "prio.urgent_each": "urgent — every agency must acknowledge",
    "msg.high": "HIGH", "msg.urgent": "URGENT",
    "case.new": "New case", "case.show": "Show", "case.show_open": "open cases, most urgent first",
    "case.show_all": "all cases, latest first", "case.title": "Title", "case.description": "Description",
    "case.category": "Category", "case.severity": "Severity", "case.status": "Status", "case.place": "Place",
    "case.lat": "Latitude", "case.lon": "Longitude", "case.location": "Location", "case.assignees": "Assignees",
    "case.assignees_hint": "usernames, separated by commas", "case.casualties": "Casualties",
    "case.people_affected": "People affected", "case.exercise": "Exercise (not a real event)", "case.marking": "Marking",
    "case.save": "Save", "case.cancel": "Cancel", "case.back": "Back to the list", "case.timeline": "Timeline",
    "case.comment": "Comment", "case.comment_placeholder": "Add a comment", "case.edit": "Edit",
    "case.loading": "Loading the case…",
    "case.not_offline": "This case is not kept on this device: it opens once the hub is reachable again.",
    "case.assign_me": "Assign to me", "case.close": "Close the case", "case.fields": "Figures",
    "case.reported": "Reported", "case.updated": "Last update", "case.title_field": "Title",
    "case.conflict": "{actor} changed this case while you were editing. Their version is now the current one: check your changes and save again.",
    "case.changed_meanwhile": "{actor} just changed this case.",
    "case.tl.created": "created", "case.tl.updated": "updated", "case.tl.assigned": "assigned",
    "case.tl.commented": "comment", "case.tl.closed": "closed",
    "case.tl.alert_fired": "alert raised: {summary}", "case.tl.alert_repeated": "alert repeated: {summary}",
    "case.tl.alert_notified": "alert notified: {summary}", "case.tl.alert_silenced": "alert silenced: {summary}",
    "case.tl.alert_unsilenced": "alert no longer silenced: {summary}",
    "case.tl.alert_agencies": "agencies to acknowledge changed: {summary}",
    "case.tl.alert_acknowledged": "alert acknowledged: {summary}", "case.tl.alert_resolved": "alert resolved: {summary}",
    "cat.incident": "incident", "cat.request": "request", "cat.complaint": "complaint", "cat.casualty": "casualty",
    "cat.detention": "detention", "cat.other": "other",
    "alert.notify_many": "{n} alerts need you", "alert.ack": "Acknowledge", "alert.resolve": "Resolve", "alert.silence": "Silence",
    "alert.silence_reason": "Reason for the silence", "alert.silence_for": "Silence for",
    "alert.silences": "Silences", "alert.resolved_recent": "Recently resolved", "alert.end_silence": "End now",
    "alert.rules_attention": "Rules that need attention",
    "alert.rule_failing": "failing ({n} errors, the other rules keep firing): {error}",
    "alert.rule_invalid": "not evaluated, fix and save it again: {error}",
    "alert.until": "until {time}", "alert.silence_of": "the alert “{summary}”", "alert.until_resolved": "until the alert is resolved",
    "alert.ack_waiting": "acknowledgement waiting to send", "alert.critical_now": "Critical alert", "alert.notify_title": "New {severity} alert",
    "alert.notify_you": "Alert for you (step {step})",
    "board.open_wall": "Open the full-screen board for a wall display",
    "replay.label": "Board at", "replay.live": "live", "replay.back": "Back to live",
    "tab.integrations": "Integrations",
    "int.incoming": "Incoming webhooks", "int.outgoing": "Outgoing webhooks",
    "int.incoming_help": "Scripts written for Slack or Mattermost post into a channel through these.",
    "int.outgoing_help": "The hub tells another system what happens: a pager, an SMS gateway, another team's chat.",
    "int.name": "Name", "int.channel": "Channel", "int.create_hook": "Make a webhook",
    "int.url": "Address (https://…)", "int.format": "Format", "int.format_hub": "Hub JSON",
    "int.format_slack": "Slack-compatible", "int.events": "Events",
    "int.message_channels": "Channels whose messages to send", "int.create_outgoing": "Subscribe",
    "int.none": "Nothing yet.", "int.by": "made by {user}", "int.revoked": "revoked",
    "int.revoke": "Revoke", "int.revoke_confirm": "Revoke the webhook “{name}”? Scripts using it will stop.",
    "int.hook_url": "Webhook address", "int.secret": "Signing secret",
    "int.shown_once": "Copy it now: the hub will not show it again.", "int.copy": "Copy",
    "int.active": "active", "int.disabled": "disabled ({why})", "int.deliveries": "Delivery log",
    "int.disable": "Disable", "int.log_of": "Deliveries to {name}", "int.event": "Event",
    "int.state": "State", "int.attempts": "Attempts", "int.last": "Last answer", "int.when": "When",
    "int.state_pending": "waiting", "int.state_delivered": "delivered",
    "int.state_failed": "failed", "int.state_cancelled": "cancelled",
    "map.title": "Map of open cases", "map.zoom_in": "Zoom in", "map.zoom_out": "Zoom out",
    "map.cluster": "{n} cases here, the worst {severity}. Zoom in to them", "map.in_view": "Cases in view ({n})", "map.fit": "Show every case", "map.marker": "{severity}: {title} ({status}). Open the case",
    "map.unplaced": "{n} open case(s) without a location are not on the map.",
    "map.open_case": "Open the case in the hub", "map.close": "Close",
    "map.case_meta": "{severity} · {status} · {place}updated {ago} ago",
  },
};

// A language is a line here and its catalogue, web/i18n-<code>.js (fetched when chosen).
export const LANGUAGES = { en: "English", es: "Español", fr: "Français" };

// The catalogue of ``code``, fetched the first time; false if there is none.
async function load(code) {
  if (!CATALOGUES[code] && LANGUAGES[code]) CATALOGUES[code] = (await import(`/i18n-${code}.js`)).default;
  return !!CATALOGUES[code];
}

let lang = (() => {
  const saved = globalThis.localStorage && localStorage.getItem("liaison.lang");
  if (saved && LANGUAGES[saved]) return saved;
  const nav = (globalThis.navigator?.language || "en").slice(0, 2);
  return LANGUAGES[nav] ? nav : "en";
})();
// Every module importing this one waits until the chosen catalogue is here.
if (!(await load(lang).catch(() => false))) lang = "en";

export function language() { return lang; }

export async function setLanguage(code) {
  if (!LANGUAGES[code] || !(await load(code))) return;
  lang = code;
  localStorage.setItem("liaison.lang", code);
  document.documentElement.lang = code;
  document.dispatchEvent(new CustomEvent("languagechange"));
}

// Look a key up; values fill {name} slots. Values are plain text, never markup.
export function t(key, values = {}) {
  const text = CATALOGUES[lang][key] ?? CATALOGUES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name] ?? "") : m));
}

// "machine translated from X" (or "…, reviewed by N"), X named in the reader's language.
export function mtFrom(source, reviewer) {
  const from = new Intl.DisplayNames([lang], { type: "language" }).of(source);
  return t(reviewer ? "chat.mt_reviewed" : "chat.mt", { lang: from, name: reviewer });
}

// An alert's summary: one the hub composed (summary_words: a message key and its
// values) in the current language, else as its author wrote it.
export function summaryOf(a) {
  const w = a?.summary_words;
  return w && typeof w.key === "string" && w.key in CATALOGUES.en ? t(w.key, w.values || {}) : a?.summary ?? "";
}

// An alert's summary as its reader reads it, as an element's attributes: the hub's words
// in their language, else the board's kept translation of the summary as it is now
// (marked, the original in its tooltip), else as written.
export function summaryAttrs(a, board, cls) {
  const tr = !a.summary_words && board?.alertTranslations?.get(a.id);
  return tr && tr.original?.[0] === a.summary
    ? { class: cls ? `${cls} mt-t` : "mt-t", text: tr.summary, title: `${mtFrom(tr.source)}: ${a.summary}` }
    : { class: cls, text: summaryOf(a) };
}

// Words the hub sends as values (severity, status) shown in the current language.
export function word(kind, value) {
  const key = `${kind}.${value}`;
  return key in CATALOGUES.en ? t(key) : String(value);
}

export function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("time.s", { n: s });
  if (s < 3600) return t("time.m", { n: Math.floor(s / 60) });
  if (s < 86400) return t("time.h", { n: Math.floor(s / 3600) });
  return t("time.d", { n: Math.floor(s / 86400) });
}

// Fill every element carrying data-i18n (text) or data-i18n-label (aria-label/placeholder).
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
    if ("placeholder" in el) el.placeholder = t(el.dataset.i18nLabel);
  }
  document.documentElement.lang = lang;
}
