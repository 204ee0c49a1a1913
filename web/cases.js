// Cases: a list ranked by urgency (from the live board), a detail view with the
// timeline, and create/update/comment/assign/close with conflict handling.
import { api } from "/protocol.js";
import { $, el, richText, fmtTime, fmtNumber, filesOf } from "/dom.js";
import { t, word, language, mtFrom } from "/i18n.js";
import { view, markingOf, titleOf } from "/board-model.js";
import { fillList } from "/long-list.js";
import { CASE_CATEGORIES as CATEGORIES, SEVERITIES, CASE_STATUSES as STATUSES } from "/vocabulary.js";

// JSON with sorted keys, to compare values whatever order their keys came in.
function canon(v) {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`;
  return JSON.stringify(v ?? null);
}


// A case field's name and value as people read them, in the chosen language.
function label(key) {
  const text = t(`case.${key}`);
  return text === `case.${key}` ? key.replace(/_/g, " ") : text;
}

function shown(key, v) {
  if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) return "—";
  const kind = key === "severity" ? "sev" : key === "status" ? "status" : key === "category" ? "cat" : null;
  if (kind) return word(kind, v);
  if (typeof v === "number") return fmtNumber(v);
  if (typeof v === "boolean") return v ? t("yes") : t("no");
  if (Array.isArray(v)) return v.map((x) => shown("", x)).join(", ");
  if (key === "location" && typeof v === "object") {
    const at = typeof v.lat === "number" && typeof v.lon === "number" ? `${fmtNumber(v.lat)}, ${fmtNumber(v.lon)}` : "";
    return [v.place, at].filter(Boolean).join(" · ") || "—";
  }
  if (typeof v === "object") return Object.entries(v).map(([k, x]) => `${label(k)} ${shown(k, x)}`).join(", ");
  return String(v);
}

function newKey() {
  return globalThis.crypto?.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Cases {
  constructor({ me, getBoard, members, queue }) {
    this.me = me;
    this.queue = queue;              // writes made offline wait here (outbox.js)
    this.getBoard = getBoard;
    this.members = members;          // () -> [{username, display_name, agency}]
    this.op = null;
    this.openId = null;
    this.editing = null;             // {id, version} while the form edits a case
    $("new-case").addEventListener("click", () => this.showForm(null));
    $("case-filter").addEventListener("change", () => this.renderList());
    $("case-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.save(); });
    $("case-cancel").addEventListener("click", () => this.hideForm());
    $("comment-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.comment(); });
    $("case-back").addEventListener("click", () => this.closeDetail());
    $("locate").addEventListener("click", () => this.locate());
    this.fillSelect($("case-category"), CATEGORIES, "cat");
    this.fillSelect($("case-severity"), SEVERITIES, "sev");
    this.fillSelect($("case-status"), STATUSES, "status");
  }

  fillSelect(select, values, kind) {
    select.replaceChildren(...values.map((v) => el("option", { value: v, text: word(kind, v) })));
  }

  retranslate() {
    this.fillSelect($("case-category"), CATEGORIES, "cat");
    this.fillSelect($("case-severity"), SEVERITIES, "sev");
    this.fillSelect($("case-status"), STATUSES, "status");
    this.renderList();
    if (this.openId) this.openDetail(this.openId);
  }

  setOperation(op) {
    this.op = op;
    this.closeDetail();
    this.hideForm();
    this.renderList();
  }

  base() { return `/api/operations/${encodeURIComponent(this.op.id)}/cases`; }

  // --- list -----------------------------------------------------------------------

  renderList() {
    const board = this.getBoard();
    if (!board || $("panel-cases").hidden) return;   // drawn when its tab shows
    const all = $("case-filter").value === "all";
    const rows = all
      ? [...board.cases.values()].sort((a, b) => b.updated_at - a.updated_at)
      : view(board).openCases;
    fillList($("case-list"), rows, (c) => el("li", { class: `sev-${c.severity}`, "data-case": c.id },
      el("button", { type: "button", class: "linkish", onclick: () => this.openDetail(c.id) },
        el("span", { class: `sev sev-${c.severity}`, text: word("sev", c.severity) }),
        c.real_world ? el("span", { class: "real-world", text: t("board.real_world") }) : null,
        c.exercise ? el("span", { class: "exercise", text: t("board.exercise") }) : null,
        c.marking ? el("span", { class: "marking", text: c.marking }) : null,
        caseTitle(board, c)),
      el("span", { class: "meta", text: ` ${word("status", c.status)}${c.place ? ` · ${c.place}` : ""} · ${fmtTime(c.updated_at)}` })),
      t("board.none"));
  }

  // --- live updates ---------------------------------------------------------------

  onEvent(f) {
    if (f.kind !== "case" && f.kind !== "alert") return;   // the list is drawn by app.js
    if (!this.openId) return;   // no case open (an alert without a case has case_id null)
    const touches = f.kind === "case" ? f.id === this.openId : f.record?.case_id === this.openId;
    if (!touches) return;
    if (this.editing && this.editing.id === f.id && f.version > this.editing.version) {
      $("case-form-msg").textContent = t("case.changed_meanwhile", { actor: f.actor });
    }
    this.openDetail(this.openId, { keepForm: true });
  }

  // --- detail ---------------------------------------------------------------------

  async openDetail(id, { keepForm = false } = {}) {
    this.openId = id;
    // Another case than the one on screen: nothing of that one stays (no data, no Edit)
    // while this one loads, or if it cannot.
    if (this.current?.id !== id) this.placeholder(id);
    let c;
    let timeline;
    try {
      c = await api(`${this.base()}/${encodeURIComponent(id)}?lang=${language()}`);
      ({ timeline } = await api(`${this.base()}/${encodeURIComponent(id)}/timeline`));
    } catch (err) {
      if (this.openId !== id) return;
      const offline = err instanceof TypeError || globalThis.navigator?.onLine === false;
      $("case-detail-msg").textContent = offline ? t("case.not_offline") : err.message;
      $("case-detail-msg").hidden = false;
      return;
    }
    if (this.openId !== id) return;
    this.current = c;
    $("case-detail-msg").hidden = true;
    $("case-list-part").hidden = true;
    $("case-detail").hidden = false;
    if (!keepForm) this.hideForm();
    const tr = c.translation, mt = tr && !this.original;   // machine translated, the original a tap away
    $("case-title").textContent = mt ? tr.title : c.title;
    const loc = c.location || {};
    // Figures by their names in the user's language, values as the locale writes them.
    const fields = Object.entries(c.fields || {}).map(([k, v]) => `${label(k)}: ${shown(k, v)}`).join(" · ");
    $("case-facts").replaceChildren(
      el("dt", { text: t("case.severity") }), el("dd", {}, el("span", { class: `sev sev-${c.severity}`, text: word("sev", c.severity) })),
      el("dt", { text: t("case.status") }), el("dd", { text: word("status", c.status) }),
      el("dt", { text: t("case.category") }), el("dd", { text: word("cat", c.category) }),
      el("dt", { text: t("case.place") }), el("dd", { text: [loc.place, loc.lat !== undefined ? `${loc.lat}, ${loc.lon}` : null].filter(Boolean).join(" · ") || "—" }),
      el("dt", { text: t("case.assignees") }), el("dd", { text: (c.assignees || []).join(", ") || "—" }),
      el("dt", { text: t("case.fields") }), el("dd", { text: fields || "—" }),
      el("dt", { text: t("case.reported") }), el("dd", { text: `${c.reporting_agency} · ${c.created_by} · ${fmtTime(c.created_at)}` }),
      el("dt", { text: t("case.updated") }), el("dd", { text: `${c.updated_by} · ${fmtTime(c.updated_at)} · v${c.version}` }),
      ...(c.exercise ? [el("dt", { text: t("board.exercise") }), el("dd", { text: t("case.exercise") })] : []),
      ...(c.real_world ? [el("dt", { text: t("board.real_world") }), el("dd", {}, el("span", { class: "real-world", text: t("case.real_world") }))] : []),
      ...(c.label ? [el("dt", { text: t("case.marking") }), el("dd", {}, el("span", { class: "marking", text: markingOf(c.label) }))] : []),
    );
    $("case-description").replaceChildren(richText((mt ? tr.description : c.description) || ""),
      tr ? el("p", { class: "mt" }, mtFrom(tr.source, tr.reviewed_by), " · ",
        el("button", { type: "button", class: "linkish", onclick: () => { this.original = !this.original; this.openDetail(id); },
          text: t(mt ? "chat.mt_original" : "chat.mt_translation") })) : "",
      ...(c.files?.length ? [filesOf(`${this.base()}/${c.id}/files/`, c.files)] : []));
    $("case-actions").replaceChildren(...(this.me.canPost ? [
      el("button", { type: "button", onclick: () => this.showForm(this.current), text: t("case.edit") }),
      el("button", { type: "button", onclick: () => this.assignMe(), text: t("case.assign_me") }),
      c.status !== "closed" ? el("button", { type: "button", class: "danger", onclick: () => this.quick({ status: "closed" }), text: t("case.close") }) : null,
    ].filter(Boolean) : []));
    $("comment-form").hidden = !this.me.canPost;
    $("timeline").replaceChildren(...timeline.map((e) => el("li", { class: e.kind },
      el("span", { class: "meta", text: `${fmtTime(e.ts, { seconds: true })} · ${e.actor} · ` }),
      el("span", { text: this.describe(e) }))));
  }

  // The detail of a case not loaded yet: its title from the board, if the board has it.
  placeholder(id) {
    this.current = null;
    if (this.editing?.id !== id) this.hideForm();
    $("case-list-part").hidden = true;
    $("case-detail").hidden = false;
    const board = this.getBoard(), row = board?.cases.get(id);
    $("case-title").textContent = row ? titleOf(board, row).text : "";
    for (const part of ["case-facts", "case-description", "case-actions", "timeline"]) $(part).replaceChildren();
    $("comment-form").hidden = true;
    $("case-detail-msg").textContent = t("case.loading");
    $("case-detail-msg").hidden = false;
  }

  describe(e) {
    if (e.kind === "alert") return t(`case.tl.alert_${e.action}`, { summary: e.record?.summary || "" }) ;
    if (e.action === "commented") return `${t("case.tl.commented")}: ${e.comment?.text || ""}`;
    const changes = [];
    for (const [k, [a, b]] of Object.entries(e.changes || {})) {
      if (k === "fields") {  // one line per figure that changed, not the whole object
        const before = a || {}, after = b || {};
        for (const f of new Set([...Object.keys(before), ...Object.keys(after)])) {
          if (canon(before[f]) !== canon(after[f])) changes.push(`${label(f)}: ${shown(f, before[f])} → ${shown(f, after[f])}`);
        }
      } else {
        changes.push(`${label(k)}: ${shown(k, a)} → ${shown(k, b)}`);
      }
    }
    return [t(`case.tl.${e.action}`), ...changes].join(" · ");
  }

  closeDetail() {
    this.openId = null;
    $("case-detail").hidden = true;
    $("case-list-part").hidden = false;
  }

  // --- writing --------------------------------------------------------------------

  showForm(c) {
    // base: the case as it was when editing began; only what the user changed from it is sent,
    // so a save after a conflict keeps the other person's changes to other fields.
    this.editing = c ? { id: c.id, version: c.version, base: c } : null;
    const f = $("case-form");
    f.hidden = false;
    $("case-form-msg").textContent = "";
    $("case-form-title").textContent = c ? t("case.edit") : t("case.new");
    this.fillForm(c);
    f.elements.title.focus();
  }

  fillForm(c) {
    const f = $("case-form");
    f.elements.title.value = c?.title || "";
    f.elements.description.value = c?.description || "";
    f.elements.category.value = c?.category || "incident";
    f.elements.severity.value = c?.severity || "major";
    f.elements.status.value = c?.status || "open";
    f.elements.status.disabled = !c;
    f.elements.place.value = c?.location?.place || "";
    f.elements.lat.value = c?.location?.lat ?? "";
    f.elements.lon.value = c?.location?.lon ?? "";
    f.elements.assignees.value = (c?.assignees || []).join(", ");
    f.elements.casualties.value = c?.fields?.casualties ?? "";
    f.elements.people_affected.value = c?.fields?.people_affected ?? "";
    f.elements.exercise.checked = c ? !!c.exercise : !!this.op?.exercise;   // play, in an exercise
    f.elements.real_world.checked = !!c?.real_world;
    this.fillLevels(c);
  }

  // The levels a case may take: up to the operation's and the user's own clearance.
  async fillLevels(c) {
    const select = $("case-form").elements.level;
    const base = c?.label || this.op?.label || null;
    if (!this.labels) {
      try { this.labels = await api("/api/labels"); } catch { this.labels = null; }
    }
    const levels = this.labels?.policy.levels || [];
    const top = Math.min(levels.indexOf(this.op?.label?.level ?? levels.at(-1)),
                         levels.indexOf(this.labels?.clearance.level ?? levels[0]));
    select.replaceChildren(...levels.slice(0, Math.max(top, 0) + 1).map((level) =>
      el("option", { value: level, text: level })));
    select.value = base?.level || levels[0] || "";
    select.dataset.categories = JSON.stringify(base?.categories || {});
  }

  // Fill the position from the device (a responder on site); typing it stays possible.
  locate() {
    const f = $("case-form").elements;
    if (!navigator.geolocation) { $("case-form-msg").textContent = t("case.no_location"); return; }
    $("case-form-msg").textContent = t("case.locating");
    navigator.geolocation.getCurrentPosition((pos) => {
      f.lat.value = pos.coords.latitude.toFixed(6);
      f.lon.value = pos.coords.longitude.toFixed(6);
      $("case-form-msg").textContent = "";
    }, () => { $("case-form-msg").textContent = t("case.no_location"); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  hideForm() { $("case-form").hidden = true; this.editing = null; }

  formData() {
    const f = $("case-form").elements;
    const location = {};
    if (f.place.value.trim()) location.place = f.place.value.trim();
    if (f.lat.value !== "" && f.lon.value !== "") { location.lat = Number(f.lat.value); location.lon = Number(f.lon.value); }
    const fields = {};
    for (const k of ["casualties", "people_affected"]) if (f[k].value !== "") fields[k] = Number(f[k].value);
    const data = {
      title: f.title.value.trim(), description: f.description.value, category: f.category.value,
      severity: f.severity.value, assignees: f.assignees.value.split(",").map((s) => s.trim()).filter(Boolean),
      location: Object.keys(location).length ? location : null, fields,
      exercise: f.exercise.checked && !f.real_world.checked, real_world: f.real_world.checked,
    };
    if (this.editing) data.status = f.status.value;
    // The label keeps the case's (or the operation's) releasability; the level is chosen.
    if (f.level.value) data.label = { level: f.level.value, categories: JSON.parse(f.level.dataset.categories || "{}") };
    return data;
  }

  // What the user changed in the form from the case as it was when editing began.
  changedFields(data) {
    const base = this.editing.base;
    const before = (k, v) => (k === "fields"
      ? Object.fromEntries(Object.keys(v).map((f) => [f, (base.fields || {})[f]]))
      : base[k] ?? null);
    return Object.fromEntries(Object.entries(data).filter(([k, v]) => canon(v) !== canon(before(k, v))));
  }

  async save() {
    const data = this.formData();
    const changed = this.editing ? this.changedFields(data) : null;
    const key = newKey();   // one per save: a retry of this save is stored once
    try {
      if (this.editing) {
        if (!Object.keys(changed).length) { this.hideForm(); return; }
        const { sent, result } = await this.queue.send(`${this.base()}/${encodeURIComponent(this.editing.id)}`,
          { method: "PATCH", body: { ...changed, version: this.editing.version, idempotency_key: key },
            label: `${t("case.edit")}: ${this.editing.base.title}` });
        this.hideForm();
        if (sent) await this.openDetail(result.id);
        else $("case-msg").textContent = t("outbox.queued");
      } else {
        const { sent, result } = await this.queue.send(this.base(),
          { body: { ...data, idempotency_key: key }, label: `${t("case.new")}: ${data.title}` });
        this.hideForm();
        if (sent) await this.openDetail(result.id);
        else { this.closeDetail(); $("case-msg").textContent = t("outbox.queued"); }
      }
    } catch (err) {
      if (err.status === 409 && err.body?.current && this.editing) {
        // Someone else saved first: the form now shows their version, with what this user
        // changed kept on top; saving again applies just those changes to theirs.
        const current = err.body.current;
        this.editing = { id: current.id, version: current.version, base: current };
        this.fillForm({ ...current, ...changed,
          fields: { ...(current.fields || {}), ...(changed.fields || {}) } });
        $("case-form-msg").textContent = t("case.conflict", { actor: current.updated_by });
        this.current = current;
      } else {
        $("case-form-msg").textContent = err.message;
      }
    }
  }

  async quick(changes) {
    try {
      const { sent } = await this.queue.send(`${this.base()}/${encodeURIComponent(this.current.id)}`,
        { method: "PATCH", body: { ...changes, version: this.current.version, idempotency_key: newKey() },
          label: this.current.title });
      if (!sent) { $("case-msg").textContent = t("outbox.queued"); return; }
    } catch (err) {
      $("case-msg").textContent = err.status === 409 ? t("case.conflict", { actor: err.body?.current?.updated_by }) : err.message;
    }
    await this.openDetail(this.current.id);
  }

  assignMe() {
    const set = new Set(this.current.assignees || []);
    set.add(this.me.username);
    return this.quick({ assignees: [...set] });
  }

  async comment() {
    const input = $("comment-text");
    const text = input.value.trim();
    if (!text) return;
    try {
      await api(`${this.base()}/${encodeURIComponent(this.openId)}/comments`, { body: { text } });
      input.value = "";
    } catch (err) { $("case-msg").textContent = err.message; }
    await this.openDetail(this.openId);
  }
}

// A case's title in the reader's language where a translation of it is kept, marked so,
// the original in its tooltip (and a tap away in the case itself).
export function caseTitle(board, c) {
  const { text, from, by } = titleOf(board, c);
  return el("strong", { class: from ? "title mt-t" : "title", text, title: from && `${mtFrom(from, by)}: ${c.title}` });
}
