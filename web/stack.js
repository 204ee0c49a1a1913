// The alert stack: one compact area above the tabs, in the page's flow (it pushes the
// content down, it never covers it), holding every active critical or major alert of
// every operation I am in (stack-model.js). Collapsed it is one line: the counts, the
// newest alert with its operation and its Acknowledge button, and "+N more"; expanded it
// lists them all. The operation picker shows each operation's count.
import { $, el } from "/dom.js";
import { t, word, summaryAttrs } from "/i18n.js";
import { stackOf } from "/stack-model.js";

export class AlertStack {
  // act(opId, alert): acknowledge (the same action as everywhere else).
  constructor({ me, act, open, waiting = () => new Set() }) {
    this.me = me;
    this.waiting = waiting;    // () -> ids of alerts whose acknowledgement waits to be sent
    this.act = act;
    this.open = open;          // (opId) -> show that operation
    this.expanded = false;
  }

  render(boards, operations, currentOp) {
    this.boards = boards;   // each alert's summary in the reader's language (line())
    const { items, counts, byOp } = stackOf(boards, operations, this.me);
    const root = $("critical");
    root.hidden = items.length === 0;
    for (const option of $("operations").options) {
      const op = operations.get(option.value);
      if (!op) continue;
      const n = byOp.get(op.id) || 0;
      option.textContent = `${op.code} — ${op.name}${n ? ` (${t("stack.op_badge", { n })})` : ""}`;
    }
    const others = [...byOp.entries()].filter(([id]) => id !== currentOp?.id).reduce((s, [, n]) => s + n, 0);
    $("op-badge").hidden = others === 0;
    $("op-badge").textContent = others ? t("stack.elsewhere", { n: others }) : "";
    if (!items.length) { root.replaceChildren(); this.expanded = false; return; }
    const summary = [counts.critical ? t("stack.critical", { n: counts.critical }) : null,
      counts.major ? t("stack.major", { n: counts.major }) : null].filter(Boolean).join(" · ");
    const [newest] = items;
    const more = items.length - 1;
    const head = el("div", { class: "stack-head" },
      el("strong", { class: "stack-count", text: summary }),
      this.line(newest, `stack-newest${newest.op.id === currentOp?.id ? " here" : ""}`),
      more ? el("button", { type: "button", class: "stack-more", "aria-expanded": String(this.expanded),
        "aria-controls": "stack-list", onclick: () => { this.expanded = !this.expanded; this.render(boards, operations, currentOp); },
        text: this.expanded ? t("stack.less") : t("stack.more", { n: more }) }) : null);
    const list = el("ul", { id: "stack-list", class: "stack-list", hidden: !this.expanded || !more },
      ...(this.expanded ? items : []).map((item) => el("li", {}, this.line(item, "stack-item"))));
    root.replaceChildren(head, list);
  }

  line({ op, alert }, cls) {
    return el("span", { class: `${cls} sev-${alert.severity}`, "data-alert": alert.id, "data-op": op.id },
      el("span", { class: `sev sev-${alert.severity}`, text: word("sev", alert.severity) }),
      el("button", { type: "button", class: "linkish stack-op", onclick: () => this.open(op.id), text: op.code }),
      el("span", summaryAttrs(alert, this.boards.get(op.id), "stack-summary")),
      !this.me.canPostIn(op) ? null : this.waiting().has(alert.id)
        ? el("span", { class: "waiting", text: t("alert.ack_waiting") })
        : el("button", { type: "button", class: "ack", onclick: () => this.act(op.id, alert), text: t("alert.ack") }));
  }
}
