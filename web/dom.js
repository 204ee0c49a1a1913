// Small DOM helpers shared by the screens. Text always goes in with textContent;
// the only markup we make is elements we create ourselves.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

// Message text as nodes: plain text, with http(s) URLs as links (nothing else becomes markup).
export function richText(text, { mentions = [] } = {}) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    appendMentions(frag, text.slice(last, m.index), mentions);
    let href = m[0].replace(/[.,;:!?)]+$/, "");
    try {
      const u = new URL(href);
      if (u.protocol === "http:" || u.protocol === "https:") {
        frag.append(el("a", { href: u.href, rel: "noopener noreferrer nofollow", target: "_blank", text: href }));
      } else frag.append(href);
    } catch { frag.append(href); }
    last = m.index + href.length;
  }
  appendMentions(frag, text.slice(last), mentions);
  return frag;
}

function appendMentions(frag, text, mentions) {
  if (!mentions.length || !text) { if (text) frag.append(text); return; }
  const re = new RegExp(`(@(?:${mentions.map(escapeRe).join("|")}))\\b`, "gi");
  let last = 0;
  for (const m of text.matchAll(re)) {
    frag.append(text.slice(last, m.index));
    frag.append(el("mark", { class: "mention-me", text: m[0] }));
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

// Does this text mention one of the names (@alice, @POLICE)?
export function mentions(text, names) {
  return names.some((n) => new RegExp(`@${escapeRe(n)}\\b`, "i").test(text));
}

// Dates and numbers in the language the user chose (i18n.setLanguage sets <html lang>),
// not the browser's: a French user reads French dates whatever the phone's locale.
// The browser's own variant of that language when it has one (en-GB: a 24-hour clock,
// en-US: 12-hour), else the language itself (fr: 24-hour).
export function locale() {
  const lang = document.documentElement.lang || "";
  const own = (globalThis.navigator?.languages || []).find((l) => l.split("-")[0] === lang);
  return own || lang || undefined;
}

// A moment: day, month and time (with seconds where order within a minute matters: a
// timeline, the replay slider); clock(): the time alone.
// Formatters are costly to make and cheap to use: one per locale and kind, kept (a list
// of a thousand alerts formats a thousand times).
const formats = new Map();
function format(kind, make) {
  const key = `${kind} ${locale()}`;
  if (!formats.has(key)) formats.set(key, make(locale()));
  return formats.get(key);
}

export function fmtTime(ts, { seconds = false } = {}) {
  return ts ? format(seconds ? "ts" : "t", (l) => new Intl.DateTimeFormat(l, { hour: "2-digit", minute: "2-digit",
    day: "2-digit", month: "short", ...(seconds ? { second: "2-digit" } : {}) })).format(new Date(ts * 1000)) : "";
}

export function clock(date = new Date()) {
  return format("c", (l) => new Intl.DateTimeFormat(l, { hour: "2-digit", minute: "2-digit", second: "2-digit" })).format(date);
}

export function fmtNumber(n) {
  return format("n", (l) => new Intl.NumberFormat(l, { maximumFractionDigits: 6 })).format(n);
}

// A message's or case's files under `base` (".../files/"): a photo as its thumbnail,
// a tap opening its preview; anything else a download under the name it was sent as.
export function filesOf(base, files) {
  return el("div", { class: "files" }, ...files.map((f, i) => f.thumbnail
    ? el("a", { class: "file", href: `${base}${i}?variant=preview`, target: "_blank" },
        el("img", { src: `${base}${i}?variant=thumbnail`, alt: f.name, loading: "lazy" }))
    : el("a", { class: "file", href: base + i, download: f.name, text: f.name })));
}
