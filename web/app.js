// The minimal chat page: log in, pick an operation and channel, read history,
// chat live, survive reconnects. Text is only ever set with textContent.
import { HubClient, api } from "/protocol.js";

const $ = (id) => document.getElementById(id);
const state = { client: null, operation: null, channel: null, oldest: null, typingTimer: null };

function show(el, on) { el.hidden = !on; }

function setConn(s) {
  const el = $("conn");
  el.className = `conn ${s}`;
  el.textContent = s;
}

async function boot() {
  $("login").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", onLogout);
  $("operations").addEventListener("change", () => openOperation($("operations").value));
  $("composer").addEventListener("submit", onSend);
  $("text").addEventListener("input", () => state.channel && state.client.typing(state.channel.id));
  $("older").addEventListener("click", loadOlder);
  try {
    const me = await api("/api/me");
    await start(me.user);
  } catch {
    show($("login"), true);
  }
}

async function onLogin(ev) {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = { username: form.get("username"), password: form.get("password") };
  if (form.get("totp")) body.totp = form.get("totp");
  $("login-error").textContent = "";
  try {
    const res = await api("/api/auth/login", { body });
    ev.target.reset();
    await start(res.user);
  } catch (err) {
    if (err.code === "totp_required") show($("totp-row"), true);
    $("login-error").textContent = err.message;
  }
}

async function onLogout() {
  try { await api("/api/auth/logout", { body: {} }); } catch { /* already gone */ }
  location.reload();
}

async function start(user) {
  show($("login"), false);
  show($("chat"), true);
  show($("logout"), true);
  $("whoami").textContent = `${user.display_name} (${user.agency})`;
  const client = new HubClient();
  state.client = client;
  client.addEventListener("state", (e) => {
    setConn(e.detail.state);
    if (e.detail.state === "ended") $("chat-error").textContent = "Your session ended. Log in again.";
  });
  client.addEventListener("message", (e) => onMessage(e.detail));
  client.addEventListener("ack", (e) => markAcked(e.detail));
  client.addEventListener("presence", (e) => onPresence(e.detail));
  client.addEventListener("typing", (e) => onTyping(e.detail));
  client.addEventListener("reset", (e) => { if (state.channel && e.detail.channel === state.channel.id) openChannel(state.channel); });
  client.addEventListener("hub-error", (e) => { $("chat-error").textContent = `${e.detail.code}: ${e.detail.reason}`; });
  client.connect();
  const { operations } = await api("/api/operations");
  const select = $("operations");
  select.replaceChildren(...operations.map((op) => {
    const o = document.createElement("option");
    o.value = op.id;
    o.textContent = `${op.code} — ${op.name}`;
    return o;
  }));
  state.operations = new Map(operations.map((op) => [op.id, op]));
  if (operations.length) await openOperation(operations[0].id);
}

async function openOperation(opId) {
  const op = state.operations.get(opId);
  state.operation = op;
  const banner = $("classification");
  banner.textContent = op.classification;
  show(banner, Boolean(op.classification));
  const { channels } = await api(`/api/operations/${encodeURIComponent(opId)}/channels`);
  $("channels").replaceChildren(...channels.map((ch) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `# ${ch.name}${ch.restricted ? " (restricted)" : ""}`;
    b.dataset.channel = ch.id;
    b.addEventListener("click", () => openChannel(ch));
    li.append(b);
    return li;
  }));
  if (channels.length) await openChannel(channels[0]);
}

async function openChannel(ch) {
  if (state.channel && state.channel.id !== ch.id) state.client.unsubscribe(state.channel.id);
  state.channel = ch;
  for (const b of $("channels").querySelectorAll("button")) {
    b.setAttribute("aria-current", String(b.dataset.channel === ch.id));
  }
  $("channel-title").textContent = `# ${ch.name}`;
  $("channel-topic").textContent = ch.topic || "";
  $("messages").replaceChildren();
  $("presence").replaceChildren();
  const { messages, has_more } = await api(`/api/channels/${encodeURIComponent(ch.id)}/messages?limit=50`);
  for (const m of messages) appendMessage(m);
  state.oldest = messages.length ? messages[0].seq : null;
  show($("older"), has_more);
  const last = messages.length ? messages[messages.length - 1].seq : 0;
  state.client.lastSeq.set(ch.id, last);
  state.client.subscribe(ch.id, last);
}

async function loadOlder() {
  if (!state.channel || state.oldest === null) return;
  const { messages, has_more } = await api(
    `/api/channels/${encodeURIComponent(state.channel.id)}/messages?limit=50&before_seq=${state.oldest}`);
  const list = $("messages");
  const first = list.firstChild;
  for (const m of messages) list.insertBefore(renderMessage(m), first);
  if (messages.length) state.oldest = messages[0].seq;
  show($("older"), has_more);
}

function renderMessage(m) {
  const li = document.createElement("li");
  li.dataset.seq = m.seq;
  li.className = m.priority;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${new Date(m.ts * 1000).toLocaleTimeString()} ${m.sender_name} · ${m.agency}`;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = m.text;            // never interpreted as HTML
  li.append(meta, text);
  return li;
}

function appendMessage(m) {
  const list = $("messages");
  const pending = m.client_msg_id ? list.querySelector(`li[data-pending="${CSS.escape(m.client_msg_id)}"]`) : null;
  if (pending) pending.remove();
  list.append(renderMessage(m));
  list.scrollTop = list.scrollHeight;
}

function onMessage(m) {
  if (!state.channel || m.channel !== state.channel.id) return;
  if ($("messages").querySelector(`li[data-seq="${m.seq}"]`)) return;
  appendMessage(m);
}

function markAcked(ack) {
  const li = $("messages").querySelector(`li[data-pending="${CSS.escape(ack.client_msg_id)}"]`);
  if (li) li.remove();     // the live message frame shows it with its seq
}

function onSend(ev) {
  ev.preventDefault();
  const input = $("text");
  const text = input.value.trim();
  if (!text || !state.channel) return;
  const id = state.client.publish(state.channel.id, text, $("priority").value);
  const li = document.createElement("li");
  li.className = "pending";
  li.dataset.pending = id;
  li.textContent = `${text} (sending…)`;
  $("messages").append(li);
  input.value = "";
}

function onPresence(p) {
  if (!state.channel || p.channel !== state.channel.id) return;
  $("presence").replaceChildren(...p.users.map((u) => {
    const li = document.createElement("li");
    li.textContent = `${u.display_name} · ${u.agency}`;
    return li;
  }));
}

function onTyping(t) {
  if (!state.channel || t.channel !== state.channel.id) return;
  $("typing").textContent = `${t.display_name} is typing…`;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 3000);
}

boot();
