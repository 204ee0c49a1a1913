// The board's map: open cases with a location as markers coloured (and sized) by
// severity, over the bundled country outlines and, when the deployment has one, its
// own tile server's tiles. Fetched the first time a board is shown (board-view.js
// mapOf), never on a phone's first load. One SVG drawn in page pixels; the outlines
// are one group scaled by a transform, so a pan or a zoom rewrites one attribute and
// the markers. A tap, click or Enter on a marker opens the case (onOpen).
import { api } from "/protocol.js";
import { t, word } from "/i18n.js";
import { SEVERITY_RANK } from "/vocabulary.js";
import { BOARD_SEVERITIES } from "/board-model.js";
import {
  project, toScreen, fit, zoomed, panned, tilesFor, tileHref, decodeTopology, ringsPath, located, clusters,
} from "/map-geo.js";
import { fillList } from "/long-list.js";

const NS = "http://www.w3.org/2000/svg";
const RADIUS = { critical: 11, major: 9, minor: 7, info: 6 };   // size says severity, not colour alone
const HIT = 22;                                                 // 44 px to tap
const APART = 2 * HIT;   // markers closer than this on screen join a cluster with a count

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

function html(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** The map's settings and outlines from the hub (both kept by the service worker). */
export async function createMap(host, { onOpen }) {
  const config = await api("/api/map");
  let outlines = [];
  try {
    const r = await fetch(config.basemap, { credentials: "same-origin" });
    if (r.ok) outlines = decodeTopology(await r.json(), "countries");
  } catch { /* offline before the outlines were ever kept: markers on a plain sea */ }
  return new BoardMap(host, { onOpen, config, outlines });
}

export class BoardMap {
  constructor(host, { onOpen, config, outlines }) {
    this.host = host;
    this.onOpen = onOpen;
    this.config = config;
    this.cases = [];
    this.view = null;
    this.moved = false;            // the user panned or zoomed: live updates keep their view
    this.land = svg("g", { class: "land" }, ...outlines.map((c) =>
      svg("path", { d: ringsPath(c.rings), "data-country": c.id ?? "" })));
    this.tiles = svg("g", { class: "tiles" });
    this.markers = svg("g", { class: "markers" });
    this.svg = svg("svg", { class: "map", role: "group", "aria-roledescription": "map", "aria-labelledby": "map-h" },
      svg("rect", { class: "sea", x: 0, y: 0, width: "100%", height: "100%" }), this.land, this.tiles, this.markers);
    this.legend = html("ul", { class: "map-legend" });
    this.unplaced = html("p", { class: "map-unplaced none" });
    this.inView = html("ul", { class: "list map-in-view", "aria-labelledby": "map-in-view-h" });
    this.inViewHead = html("h3", { id: "map-in-view-h", class: "map-in-view-h" });
    const button = (text, key, fn) => html("button", { type: "button", "data-label": key, text, onclick: fn });
    this.controls = html("div", { class: "map-controls" },
      button("+", "map.zoom_in", () => this.setView(zoomed(this.view, 2), true)),
      button("−", "map.zoom_out", () => this.setView(zoomed(this.view, 0.5), true)),
      button("⤢", "map.fit", () => { this.moved = false; this.setView(this.fitted(), false); }));
    const credit = config.tile_url ? html("small", { class: "map-credit", text: config.attribution || "" }) : null;
    host.replaceChildren(html("div", { class: "map-frame" }, this.svg, this.controls), this.legend, this.unplaced,
      ...(credit ? [credit] : []), this.inViewHead, this.inView);
    this.drag();
    new ResizeObserver(() => this.draw()).observe(this.svg);
  }

  size() {
    const r = this.svg.getBoundingClientRect();
    return [r.width, r.height];
  }

  fitted() {
    const [w, h] = this.size();
    // Without tiles the outlines are country-scale, but the cases still sit where they
    // are: a flood in one valley fits the valley, not the country.
    return fit(located(this.cases).map((c) => project(c.lon, c.lat)), w, h, { maxZoom: 14 });
  }

  /** The open cases to show (board rows, located or not); the view follows them until moved. */
  update(cases) {
    this.cases = cases;
    if (!this.moved || !this.view) this.view = this.fitted();
    this.draw();
    this.keepArea();
  }

  // With the deployment's tile archive (served by the hub itself), the tiles of the
  // operation's area — where its cases are, at the fitted zoom, one closer and three
  // further out — are fetched once so the service worker keeps them: the map works
  // offline there.
  keepArea() {
    const [w, h] = this.size();
    if (!this.config.tile_url?.startsWith("/") || !w || !h) return;
    const view = this.fitted();
    const key = `${Math.round(view.cx)}:${Math.round(view.cy)}:${view.scale.toFixed(3)}`;
    if (key === this.kept) return;
    this.kept = key;
    const wanted = [];
    for (const factor of [1 / 8, 1 / 4, 1 / 2, 1, 2]) {   // the valley's surroundings too
      const v = { ...view, scale: view.scale * factor };
      wanted.push(...tilesFor(v, w, h, { ...this.zooms(), limit: 48 }));
    }
    const urls = [...new Set(wanted.map((tile) => tileHref(this.config.tile_url, tile)))];
    (async () => { for (const url of urls) await fetch(url, { credentials: "same-origin" }).catch(() => null); })();
  }

  setView(view, moved) {
    this.view = view;
    this.moved = this.moved || moved;
    this.draw();
  }

  draw() {
    const [w, h] = this.size();
    if (!w || !h) return;                          // hidden: drawn when shown (ResizeObserver)
    if (!this.view || !this.moved) this.view = this.fitted();
    const v = this.view;
    this.land.setAttribute("transform", `translate(${w / 2 - v.cx * v.scale} ${h / 2 - v.cy * v.scale}) scale(${v.scale})`);
    this.drawTiles(w, h);
    this.drawMarkers(w, h);
    this.drawLegend();
    this.host.dataset.zoom = Math.log2(v.scale).toFixed(2);
  }

  zooms() {
    return { minZoom: this.config.min_zoom ?? 0, maxZoom: this.config.max_zoom ?? 19 };
  }

  drawTiles(w, h) {
    if (!this.config.tile_url) return;
    this.tiles.replaceChildren(...tilesFor(this.view, w, h, this.zooms()).map((tile) => svg("image", {
      href: tileHref(this.config.tile_url, tile), x: tile.left, y: tile.top, width: tile.size + 0.5, height: tile.size + 0.5,
      preserveAspectRatio: "none", "data-tile": `${tile.z}/${tile.x}/${tile.y}`,
    })));
  }

  drawMarkers(w, h) {
    // Most severe first, so a cluster sits where its worst case is; drawn least severe
    // first, so the critical ones are on top.
    const points = located(this.cases).sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])
      .map((c) => { const [x, y] = toScreen(this.view, w, h, project(c.lon, c.lat)); return { x, y, item: c }; });
    const groups = clusters(points, APART).reverse();
    this.markers.replaceChildren(...groups.map((g) => (g.items.length === 1 ? this.marker(g.items[0], g) : this.cluster(g))));
    const seen = points.filter((p) => p.x >= 0 && p.x <= w && p.y >= 0 && p.y <= h).map((p) => p.item);
    this.inViewHead.textContent = t("map.in_view", { n: seen.length });
    fillList(this.inView, seen, (c) => html("li", { class: `sev-${c.severity}`, "data-case": c.id },
      html("span", { class: `sev sev-${c.severity}`, text: word("sev", c.severity) }),
      html("button", { type: "button", class: "linkish", text: c.title, onclick: () => this.onOpen(c) })), t("board.none"), "map-in-view");
  }

  marker(c, { x, y }) {
    const label = t("map.marker", { severity: word("sev", c.severity), title: c.title, status: word("status", c.status) });
    return this.button(svg("g", { class: `marker sev-${c.severity}`, transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})`,
      role: "button", tabindex: 0, "aria-label": label, "data-case": c.id },
      svg("title", {}, label),
      svg("circle", { class: "hit", r: HIT }),
      svg("circle", { class: "dot", r: RADIUS[c.severity] || 6 })), () => this.onOpen(c));
  }

  // Several cases too close to tell apart: one marker with their count, coloured by the
  // worst; opening it zooms to them (or, when they share one spot, lists them below).
  cluster({ x, y, items }) {
    const worst = items[0].severity;
    const label = t("map.cluster", { n: items.length, severity: word("sev", worst) });
    return this.button(svg("g", { class: `marker cluster sev-${worst}`, transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})`,
      role: "button", tabindex: 0, "aria-label": label, "data-count": items.length },
      svg("title", {}, label),
      svg("circle", { class: "hit", r: HIT }),
      svg("circle", { class: "dot", r: 13 + Math.min(8, 2 * Math.log2(items.length)) }),
      svg("text", { class: "count", "text-anchor": "middle", dy: "0.35em" }, String(items.length))), () => {
      const [w, h] = this.size();
      const view = fit(items.map((c) => project(c.lon, c.lat)), w, h, { maxZoom: 18 });
      this.setView(view.scale > this.view.scale ? view : zoomed(this.view, 2), true);
    });
  }

  button(marker, open) {
    marker.addEventListener("click", open);
    marker.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); }
    });
    return marker;
  }

  drawLegend() {
    for (const b of this.controls.querySelectorAll("button")) {
      b.setAttribute("aria-label", t(b.dataset.label));
      b.title = t(b.dataset.label);
    }
    const placed = located(this.cases);
    this.legend.replaceChildren(...BOARD_SEVERITIES.map((sev) => html("li", { class: `sev-${sev}` },
      html("span", { class: `sev sev-${sev}`, text: word("sev", sev) }),
      html("span", { text: String(placed.filter((c) => c.severity === sev).length) }))));
    const missing = this.cases.length - placed.length;
    this.unplaced.textContent = missing ? t("map.unplaced", { n: missing }) : "";
    this.unplaced.hidden = !missing;
  }

  /** Drag (mouse, pen or one finger) pans; the page does not scroll under it. */
  drag() {
    let last = null;
    this.svg.addEventListener("pointerdown", (ev) => {
      if (ev.target.closest?.(".marker")) return;
      last = [ev.clientX, ev.clientY];
      this.svg.setPointerCapture(ev.pointerId);
    });
    this.svg.addEventListener("pointermove", (ev) => {
      if (!last) return;
      const [dx, dy] = [ev.clientX - last[0], ev.clientY - last[1]];
      last = [ev.clientX, ev.clientY];
      if (dx || dy) this.setView(panned(this.view, dx, dy), true);
    });
    const stop = () => { last = null; };
    this.svg.addEventListener("pointerup", stop);
    this.svg.addEventListener("pointercancel", stop);
  }
}
