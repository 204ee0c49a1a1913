// Every string the client shows, in English and French. t("key", {values}) looks a
// key up in the chosen language; the choice is kept in localStorage.
// Add a key to BOTH catalogues: tests/web checks that the French one covers the English one.

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
  },
  fr: {
    "app.title": "Liaison Hub",
    "conn.live": "en direct", "conn.connecting": "connexion", "conn.reconnecting": "reconnexion",
    "conn.offline": "hors ligne", "conn.ended": "session terminée",
    "lang.label": "Langue", "theme.label": "Thème", "theme.light": "clair", "theme.dark": "sombre",
    "theme.auto": "système",
    "sev.critical": "critique", "sev.major": "majeur", "sev.minor": "mineur", "sev.info": "info",
    "status.open": "ouvert", "status.in_progress": "en cours", "status.resolved": "résolu",
    "status.closed": "clos",
    "alert.firing": "active", "alert.acknowledged": "prise en compte", "alert.resolved": "résolue",
    "board.title": "Tableau de situation", "board.counts": "Dossiers par gravité et état",
    "board.severity": "Gravité", "board.open_cases": "Dossiers ouverts, les plus urgents d'abord",
    "board.alerts": "Alertes actives", "board.online": "En ligne", "board.events": "Derniers événements",
    "board.none": "Rien ici.", "board.updated": "mis à jour il y a {ago}",
    "board.stale": "sans mise à jour depuis {ago}", "board.step": "étape d'escalade {step}",
    "board.reminder": "relance {n}", "board.acked_by": "prise en compte par {user}",
    "board.silenced": "en sourdine", "board.exercise": "EXERCICE", "board.version": "version {v}",
    "board.login": "Connectez-vous pour voir le tableau.", "board.fullscreen": "Plein écran",
    "board.unknown_op": "Opération inconnue, ou qui n'est pas la vôtre.",
    "board.occurrences": "×{n}",
    "ev.case_created": "nouveau dossier {severity} : {title}",
    "ev.case_severity": "{title} : gravité {from} → {to}",
    "ev.case_status": "{title} : {status}",
    "ev.alert_fired": "alerte : {summary}",
    "ev.alert_acknowledged": "alerte prise en compte par {actor} : {summary}",
    "ev.alert_resolved": "alerte résolue par {actor} : {summary}",
    "ev.alert_escalated": "alerte escaladée (étape {step}) : {summary}",
    "ev.silence": "mise en sourdine : {reason}",
    "time.s": "{n} s", "time.m": "{n} min", "time.h": "{n} h", "time.d": "{n} j",
  },
};

export const LANGUAGES = { en: "English", fr: "Français" };

let lang = (() => {
  const saved = globalThis.localStorage && localStorage.getItem("liaison.lang");
  if (saved && CATALOGUES[saved]) return saved;
  const nav = (navigator.language || "en").slice(0, 2);
  return CATALOGUES[nav] ? nav : "en";
})();

export function language() { return lang; }

export function setLanguage(code) {
  if (!CATALOGUES[code]) return;
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
