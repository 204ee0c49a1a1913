// Alerts: the panel (acknowledge, resolve, silence with a reason) and their
// notifications. The stack that keeps them in sight across operations is stack.js.
import { api } from "/protocol.js";
import { $, el, fmtTime } from "/dom.js";
import { t, word, summaryOf, summaryAttrs } from "/i18n.js";
import { view, markingOf } from "/board-model.js";
import { forMe } from "/stack-model.js";
import { fillList } from "/long-list.js";

const DURATIONS = ["30m", "1h", "2h", "4h", "12h"];

export class Alerts {
  constructor({ me, getBoard, notify, queue, changed = () => {} }) {
    this.changed = changed;          // the alerts shown changed: the stack redraws
    this.waiting = new Set();        // alert ids whose acknowledgement waits in the outbox
    this.me = me;
    this.queue = queue;              // an acknowledgement made offline waits here (outbox.js)
    this.getBoard = getBoard;
    this.notify = notify;
    this.op = null;
    this.silences = [];
    this.told = new Set();           // alert:step:reminder already notified
  }

  setOperation(op) {
    this.op = op;
    this.silences = [];
    this.rules = [];
    this.loadSilences();
    this.loadRules();
  }

  // Coordinators see the rules that failed at run time or are no longer evaluated.
  async loadRules() {
    if (!this.op || !this.me.canManage) { this.renderRules(); return; }
    try {
      ({ rules: this.rules } = await api(`${this.base()}/rules`));
    } catch { this.rules = []; }
    this.renderRules();
  }

  renderRules() {
    const bad = (this.me.canManage ? this.rules : []).filter((r) => r.health && r.health.state !== "ok");
    $("rule-health").hidden = bad.length === 0;
    $("rule-health-list").replaceChildren(...bad.map((r) => el("li", { class: "rule-bad", "data-rule": r.id },
      el("strong", { text: r.name || r.id }),
      el("span", { class: "meta", text: " " + (r.health.state === "failing"
        ? t("alert.rule_failing", { n: r.health.errors, error: r.health.last_error || "" })
        : t("alert.rule_invalid", { error: r.health.last_error || "" })) }))));
  }

  base() { return `/api/operations/${encodeURIComponent(this.op.id)}`; }

  async loadSilences() {
    if (!this.op) return;
    try {
      ({ silences: this.silences } = await api(`${this.base()}/silences`));
    } catch { this.silences = []; }
    this.render();
  }

  onEvent(f) {
    if (f.kind === "silence") { this.loadSilences(); return; }
    if (f.kind === "rule") { this.loadRules(); return; }
    if (f.kind !== "alert") return;
    const a = f.record || {};
    const about = { op: this.op?.id, alert: f.id, critical: a.severity === "critical" };
    if (f.action === "fired" && a.severity === "critical" && forMe(a, this.me)) {
      this.tell(`${f.id}:fired`, t("alert.notify_title", { severity: word("sev", a.severity) }), summaryOf(a), about, a);
    }
    if (f.action === "notified" && (f.notice?.users || []).includes(this.me.username)) {
      this.tell(`${f.id}:${f.notice.step}:${f.notice.reminder}`,
        t("alert.notify_you", { step: f.notice.step + 1 }), summaryOf(a), about, a);
    }
  }

  // A notification says whether it is play or a real event, before anything else.
  tell(key, title, body, about, a = {}) {
    if (this.told.has(key)) return;
    this.told.add(key);
    const play = a.real_world ? t("board.real_world") : a.exercise ? t("board.exercise") : "";
    this.notify("alert", play ? `[${play}] ${title}` : title, body, about);
  }

  render() {
    const board = this.getBoard();
    if (!board) return;
    const active = view(board).alerts;
    const resolved = [...board.alerts.values()].filter((a) => a.state === "resolved")
      .sort((a, b) => b.first_at - a.first_at).slice(0, 10);
    const count = active.filter((a) => a.state === "firing").length;
    $("alert-count").textContent = String(count);
    $("alert-count").hidden = count === 0;
    document.title = count ? `(${count}) ${t("app.title")}` : t("app.title");
    this.changed();
    if ($("panel-alerts").hidden) return;   // drawn when its tab shows
    fillList($("alert-list"), active, (a) => this.item(a), t("board.none"));
    fillList($("resolved-list"), resolved, (a) => this.item(a), t("board.none"));
    const now = Date.now() / 1000;
    const live = this.silences.filter((s) => s.ends_at === null || s.ends_at > now);
    $("silence-list").replaceChildren(...(live.length ? live.map((s) => el("li", {},
      s.label ? el("span", { class: "marking", text: markingOf(s.label) }) : null,
      el("span", { text: `${s.reason} · ${s.created_by} · ${s.matchers.map((m) => this.matcherText(m, board)).join(", ")} · ${s.ends_at ? t("alert.until", { time: fmtTime(s.ends_at) }) : t("alert.until_resolved")}` }),
      this.me.canPost ? el("button", { type: "button", onclick: () => this.expire(s), text: t("alert.end_silence") }) : null))
      : [el("li", { class: "none", text: t("board.none") })]));
  }

