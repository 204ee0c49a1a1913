// web/map-geo.js: markers too close to tell apart become one cluster with a count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusters } from "../../web/map-geo.js";

test("close markers join the first (most severe) one; none is lost", () => {
  const points = [{ x: 100, y: 100, item: "critical" }, { x: 110, y: 105, item: "minor" },
    { x: 300, y: 300, item: "major" }, { x: 143, y: 100, item: "info" }, { x: 145, y: 100, item: "far" }];
  const out = clusters(points, 44);
  assert.deepEqual(out.map((c) => c.items), [["critical", "minor", "info"], ["major"], ["far"]]);
  assert.equal(out.reduce((n, c) => n + c.items.length, 0), points.length);
  assert.deepEqual([out[0].x, out[0].y], [100, 100]);
});

test("a thousand markers at one spot are one cluster of a thousand", () => {
  const points = Array.from({ length: 1000 }, (_, i) => ({ x: 5, y: 5, item: i }));
  const [only] = clusters(points, 44);
  assert.equal(only.items.length, 1000);
});
