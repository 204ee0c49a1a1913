// The chat panel: channel list with unread and mention badges, message pane with
// scroll-back, live messages, presence, typing, @mentions, urgent messages with
// acknowledgements, and a composer that keeps drafts and queues while offline.
import { api, newId } from "/protocol.js";
import { keepPost, keptPosts } from "/offline-store.js";
import { $, el, richText, mentions, fmtTime, filesOf } from "/dom.js";
import { t, word, summaryOf, language, mtFrom } from "/i18n.js";
import { noticeWording } from "/notice.js";
import { markingOf } from "/board-model.js";

const PAGE = 50;

// The alert a notice of the hub is about: its client_msg_id is <alert id>:<step>:<reminder>.
export function noticeAlert(m) {
  if (m.sender !== "hub" || typeof m.client_msg_id !== "string") return null;
  const found = /^(al-[^:]+):\d+:\d+$/.exec(m.client_msg_id);
  return found ? found[1] : null;
}

// A group notice (alerting/pipeline/grouping.py): several alerts announced together.
const isGroupNotice = (m) => m.sender === "hub" && /^group-/.test(m.client_msg_id || "");

export class Chat {
  constructor({ client, me, notify, alerts, inExercise = () => false, show = () => {} }) {
    this.client = client;
    this.show = show;                // (tab) -> show that tab
    this.inExercise = inExercise;    // () -> whether the operation is an exercise
    this.me = me;
    this.alerts = alerts;            // { get(id) -> the alert's live row, ack(id) }
    this.notify = notify;            // (kind, title, body) for desktop notifications
    this.channels = new Map();       // id -> channel
    this.cache = new Map();          // id -> Map(seq -> message)
    this.receipts = new Map();       // id -> Map(seq of urgent -> Set(display))
    this.unread = new Map();
    this.mentioned = new Map();
    this.current = null;
    this.oldest = new Map();
    this.hasMore = new Map();
    this.typingTimer = null;
    this.names = [me.username, me.agency];

    client.addEventListener("message", (e) => this.onMessage(e.detail));
    client.addEventListener("ack", () => this.renderPending());
    client.addEventListener("rejected", (e) => this.onRejected(e.detail));
    client.addEventListener("presence", (e) => this.onPresence(e.detail));
    client.addEventListener("typing", (e) => this.onTyping(e.detail));
    client.addEventListener("redacted", (e) => this.onRedacted(e.detail));
    client.addEventListener("translated", (e) => this.onTranslated(e.detail));
    client.addEventListener("reset", (e) => { if (this.current && e.detail.channel === this.current.id) this.open(this.current); });
    client.addEventListener("state", () => this.renderPending());

    $("composer").addEventListener("submit", (ev) => { ev.preventDefault(); this.send(); });
    $("text").addEventListener("input", () => this.onInput());
    $("text").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); this.send(); }
    });
    $("older").addEventListener("click", () => this.loadOlder());
    // Messages with files wait in IndexedDB until their files are up (attach.js).
    this.posts = [];
    this.postEvents = new EventTarget();
    this.postEvents.addEventListener("changed", () => this.loadPosts());
    this.postEvents.addEventListener("progress", (e) => this.renderPending(e.detail));
    this.postEvents.addEventListener("refused", ({ detail: { post, reason } }) => this.onRejected({ frame: post, error: { reason } }));
    client.addEventListener("state", (e) => { if (e.detail.state === "live" && this.posts.length) this.sendPosts(); });
    $("attach").addEventListener("click", () => $("file").click());
    $("file").addEventListener("change", () => this.chosen());
    this.loadPosts().then(() => this.posts.length && this.sendPosts());
  }

  // --- channels -------------------------------------------------------------------

  async setOperation(op) {
    for (const id of this.channels.keys()) this.client.unsubscribe(id);
    this.channels.clear();
    this.cache.clear();
    this.current = null;
    const { channels } = await api(`/api/operations/${encodeURIComponent(op.id)}/channels`);
    this.languages(op.id);
    for (const ch of channels) {
      this.channels.set(ch.id, ch);
      this.cache.set(ch.id, new Map());
      const read = Number(localStorage.getItem(this.readKey(ch.id)) ?? ch.last_seq);
      this.unread.set(ch.id, Math.max(0, ch.last_seq - read));
      this.mentioned.set(ch.id, 0);
      this.client.subscribe(ch.id, ch.last_seq);     // live from now; history over REST
    }
    this.renderChannels();
    // The channel last read here, else #general (where an operation talks), else the first.
    const first = channels.find((c) => c.id === localStorage.getItem(`liaison.channel.${op.id}`))
      || channels.find((c) => c.name === "general") || channels[0];
    if (first) await this.open(first);
  }

  readKey(id) { return `liaison.read.${this.me.username}.${id}`; }

  renderChannels() {
    $("channels").replaceChildren(...[...this.channels.values()].map((ch) => {
      const unread = this.unread.get(ch.id) || 0;
      const mention = this.mentioned.get(ch.id) || 0;
      const label = `# ${ch.name}${ch.restricted ? ` (${t("chat.restricted")})` : ""}`;
      return el("li", {},
        el("button", { type: "button", "data-channel": ch.id, "aria-current": String(this.current?.id === ch.id),
          onclick: () => this.open(ch) },
          el("span", { text: label }),
          el("span", {},
            mention ? el("span", { class: "badge mention", title: t("chat.mentions"), text: `@${mention}` }) : null,
            unread ? el("span", { class: "badge unread", title: t("chat.unread"), text: String(unread) }) : null)));
    }));
  }

  // The latest page of a channel (the service worker keeps its last answer for offline).
  historyPath(id) { return `/api/channels/${encodeURIComponent(id)}/messages?limit=${PAGE}&lang=${language()}`; }

  // Whether this operation translates into the reader's language, and if it can now.
  languages(op) {
    this.policy = null;
    return api(`/api/operations/${encodeURIComponent(op)}/language-policy`).then((p) => { this.policy = p; }, () => {});
  }

  // The reader changed language: this channel again, with its translations into it.
  reopen() { if (this.current) { this.cache.get(this.current.id)?.clear(); this.open(this.current); } }

  onTranslated({ channel, seq, lang, translation }) {
    const m = this.cache.get(channel)?.get(seq);
    if (!m || lang !== language()) return;
    m.translation = translation;
    if (this.policy) this.policy.available = true;
    this.rerender(m);
  }

  rerender(m) { $("messages").querySelector(`li[data-seq="${m.seq}"]`)?.replaceWith(this.renderMessage(m)); }

  // Under its text: "machine translated from X" and the original a tap away; or, for a
  // text on its way to the reader's language, that it is (or that it cannot be now).
  translationLine(m) {
    const tr = m.translation;
    if (tr) {
      // Agreed terms with no form in this language are flagged, never guessed.
      const missing = tr.missing_terms?.length ? ` · ${t("chat.mt_missing", { terms: tr.missing_terms.join(", ") })}` : "";
      const p = this.policy;   // the operation's translators and coordinators correct it
      const fix = p && (this.me.canManage || p.translators?.includes(this.me.username))
        ? [" · ", el("button", { type: "button", class: "linkish mt-fix", text: t("chat.mt_correct"),
          onclick: () => import("/correct.js").then((c) => c.correct(this, m)) })] : [];
      return el("span", { class: "mt" }, mtFrom(tr.source, tr.reviewed_by), missing, " · ",
        el("button", { type: "button", class: "linkish", onclick: () => { m.original = !m.original; this.rerender(m); },
          text: t(m.original ? "chat.mt_translation" : "chat.mt_original") }), ...fix);
    }
    const p = this.policy;
    if (!p?.translate || !m.lang || m.lang === language() || !p.languages.includes(language()) || m.redacted || Date.now() / 1000 - m.ts > 120) return null;
    if (p.available) setTimeout(() => !m.translation && this.languages(m.operation || this.current?.operation_id).then(() => this.rerender(m)), 5000);
    return el("span", { class: "mt", text: t(p.available ? "chat.mt_wait" : "chat.mt_down") });
  }

  async open(ch) {
    this.current = ch;
    localStorage.setItem(`liaison.channel.${ch.operation_id}`, ch.id);
    $("channel-title").textContent = `# ${ch.name}`;
    $("channel-marking").textContent = ch.marking || "";
    $("channel-marking").style.background = ch.colour || "";  // the label policy's colour
    $("channel-marking").hidden = !ch.marking;
    $("channel-exercise").hidden = !ch.exercise;
    $("real-world-row").hidden = !(ch.exercise || this.inExercise());   // only play can hold a real event
    $("channel-topic").textContent = ch.topic || "";
    $("presence").replaceChildren();
    $("typing").textContent = "";
    $("text").value = localStorage.getItem(this.draftKey()) || "";
    const { messages, has_more } = await api(this.historyPath(ch.id));
    if (this.current !== ch) return;
    for (const m of messages) this.store(m);
    this.oldest.set(ch.id, messages.length ? messages[0].seq : null);
    this.hasMore.set(ch.id, has_more);
    this.markRead(ch.id);
    this.renderMessages();
    this.renderChannels();
    this.client.sendSubscribe(ch.id);   // presence for this channel comes with (re)subscribing
  }

  markRead(id) {
    localStorage.setItem(this.readKey(id), String(this.channels.get(id)?.last_seq || 0));
    this.unread.set(id, 0);
    this.mentioned.set(id, 0);
  }

  async loadOlder() {
    const ch = this.current;
    if (!ch || this.oldest.get(ch.id) === null) return;
    const { messages, has_more } = await api(
      `/api/channels/${encodeURIComponent(ch.id)}/messages?limit=${PAGE}&before_seq=${this.oldest.get(ch.id)}`);
    for (const m of messages) this.store(m);
    if (messages.length) this.oldest.set(ch.id, messages[0].seq);
    this.hasMore.set(ch.id, has_more);
    this.renderMessages({ keepScroll: true });
  }

  // --- messages -------------------------------------------------------------------

  store(m) {
    const cache = this.cache.get(m.channel);
    if (!cache) return false;
    if (cache.has(m.seq)) return false;
    cache.set(m.seq, m);
    if (m.ack_of) {
      const byChannel = this.receipts.get(m.channel) || new Map();
      this.receipts.set(m.channel, byChannel);
      const who = byChannel.get(m.ack_of) || new Map();
      who.set(m.sender, `${m.sender_name} (${m.agency})`);
      byChannel.set(m.ack_of, who);
    }
    return true;
  }

  onMessage(m) {
    if (!this.store(m)) return;
    const ch = this.channels.get(m.channel);
    if (!ch) return;
    ch.last_seq = Math.max(ch.last_seq, m.seq);
    const mine = m.sender === this.me.username;
    const forMe = !mine && !m.ack_of && mentions(m.text, this.names);
    if (!mine && !m.ack_of && (m.priority === "urgent" || forMe)) {
      const play = m.real_world ? `[${t("board.real_world")}] `
        : ch.exercise || this.inExercise() ? `[${t("board.exercise")}] ` : "";
      this.notify(m.priority === "urgent" ? "urgent" : "mention",
        `${play}${m.sender_name} (${m.agency}) · #${ch.name}`, m.text);
    }
    const here = this.current && m.channel === this.current.id;
    if (here) this.showLive(m);
    if (here && document.visibilityState !== "hidden") {
      this.markRead(m.channel);
    } else if (!mine && !m.ack_of) {
      this.unread.set(m.channel, (this.unread.get(m.channel) || 0) + 1);
      if (forMe) this.mentioned.set(m.channel, (this.mentioned.get(m.channel) || 0) + 1);
    }
    this.renderChannels();
  }

  // A message redacted now: its text and files go from the screen too.
  onRedacted({ channel, seq, by, at }) {
    const m = this.cache.get(channel)?.get(seq);
    if (m) $("messages").querySelector(`li[data-seq="${seq}"]`)?.replaceWith(this.renderMessage(Object.assign(m, { redacted: { by, at }, files: 0 })));
  }

  redact(m) {
    const reason = prompt(t("chat.redact_why"));
    if (reason?.trim()) api(`/api/channels/${m.channel}/messages/${m.seq}/redact`, { body: { reason } }).catch((e) => { $("chat-error").textContent = e.message; });
  }

  // One live message: append it (or refresh the urgent message it acknowledges) without
  // rebuilding the list, so a long channel costs the same per message as a short one.
  showLive(m) {
    const list = $("messages");
    if (m.ack_of) {
      const target = this.cache.get(m.channel).get(m.ack_of);
      const li = list.querySelector(`li[data-seq="${m.ack_of}"]`);
      if (target && li) li.replaceWith(this.renderMessage(target));
      return;
    }
    if (m.seq < this.renderedLast) { this.renderMessages({ follow: false }); return; }  // fills a gap
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.querySelector("li.none")?.remove();
    list.insertBefore(this.renderMessage(m), list.querySelector("li.pending"));
    this.renderedLast = m.seq;
    if (atBottom || m.sender === this.me.username) list.scrollTop = list.scrollHeight;
  }

  renderMessages({ follow = true, keepScroll = false } = {}) {
    const ch = this.current;
    if (!ch) return;
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const before = list.scrollHeight - list.scrollTop;
    const msgs = [...this.cache.get(ch.id).values()].filter((m) => !m.ack_of).sort((a, b) => a.seq - b.seq);
    const pending = this.pendingItems(ch.id);
    list.replaceChildren(...msgs.map((m) => this.renderMessage(m)), ...pending);
    if (!msgs.length && !pending.length && !this.hasMore.get(ch.id)) {
      list.append(el("li", { class: "none", text: t("chat.empty") }));
    }
    this.renderedLast = msgs.length ? msgs[msgs.length - 1].seq : 0;
    $("older").hidden = !this.hasMore.get(ch.id);
    if (keepScroll) list.scrollTop = list.scrollHeight - before;
    else if (follow || atBottom) list.scrollTop = list.scrollHeight;
  }

  renderMessage(m) {
    const mine = m.sender === this.me.username;
    const forMe = !mine && mentions(m.text, this.names);
    const alertId = noticeAlert(m);
    const li = el("li", { "data-seq": m.seq, "data-alert": alertId, class: `${m.priority}${forMe ? " mention" : ""}` },
      el("span", { class: "meta", text: `${fmtTime(m.ts)} · ${m.sender_name} (${m.agency})` }),
      m.priority !== "normal" ? el("strong", { class: "prio", text: `${t(`msg.${m.priority}`)} ` }) : null,
      m.label ? el("span", { class: "marking", text: markingOf(m.label) }) : null,
      m.real_world ? el("span", { class: "real-world", text: t("board.real_world") }) : null,
      m.reply_to ? this.replyLine(m) : null,
      el("span", { class: "text" }, richText(m.translation && !m.original && !m.redacted ? m.translation.text : this.wording(m), { mentions: this.names })),
      m.redacted ? null : this.translationLine(m),
      m.files?.length ? this.filesLine(m) : null,
      this.me.canPost && !m.ack_of && m.sender !== "hub" && !m.redacted
        ? el("button", { type: "button", class: "reply", onclick: () => this.replyTo(m), text: t("chat.reply") })
        : null,
      mine && !m.ack_of && !m.redacted
        ? el("button", { type: "button", class: "redact", onclick: () => this.redact(m), text: t("chat.redact") })
        : null);
    if (alertId) {
      li.append(this.alertLine(alertId));   // about the alert, not the message
    } else if (isGroupNotice(m)) {          // each is acknowledged on its own, in Alerts
      li.append(el("div", { class: "acks" }, el("button", { type: "button", class: "group-open",
        onclick: () => this.show("alerts"), text: t("chat.group_open") })));
    } else if (m.priority === "urgent") {
      const who = this.receipts.get(m.channel)?.get(m.seq) || new Map();
      const acked = who.has(this.me.username);
      // Who must still acknowledge, and who is only informed: the alert's own sets,
      // the same the Alerts panel, the board and the export show.
      const alert = this.alerts?.forMessage?.(m.channel, m.seq);
      const pending = alert?.state === "firing" ? alert.pending_agencies || [] : [];
      const informed = alert?.informed_agencies || [];
      li.dataset.urgent = "1";
      li.append(el("div", { class: "acks" },
        el("span", { text: who.size ? t("chat.acked_by", { names: [...who.values()].join(", ") }) : t("chat.not_acked") }),
        pending.length ? el("span", { class: "to-ack", text: ` · ${t("board.pending", { agencies: pending.join(", ") })}` }) : null,
        informed.length ? el("span", { class: "informed", text: ` · ${t("board.informed", { agencies: informed.join(", ") })}` }) : null,
        !mine && !acked && this.me.canPost
          ? el("button", { type: "button", class: "ack-msg", onclick: () => this.acknowledge(m) , text: t("chat.acknowledge") })
          : null));
    }
    return li;
  }

  filesLine(m) {
    return filesOf(`/api/channels/${m.channel}/messages/${m.seq}/files/`, m.files);
  }

  // A reply names what it answers (and takes you there), with its first words when
  // this device holds it.
  replyLine(m) {
    const to = this.cache.get(m.channel)?.get(m.reply_to);
    const text = to ? `${to.sender_name}: ${(to.text || "").slice(0, 80)}` : "";
    return el("a", { class: "reply-to", href: `#msg-${m.reply_to}`, "data-reply-to": m.reply_to,
      onclick: (ev) => { ev.preventDefault(); $("messages").querySelector(`li[data-seq="${m.reply_to}"]`)?.scrollIntoView({ block: "center" }); },
      text: t("chat.reply_to", { seq: m.reply_to, text }) });
  }

  // The composer answers this message until sent or cancelled.
  replyTo(m) {
    if (!m) { this.replying = null; $("replying")?.remove(); return; }
    this.replying = m.seq;
    let bar = $("replying");
    if (!bar) {
      bar = el("p", { id: "replying", class: "replying" }, el("span", {}),
        el("button", { type: "button", onclick: () => this.replyTo(null), text: t("case.cancel") }));
      $("composer").before(bar);
    }
    bar.firstChild.textContent = t("chat.replying", { seq: m.seq, name: m.sender_name });
    $("text").focus();
  }

  // A hub notice in the reader's language (notice.js); anything else as written.
  wording(m) {
    if (m.redacted) return t("chat.redacted", { name: m.redacted.by });
    return noticeWording(m, { alertOf: (id) => this.alerts?.get(id), t, word, summaryOf }) ?? m.text;
  }

  // A notice shows its alert's live state; acknowledging it acknowledges the alert.
  alertLine(id) {
    const a = this.alerts?.get(id);
    let text = t("chat.alert_unknown");
    if (a?.state === "acknowledged") text = t("chat.alert_acked", { user: a.acked_by || "" });
    else if (a?.state === "resolved") text = t("chat.alert_resolved");
    else if (a?.state === "firing") text = t(a.silenced_by ? "chat.alert_silenced" : "chat.alert_firing");
    return el("div", { class: "acks alert-state", "data-state": a?.state || "unknown" },
      el("span", { text }),
      a?.state === "firing" && this.me.canPost
        ? el("button", { type: "button", class: "ack-alert", onclick: () => this.alerts.ack(id), text: t("alert.ack") })
        : null);
  }

  // An alert changed: redraw the notices about it that are on screen.
  refreshAlert(id) {
    if (!this.current) return;
    for (const li of $("messages").querySelectorAll("li[data-alert], li[data-urgent]")) {
      if (id && li.dataset.alert && li.dataset.alert !== id) continue;
      const m = this.cache.get(this.current.id)?.get(Number(li.dataset.seq));
      if (m) li.replaceWith(this.renderMessage(m));
    }
  }

  pendingItems(channel, progress) {
    const queued = this.client.state !== "live";
    const item = (id, priority, status, text) => el("li", { class: `pending ${priority}`, "data-pending": id },
      el("span", { class: "meta", text: status }), el("span", { class: "text", text }));
    return [...this.posts.filter((p) => p.channel === channel).map((p) => item(p.id, p.priority,
      queued ? t("chat.queued") : progress?.post.id === p.id ? `${Math.floor(100 * progress.sent / progress.total)} %` : t("chat.sending"),
      `📎${p.files.length} ${p.text}`)),
    ...this.client.pending(channel).map((f) => item(f.client_msg_id, f.priority, queued ? t("chat.queued") : t("chat.sending"), f.text))];
  }

  async loadPosts() {
    this.posts = await keptPosts(this.me.username);
    this.renderPending();
  }

  sendPosts() {
    import("/attach.js").then((m) => m.sendWaiting({ user: this.me.username, client: this.client, events: this.postEvents }))
      .catch(() => {});   // offline and not kept by the worker yet: again once live
  }

  chosen() {
    const n = $("file").files.length;
    $("chosen").textContent = n ? `📎${n}` : "";
    $("original-row").hidden = !n;
  }

  // Queued and unacknowledged messages sit at the end of the list; only they are redrawn.
  renderPending(progress) {
    if (!this.current) return;
    const list = $("messages");
    for (const li of list.querySelectorAll("li.pending")) li.remove();
    const pending = this.pendingItems(this.current.id, progress);
    if (pending.length) list.querySelector("li.none")?.remove();
    list.append(...pending);
  }

  acknowledge(m) {
    this.client.send({ type: "publish", channel: m.channel, ack_of: m.seq, ref: `ack:${m.seq}` })
      || api(`/api/channels/${encodeURIComponent(m.channel)}/messages/${m.seq}/ack`, { body: {} }).catch(() => {});
  }

  onRejected({ frame, error }) {
    $("chat-error").textContent = t("chat.rejected", { text: frame.text.slice(0, 40), reason: error.reason });
    this.renderPending();
  }

  // --- composer -------------------------------------------------------------------

  draftKey() { return `liaison.draft.${this.me.username}.${this.current?.id}`; }

  onInput() {
    if (!this.current) return;
    localStorage.setItem(this.draftKey(), $("text").value);
    this.client.typing(this.current.id);
  }

  send() {
    const input = $("text");
    const text = input.value.trim();
    const files = [...$("file").files];
    if ((!text && !files.length) || !this.current) return;
    const extra = $("real-world").checked ? { real_world: true, lang: language() } : { lang: language() };
    if (this.replying) extra.reply_to = this.replying;
    if (files.length) {   // kept on the device first, files and all; sent by attach.js
      const post = { id: newId(), channel: this.current.id, text: text || files.map((f) => f.name).join(", "),
        priority: $("priority").value, extra, original: $("original").checked, at: Date.now(),
        files: files.map((f) => ({ blob: f, name: f.name, type: f.type })) };
      this.posts.push(post);
      keepPost(this.me.username, post).then(() => this.sendPosts());
      $("file").value = "";
      $("original").checked = false;
      this.chosen();
    } else {
      this.client.publish(this.current.id, text, $("priority").value, undefined, extra);   // queued if offline
    }
    input.value = "";
    localStorage.removeItem(this.draftKey());
    $("priority").value = "normal";
    $("real-world").checked = false;
    if (this.replying) this.replyTo(null);
    this.renderPending();
    $("messages").scrollTop = $("messages").scrollHeight;
  }

  // --- presence and typing ----------------------------------------------------------

  onPresence(p) {
    if (!this.current || p.channel !== this.current.id) return;
    $("presence").replaceChildren(...p.users.map((u) => el("li", { text: `${u.display_name} (${u.agency})` })));
  }

  onTyping(x) {
    if (!this.current || x.channel !== this.current.id) return;
    $("typing").textContent = t("chat.typing", { name: x.display_name });
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 3000);
  }
}