  // A matcher as people read it: an alert by its summary, not its id.
  matcherText(m, board) {
    const alert = m.label === "alert" && m.op === "=" ? board.alerts.get(m.value) : null;
    return alert ? t("alert.silence_of", { summary: summaryOf(alert) }) : `${m.label}${m.op}${m.value}`;
  }

  item(a) {
    const parts = [word("alert", a.state)];
    if (a.acked_by) parts.push(t("board.acked_by", { user: a.acked_by }));
    if (a.pending_agencies?.length) parts.push(t("board.pending", { agencies: a.pending_agencies.join(", ") }));
    if (a.informed_agencies?.length) parts.push(t("board.informed", { agencies: a.informed_agencies.join(", ") }));
    if (a.step !== null && a.step !== undefined) parts.push(t("board.step", { step: a.step + 1 }));
    if (a.silenced_by) parts.push(t("board.silenced"));
    if (a.occurrences > 1) parts.push(t("board.occurrences", { n: a.occurrences }));
    const li = el("li", { class: `alert-row ${a.state} sev-${a.severity}`, "data-alert": a.id, "data-state": a.state },
      el("span", { class: `sev sev-${a.severity}`, text: word("sev", a.severity) }),
      a.real_world ? el("span", { class: "real-world", text: t("board.real_world") }) : null,
      a.exercise ? el("span", { class: "exercise", text: t("board.exercise") }) : null,
      a.marking ? el("span", { class: "marking", text: a.marking }) : null,
      el("strong", summaryAttrs(a, this.getBoard())),
      el("span", { class: "meta", text: ` ${parts.join(" · ")} · ${fmtTime(a.first_at)}` }));
    if (this.me.canPost && a.state !== "resolved") {
      const actions = el("div", { class: "row" });
      const ack = this.ackButton(a, "primary ack", () => this.act(a, "ack"));
      if (ack) actions.append(ack);
      actions.append(el("button", { type: "button", class: "resolve", onclick: () => this.act(a, "resolve"), text: t("alert.resolve") }));
      if (!a.silenced_by) {   // the form only when asked for: a list of a thousand stays light
        const open = el("button", { type: "button", class: "silence-open", text: t("alert.silence") });
        open.addEventListener("click", () => { const form = this.silenceForm(a); open.replaceWith(form); form.querySelector("input").focus(); });
        actions.append(open);
      }
      li.append(actions);
    }
    return li;
  }

  silenceForm(a) {
    const reason = el("input", { name: "reason", required: true, maxlength: 500, "aria-label": t("alert.silence_reason"), placeholder: t("alert.silence_reason") });
    const duration = el("select", { name: "duration", "aria-label": t("alert.silence_for") },
      ...DURATIONS.map((d) => el("option", { value: d, text: d })));
    return el("form", { class: "row silence", onsubmit: (ev) => { ev.preventDefault(); this.silence(a, reason.value, duration.value); } },
      reason, duration, el("button", { type: "submit", text: t("alert.silence") }));
  }

  // Which acknowledgements wait in the outbox (after any change to it): each surface
  // shows "waiting to send" in place of its button until it lands or is refused.
  async syncWaiting() {
    const items = await this.queue.list();
    this.waiting = new Set(items.map((i) => /\/alerts\/([^/]+)\/ack$/.exec(i.path)?.[1])
      .filter(Boolean).map(decodeURIComponent));
    this.render();
  }

  // The acknowledge button of an alert, or what became of it.
  ackButton(a, cls, act) {
    if (a.state !== "firing" || !this.me.canPost) return null;
    if (this.waiting.has(a.id)) return el("span", { class: "waiting", role: "status", text: t("alert.ack_waiting") });
    return el("button", { type: "button", class: cls, onclick: act, text: t("alert.ack") });
  }

  // The one acknowledge (or resolve) action, wherever it is asked for (stack, notice,
  // For me, Alerts, a desktop notification), in this operation or another.
  async act(a, action, opId = this.op.id) {
    try {
      const base = `/api/operations/${encodeURIComponent(opId)}`;
      const { sent } = await this.queue.send(`${base}/alerts/${encodeURIComponent(a.id)}/${action}`,
        { label: `${t(action === "ack" ? "alert.ack" : "alert.resolve")}: ${summaryOf(a) || a.id}` });
      $("alert-msg").textContent = sent ? "" : t("outbox.queued");
    } catch (err) { $("alert-msg").textContent = err.message; }
  }

  async silence(a, reason, duration) {
    try {
      await api(`${this.base()}/silences`, { body: { matchers: [{ label: "alert", value: a.id }], duration, reason } });
      $("alert-msg").textContent = "";
    } catch (err) { $("alert-msg").textContent = err.message; }
  }

  async expire(s) {
    try { await api(`${this.base()}/silences/${encodeURIComponent(s.id)}/expire`, { body: {} }); } catch (err) { $("alert-msg").textContent = err.message; }
  }
}
