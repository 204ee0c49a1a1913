// The arithmetic of the board's map, free of the DOM: Web Mercator (the projection
// every XYZ tile server uses, so our markers sit on their tiles), TopoJSON decoding
// for the bundled country outlines, fitting a view to the cases, and which tiles a
// view needs. A view is { cx, cy, scale }: the world point (in units where the whole
// world is WORLD wide, as tile 0/0/0 is) at the centre, and pixels per world unit.

export const WORLD = 256;
export const MAX_LAT = 85.0511287798;   // where Web Mercator's square world ends
export const MIN_ZOOM = 0;
export const MAX_ZOOM = 19;
const MIN_SCALE = 0.25;                 // a whole world in 64 px: never further out

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** [x, y] in world units for a longitude and latitude in degrees. */
export function project(lon, lat) {
  const phi = (clamp(lat, -MAX_LAT, MAX_LAT) * Math.PI) / 180;
  const x = ((clamp(lon, -180, 180) + 180) / 360) * WORLD;
  const y = (0.5 - Math.log(Math.tan(Math.PI / 4 + phi / 2)) / (2 * Math.PI)) * WORLD;
  return [x, y];
}

/** A view's zoom level (tiles at zoom z are drawn 256 px wide at scale 2^z). */
export const zoomOf = (view) => Math.log2(view.scale);

/** Screen pixel of a world point in a view drawn width x height. */
export function toScreen(view, width, height, [x, y]) {
  return [(x - view.cx) * view.scale + width / 2, (y - view.cy) * view.scale + height / 2];
}

/** The view zoomed by `factor` about its centre, within the zoom levels tiles exist for. */
export function zoomed(view, factor) {
  return { ...view, scale: clamp(view.scale * factor, MIN_SCALE, 2 ** MAX_ZOOM) };
}

/** The view moved by (dx, dy) screen pixels. */
export function panned(view, dx, dy) {
  return { ...view, cx: clamp(view.cx - dx / view.scale, 0, WORLD), cy: clamp(view.cy - dy / view.scale, 0, WORLD) };
}

/**
 * The view that shows every point (world units) with a margin, no closer than
 * `maxZoom` (country outlines say little below a region), or the whole world.
 */
export function fit(points, width, height, { maxZoom = 6, margin = 40 } = {}) {
  const world = { cx: WORLD / 2, cy: WORLD / 2, scale: clamp(Math.sqrt(width * height) / WORLD, MIN_SCALE, 2 ** MAX_ZOOM) };
  if (!points.length || width <= 0 || height <= 0) return world;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const room = (span, px) => (span > 0 ? Math.max(px - 2 * margin, px / 2) / span : Infinity);
  const whole = Math.max(MIN_SCALE, Math.min(width, height) / WORLD);   // the whole world in view
  const scale = clamp(Math.min(room(x1 - x0, width), room(y1 - y0, height), 2 ** maxZoom), whole, 2 ** MAX_ZOOM);
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale };
}

/**
 * The tiles that cover a view: [{ z, x, y, left, top, size }] in screen pixels, the
 * zoom level rounded to the nearest one the server has, x wrapping round the world.
 * (`limit` caps how many; the tiles of the operation's area kept for offline use ask for
 * a larger view than the screen.)
 */
export function tilesFor(view, width, height, { limit = 64, minZoom = MIN_ZOOM, maxZoom = MAX_ZOOM } = {}) {
  const z = clamp(Math.round(zoomOf(view)), minZoom, maxZoom);   // past the last level: its tiles, larger
  const n = 2 ** z;
  const size = (view.scale * WORLD) / n;
  const first = (px, c) => Math.floor(((c - px / 2 / view.scale) * n) / WORLD);
  const last = (px, c) => Math.floor(((c + px / 2 / view.scale) * n) / WORLD);
  const out = [];
  for (let ty = Math.max(0, first(height, view.cy)); ty <= Math.min(n - 1, last(height, view.cy)); ty++) {
    for (let tx = first(width, view.cx); tx <= last(width, view.cx); tx++) {
      const [left, top] = toScreen(view, width, height, [(tx * WORLD) / n, (ty * WORLD) / n]);
      out.push({ z, x: ((tx % n) + n) % n, y: ty, left, top, size });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** A tile's address from the deployment's template (numbers only go in). */
export function tileHref(template, { z, x, y }) {
  return template.replaceAll("{z}", String(z)).replaceAll("{x}", String(x)).replaceAll("{y}", String(y));
}

/**
 * The polygons of one object of a TopoJSON topology, as
 * [{ id, name, rings: [[[lon, lat], ...], ...] }] (holes are rings too: draw even-odd).
 */
export function decodeTopology(topology, objectName) {
  const { scale: [sx, sy], translate: [tx, ty] } = topology.transform;
  const arcs = topology.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]) => { x += dx; y += dy; return [x * sx + tx, y * sy + ty]; });
  });
  const ring = (indexes) => {
    const points = [];
    for (const i of indexes) {
      const arc = i >= 0 ? arcs[i] : [...arcs[~i]].reverse();
      points.push(...(points.length ? arc.slice(1) : arc));
    }
    return points;
  };
  const object = topology.objects[objectName];
  const geometries = object.type === "GeometryCollection" ? object.geometries : [object];
  return geometries.filter((g) => g.type === "Polygon" || g.type === "MultiPolygon").map((g) => ({
    id: g.id ?? null,
    name: (g.properties || {}).name ?? null,
    rings: (g.type === "Polygon" ? [g.arcs] : g.arcs).flatMap((polygon) => polygon.map(ring)),
  }));
}

/** An SVG path (world units, two decimals) for decoded rings. */
export function ringsPath(rings) {
  return rings.map((r) => r.map(([lon, lat], i) => {
    const [x, y] = project(lon, lat);
    return `${i ? "L" : "M"}${x.toFixed(2)} ${y.toFixed(2)}`;
  }).join("") + "Z").join("");
}

/** The open cases that can go on a map: those with a finite latitude and longitude. */
export function located(cases) {
  return cases.filter((c) => Number.isFinite(c.lat) && Number.isFinite(c.lon));
}

/**
 * Markers closer than `radius` screen pixels as clusters: [{ x, y, items }], the first
 * item of each (the most severe, when `points` come most severe first) placing it. No
 * case is ever hidden under another: a cluster says how many it holds.
 */
export function clusters(points, radius) {
  const out = [];
  const cell = new Map();   // grid of `radius` squares -> clusters seeded in it
  const key = (cx, cy) => `${cx}:${cy}`;
  for (const p of points) {
    const [gx, gy] = [Math.floor(p.x / radius), Math.floor(p.y / radius)];
    let near = null;
    for (let dx = -1; dx <= 1 && !near; dx++) {
      for (let dy = -1; dy <= 1 && !near; dy++) {
        near = (cell.get(key(gx + dx, gy + dy)) || []).find((c) => Math.hypot(c.x - p.x, c.y - p.y) < radius) || null;
      }
    }
    if (near) { near.items.push(p.item); continue; }
    const made = { x: p.x, y: p.y, items: [p.item] };
    out.push(made);
    const k = key(gx, gy);
    cell.set(k, [...(cell.get(k) || []), made]);
  }
  return out;
}
