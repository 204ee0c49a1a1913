// Renders a board model (board-model.js) into a container. Used by the full-screen
// board page and the board tab of the main client. Only textContent, never markup.
import { view, BOARD_SEVERITIES, titleOf } from "/board-model.js";
import { CASE_STATUSES } from "/vocabulary.js";
import { t, word, ago, summaryAttrs } from "/i18n.js";
import { clock } from "/dom.js";
import { fillList } from "/long-list.js";
import { caseTitle } from "/cases.js";

const STALE_SECONDS = 15 * 60;

/**
 * The board's map in `host`, fetched (web/map.js, its outlines and settings) the
 * first time a board is drawn, so it never weighs on a first load. Returns
 * update(board), to call whenever the board changes.
 */
// The open cases, each titled in the reader's language where a translation is kept.
const shown = (board) => view(board).openCases.map((c) => ({ ...c, title: titleOf(board, c).text }));

export function mapOf(host, onOpen) {
  let map = null;
  let latest = null;
  let loading = null;
  return function update(board) {
    latest = board;
    if (map) { map.update(shown(board)); return; }
    loading ||= import("/map.js").then((m) => m.createMap(host, { onOpen }))
      .then((made) => { map = made; map.update(shown(latest)); })
      .catch(() => { loading = null; });   // offline before the map was ever kept: try again later
  };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function section(id, titleKey, body) {
  return el("section", { class: "board-part", "aria-labelledby": `${id}-h`, id },
    el("h2", { id: `${id}-h`, text: t(titleKey) }), body);
}

function sevBadge(sev) { return el("span", { class: `sev sev-${sev}`, text: word("sev", sev) }); }

function countsTable(counts) {
  const head = el("tr", {}, el("th", { scope: "col", text: t("board.severity") }),
    ...CASE_STATUSES.map((s) => el("th", { scope: "col", text: word("status", s) })));
  const rows = BOARD_SEVERITIES.map((sev) => el("tr", { "data-severity": sev },
    el("th", { scope: "row" }, sevBadge(sev)),
    ...CASE_STATUSES.map((s) => el("td", { "data-status": s, text: String(counts[sev][s]) }))));
  return el("table", { class: "counts" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function eventText(item) {
  if (!item.key) return item.text || "";
  const v = { ...item.values };
  for (const k of ["severity", "from", "to"]) if (v[k]) v[k] = word("sev", v[k]);
  if (v.status) v.status = word("status", v.status);
  return t(item.key, v);
}

export function renderBoard(container, board, { now = Date.now() / 1000, onAlert = null } = {}) {
  const v = view(board);
  const cases = el("ol", { class: "ranked" });
  fillList(cases, v.openCases, (c) => {
    const idle = now - c.updated_at;
    const stale = c.severity === "critical" && idle >= STALE_SECONDS;
    return el("li", { class: `case-row sev-${c.severity}${stale ? " stale" : ""}`, "data-case": c.id },
      sevBadge(c.severity),
      c.real_world ? el("span", { class: "real-world", text: t("board.real_world") }) : null,
      c.exercise ? el("span", { class: "exercise", text: t("board.exercise") }) : null,
      c.marking ? el("span", { class: "marking", text: c.marking }) : null,
      caseTitle(board, c),
      el("span", { class: "meta", text: ` ${word("status", c.status)}${c.place ? ` · ${c.place}` : ""} · ` }),
      el("span", { class: "age", text: stale ? t("board.stale", { ago: ago(idle) }) : t("board.updated", { ago: ago(idle) }) }));
  }, t("board.none"), "board-cases");

  const alerts = el("ul", { class: "alerts" });
  fillList(alerts, v.alerts, (a) => {
    const parts = [word("alert", a.state)];
    if (a.acked_by) parts.push(t("board.acked_by", { user: a.acked_by }));
    if (a.pending_agencies?.length) parts.push(t("board.pending", { agencies: a.pending_agencies.join(", ") }));
    // The ledger: who acknowledged for each agency, and when (an after-action review
    // reads it from the board, live or at any past moment).
    // (One agency alone is "acknowledged by" above.)
    if (a.ledger && (a.ledger.length > 1 || a.pending_agencies?.length)) {
      for (const row of a.ledger) {
        if (row.acked_at !== null) {
          parts.push(t("board.agency_acked", { agency: row.agency, user: row.acked_by ?? "?", time: clock(new Date(row.acked_at * 1000)) }));
        }
      }
    }
    if (a.step !== null && a.step !== undefined) parts.push(t("board.step", { step: a.step + 1 }));
    if (a.reminder) parts.push(t("board.reminder", { n: a.reminder }));
    if (a.silenced_by) parts.push(t("board.silenced"));
    if (a.occurrences > 1) parts.push(t("board.occurrences", { n: a.occurrences }));
    const li = el("li", { class: `alert-row ${a.state} sev-${a.severity}`, "data-alert": a.id, "data-state": a.state },
      sevBadge(a.severity),
      a.real_world ? el("span", { class: "real-world", text: t("board.real_world") }) : null,
      a.exercise ? el("span", { class: "exercise", text: t("board.exercise") }) : null,
      a.marking ? el("span", { class: "marking", text: a.marking }) : null,
      el("strong", summaryAttrs(a, board, "summary")),
      el("span", { class: "meta", text: ` ${parts.join(" · ")}` }));
    if (onAlert) onAlert(li, a);
    return li;
  }, t("board.none"), "board-alerts");

  const online = v.online.length ? el("ul", { class: "online" }, ...v.online.map((u) =>
    el("li", { text: `${u.display_name} (${u.agency})` }))) : el("p", { class: "none", text: t("board.none") });

  const events = v.events.length ? el("ol", { class: "events", reversed: "" }, ...[...v.events].reverse().map((e) =>
    el("li", { class: `event ${e.kind}` },
      el("time", { text: e.ts ? clock(new Date(e.ts * 1000)) : "" }),
      el("span", { text: ` ${eventText(e)}` })))) : el("p", { class: "none", text: t("board.none") });

  container.replaceChildren(
    section("b-counts", "board.counts", countsTable(v.counts)),
    section("b-alerts", "board.alerts", alerts),
    section("b-cases", "board.open_cases", cases),
    section("b-online", "board.online", online),
    section("b-events", "board.events", events),
  );
  container.dataset.version = String(board.version);
}
