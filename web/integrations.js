// Integrations, for coordinators: the operation's incoming webhooks (scripts written for
// Slack or Mattermost post into a channel) and outgoing webhooks (the hub tells a pager,
// an SMS gateway or another team's chat), with each outgoing webhook's delivery log.
// Loaded the first time its tab opens (app.js), never on a first load. A webhook's URL
// or signing secret is shown once, when it is made; the hub never shows it again.
import { $, el, fmtTime } from "/dom.js";
import { api } from "/protocol.js";
import { t } from "/i18n.js";

const EVENTS = ["alert.fired", "alert.notified", "alert.acknowledged", "alert.resolved",
  "case.created", "case.updated", "case.closed", "message.created"];

export class Integrations {
  constructor() {
    this.op = null;
    this.channels = [];
    $("hook-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.createHook(); });
    $("out-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.createOutgoing(); });
    $("out-events").replaceChildren(...EVENTS.map((e) => el("label", { class: "check" },
      el("input", { type: "checkbox", name: "events", value: e, checked: e.startsWith("alert.") }),
      el("span", { text: e }))));
  }

  base() { return `/api/operations/${encodeURIComponent(this.op.id)}`; }

  async show(op) {
    this.op = op;
    $("integrations-msg").textContent = "";
    try {
      const { channels } = await api(`${this.base()}/channels`);
      this.channels = channels;
      const options = channels.map((c) => el("option", { value: c.id, text: `#${c.name}` }));
      $("hook-channel").replaceChildren(...options);
      $("out-channels").replaceChildren(...channels.map((c) => el("option", { value: c.id, text: `#${c.name}` })));
      await Promise.all([this.loadHooks(), this.loadOutgoing()]);
    } catch (err) {
      $("integrations-msg").textContent = err.message;
    }
  }

  channelName(id) {
    const ch = this.channels.find((c) => c.id === id);
    return ch ? `#${ch.name}` : id;
  }

  once(container, label, value) {
    // What is shown once: selectable text and a copy button, announced to screen readers.
    const field = el("input", { type: "text", readonly: true, value, "aria-label": label, class: "once" });
    container.replaceChildren(el("p", { class: "notice", role: "status", text: t("int.shown_once") }),
      el("label", { class: "once-row" }, el("span", { text: label }), field),
      el("button", { type: "button", onclick: async () => {
        field.select();
        try { await navigator.clipboard.writeText(value); } catch { /* selected: the user copies */ }
      }, text: t("int.copy") }));
    container.hidden = false;
  }

  // --- incoming ---------------------------------------------------------------------

  async loadHooks() {
    const { webhooks } = await api(`${this.base()}/webhooks`);
    $("hook-list").replaceChildren(...(webhooks.length ? webhooks.map((h) => el("li", { "data-hook": h.id },
      el("strong", { text: h.name }),
      el("span", { class: "meta", text: ` ${this.channelName(h.channel_id)} · ${t("int.by", { user: h.created_by })} · ${fmtTime(h.created_at)}` }),
      h.revoked_at
        ? el("span", { class: "meta", text: ` · ${t("int.revoked")}` })
        : el("button", { type: "button", class: "danger", onclick: () => this.revokeHook(h), text: t("int.revoke") })))
      : [el("li", { class: "none", text: t("int.none") })]));
  }

  async createHook() {
    const f = $("hook-form");
    try {
      const hook = await api(`${this.base()}/webhooks`, { body: { name: f.name.value, channel: f.channel.value } });
      f.reset();
      this.once($("hook-once"), t("int.hook_url"), hook.url);
      await this.loadHooks();
    } catch (err) {
      $("integrations-msg").textContent = err.message;
    }
  }

  async revokeHook(h) {
    if (!confirm(t("int.revoke_confirm", { name: h.name }))) return;
    await api(`${this.base()}/webhooks/${encodeURIComponent(h.id)}`, { method: "DELETE" });
    await this.loadHooks();
  }

  // --- outgoing ---------------------------------------------------------------------

  async loadOutgoing() {
    const { webhooks } = await api(`${this.base()}/outgoing-webhooks`);
    $("out-list").replaceChildren(...(webhooks.length ? webhooks.map((w) => el("li", { "data-outgoing": w.id, "data-state": w.state },
      el("strong", { text: w.name || w.url }),
      el("span", { class: "meta", text: ` ${w.url} · ${w.format} · ${w.events.join(", ")}${w.channels.length ? ` · ${w.channels.map((c) => this.channelName(c)).join(" ")}` : ""}` }),
      el("span", { class: "meta", text: ` · ${w.state === "active" ? t("int.active") : t("int.disabled", { why: w.disabled_reason || "" })}` }),
      el("button", { type: "button", onclick: () => this.deliveries(w), text: t("int.deliveries") }),
      w.state === "active" ? el("button", { type: "button", class: "danger", onclick: () => this.disable(w), text: t("int.disable") }) : null))
      : [el("li", { class: "none", text: t("int.none") })]));
  }

  async createOutgoing() {
    const f = $("out-form");
    const events = [...f.querySelectorAll("input[name=events]:checked")].map((i) => i.value);
    const channels = [...$("out-channels").selectedOptions].map((o) => o.value);
    try {
      const sub = await api(`${this.base()}/outgoing-webhooks`, { body: {
        url: f.url.value, name: f.name.value, format: f.format.value, events,
        channels: events.includes("message.created") ? channels : [] } });
      f.reset();
      this.once($("out-once"), t("int.secret"), sub.secret);
      await this.loadOutgoing();
    } catch (err) {
      $("integrations-msg").textContent = err.message;
    }
  }

  async disable(w) {
    await api(`${this.base()}/outgoing-webhooks/${encodeURIComponent(w.id)}`, { method: "DELETE" });
    await this.loadOutgoing();
  }

  async deliveries(w) {
    const { deliveries } = await api(`${this.base()}/outgoing-webhooks/${encodeURIComponent(w.id)}/deliveries`);
    $("delivery-title").textContent = t("int.log_of", { name: w.name || w.url });
    const head = el("tr", {}, ...["int.event", "int.state", "int.attempts", "int.last", "int.when"].map((k) =>
      el("th", { scope: "col", text: t(k) })));
    const rows = deliveries.map((d) => el("tr", { "data-delivery": d.id, "data-state": d.state },
      el("td", { text: d.event }), el("td", { text: t(`int.state_${d.state}`) }),
      el("td", { text: String(d.attempts) }),
      el("td", { text: d.last_status ? `${d.last_status}${d.last_error ? ` · ${d.last_error}` : ""}` : d.last_error || "—" }),
      el("td", { text: fmtTime(d.delivered_at || d.created_at) })));
    $("delivery-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
    $("delivery-none").hidden = deliveries.length > 0;
    $("delivery-log").hidden = false;
  }
}
