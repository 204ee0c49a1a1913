// Long lists stay cheap: a list shows its first PAGE items and a "Show more" row; the
// row adds the next page when tapped or when it scrolls into view. However many
// alerts a storm brings, a render builds at most what was on screen, so a phone's
// main thread is never held for long. How far a list was opened is kept across renders.
import { el } from "/dom.js";
import { t } from "/i18n.js";

export const PAGE = 50;
const shown = new Map();            // list key -> how many items it shows
const io = globalThis.IntersectionObserver
  ? new IntersectionObserver((seen) => {
    for (const e of seen) if (e.isIntersecting) { io.unobserve(e.target); e.target.click(); }
  })
  : null;

// Fill `list` with render(item) for the first items, and a row that shows more. `key`
// names the list when its element is made anew on each render (the board's).
export function fillList(list, items, render, empty, key = list.id) {
  if (!items.length) { shown.delete(key); list.replaceChildren(el("li", { class: "none", text: empty })); return; }
  const n = Math.min(items.length, Math.max(PAGE, shown.get(key) || 0));
  const rows = items.slice(0, n).map(render);
  if (n < items.length) {
    const more = el("button", { type: "button", class: "more-rows", onclick: () => {
      shown.set(key, n + PAGE);
      fillList(list, items, render, empty, key);
    }, text: t("list.more", { shown: n, total: items.length }) });
    rows.push(el("li", { class: "more" }, more));
    io?.observe(more);
  }
  list.replaceChildren(...rows);
}
