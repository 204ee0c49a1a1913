// "For me": what a responder in the field must act on, first. The alerts that name me
// (one tap acknowledges the alert), the cases assigned to me (their state, a tap opens
// them to add a note), and a button to report a new case. It reads the same board as
// every other panel; acknowledging goes through the alerts panel's path (and its
// outbox when the network is down).
import { $, el, fmtTime } from "/dom.js";
import { t, word, summaryAttrs } from "/i18n.js";
import { view, titleOf } from "/board-model.js";
import { fillList } from "/long-list.js";

export class Mine {
  constructor({ me, getBoard, alerts, cases, show }) {
    this.me = me;
    this.getBoard = getBoard;
    this.alerts = alerts;
    this.cases = cases;
    this.show = show;                // (tab) -> switch to that tab
    $("report").addEventListener("click", () => { this.show("cases"); this.cases.showForm(null); });
  }

  // Active alerts that named me in their last notification or are about my cases.
  myAlerts(board) {
    const mine = new Set(this.myCases(board).map((c) => c.id));
    return view(board).alerts.filter((a) => a.state !== "resolved"
      && ((a.notified || []).includes(this.me.username) || mine.has(a.case_id)));
  }

  myCases(board) {
    return [...board.cases.values()].filter((c) => (c.assignees || []).includes(this.me.username)
      && c.status !== "closed" && c.status !== "resolved");
  }

  render() {
    const board = this.getBoard();
    if (!board) return;
    const alerts = this.myAlerts(board);
    const firing = alerts.filter((a) => a.state === "firing").length;
    $("mine-count").textContent = String(firing);
    $("mine-count").hidden = firing === 0;
    if ($("panel-mine").hidden) return;   // drawn when its tab shows
    fillList($("my-alerts"), alerts, (a) => el("li", { class: `sev-${a.severity}`, "data-alert": a.id, "data-state": a.state },
      el("span", { class: `sev sev-${a.severity}`, text: word("sev", a.severity) }),
      el("strong", summaryAttrs(a, board)),
      el("span", { class: "meta", text: ` ${word("alert", a.state)}${a.acked_by ? ` · ${t("board.acked_by", { user: a.acked_by })}` : ""} · ${fmtTime(a.first_at)}` }),
      this.alerts.ackButton(a, "primary ack", () => this.alerts.act(a, "ack"))), t("mine.no_alerts"));
    const cases = this.myCases(board).sort((a, b) => b.updated_at - a.updated_at);
    fillList($("my-cases"), cases, (c) => el("li", { class: `sev-${c.severity}`, "data-case": c.id },
      el("span", { class: `sev sev-${c.severity}`, text: word("sev", c.severity) }),
      el("button", { type: "button", class: "linkish", onclick: () => { this.show("cases"); this.cases.openDetail(c.id); }, text: titleOf(board, c).text }),
      el("span", { class: "meta", text: ` ${word("status", c.status)}${c.place ? ` · ${c.place}` : ""}` })), t("mine.no_cases"));
  }
}
