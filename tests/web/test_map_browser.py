"""The board's map (issue 11, item 6) in a real headless Chromium.

Open cases with a location are markers, coloured and sized by severity; they
move, change and leave live with the board's deltas; a click opens the case;
the map draws from the hub alone (bundled outlines, no third-party request)
and, when a deployment names its own tile server, from that origin too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from tests.conftest import PASSWORD, RunningHub, embedded_settings
from tests.web.pages import login

KERNS = {"lat": 46.9, "lon": 8.25, "place": "Kerns"}
ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


async def _case(hub: RunningHub, title: str, severity: str, location: dict[str, Any] | None,
                user: str = "alice") -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "severity": severity}
    if location is not None:
        body["location"] = location
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", user, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _patch(hub: RunningHub, case: dict[str, Any], **changes: Any) -> dict[str, Any]:
    r = await hub.api("PATCH", f"/api/operations/{hub.ops['A'].id}/cases/{case['id']}", "alice",
                      json={"version": case["version"], **changes})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _hub_only(context: Any, hub: RunningHub) -> list[str]:
    """Abort (and list) every request that leaves the hub's origin."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(hub.url.replace("127.0.0.1",
                                                                       "localhost")))
    outside: list[str] = []

    async def guard(route: Any) -> None:
        if route.request.url.startswith(origin + "/"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", guard)
    return outside


OFFSET = """([a, b]) => {
    const at = (id) => document.querySelector(`#map-host .marker[data-case="${id}"]`)
        .getBoundingClientRect();
    const [p, q] = [at(a), at(b)];
    return [Math.round(p.x - q.x), Math.round(p.y - q.y)];
}"""


async def _offset_changes(page: Any, case_id: str, reference: str, before: list[int]) -> list[int]:
    """Where one marker is drawn from another, once it differs from ``before``."""
    for _ in range(200):
        now = await page.evaluate(OFFSET, [case_id, reference])
        if now != before:
            return now  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the marker of {case_id} stayed at {before} from {reference}")


async def test_markers_follow_the_cases_live_and_the_map_needs_nothing_beyond_the_hub(
        browser: Any, page_hub: RunningHub) -> None:
    hub = page_hub
    context = await browser.new_context(service_workers="block")
    outside = await _hub_only(context, hub)
    page = await context.new_page()
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.fill("#login input[name=username]", "alice")
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    dam = await _case(hub, "Dam breach at Kerns", "major", KERNS)
    bridge = await _case(hub, "Bridge closed", "info", {"lat": 47.3, "lon": 8.5})
    await _case(hub, "Missing hiker", "minor", None)
    await page.click("#tab-board")
    marker = f"#map-host .marker[data-case='{dam['id']}']"
    await page.wait_for_selector(marker, timeout=10_000)
    assert await page.locator("#map-host .land path").count() > 100  # the bundled outlines
    assert "sev-major" in (await page.get_attribute(marker, "class") or "")
    assert "Dam breach at Kerns" in (await page.get_attribute(marker, "aria-label") or "")
    assert "1" in (await page.text_content("#map-host .map-unplaced") or "")  # the hiker
    # The marker sits where Kerns is on the drawn outlines: inside Switzerland's shape.
    inside = await page.evaluate("""(sel) => {
        const m = document.querySelector(sel).getBoundingClientRect();
        const x = m.x + m.width / 2, y = m.y + m.height / 2;
        const ch = [...document.querySelectorAll('#map-host .land path[data-country="756"]')];
        return ch.some((p) => { const r = p.getBoundingClientRect();
            return x >= r.left && x <= r.right && y >= r.top && y <= r.bottom; });
    }""", marker)
    assert inside

    # It moves when the case moves, turns critical with the case, and leaves when it closes.
    before = await page.evaluate(OFFSET, [dam["id"], bridge["id"]])
    assert before[0] < 0 and before[1] > 0  # Kerns is south-west of the bridge
    dam = await _patch(hub, dam, location={"lat": 46.5, "lon": 9.6, "place": "Chur road"})
    after = await _offset_changes(page, dam["id"], bridge["id"], before)
    assert after[0] > 0 and after[1] > 0  # now south-east (the view refits: scales differ)
    dam = await _patch(hub, dam, severity="critical")
    await page.wait_for_selector(f"{marker}.sev-critical", timeout=10_000)
    await _patch(hub, dam, status="closed")
    await page.wait_for_selector(marker, state="detached", timeout=10_000)
    assert await page.locator("#map-host .marker").count() == 1

    # A click on a marker opens its case.
    await page.click(f"#map-host .marker[data-case='{bridge['id']}']")
    await page.wait_for_selector("#panel-cases:not([hidden])")
    for _ in range(200):
        if "Bridge closed" in (await page.text_content("#case-detail") or ""):
            break
        await asyncio.sleep(0.05)
    assert "Bridge closed" in (await page.text_content("#case-detail") or "")
    assert outside == []


async def test_the_wall_display_opens_a_markers_case_in_a_card_that_stays_live(
        browser: Any, page_hub: RunningHub) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    dam = await _case(hub, "Dam breach at Kerns", "major", KERNS)
    page = await login(browser, hub, "olga")
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + f"/board.html?op={op}")
    marker = f"#map-host .marker[data-case='{dam['id']}']"
    await page.wait_for_selector(marker, timeout=10_000)
    await page.focus(marker)  # the keyboard opens it as a click does
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#map-case:not([hidden])")
    assert await page.text_content("#map-case-title") == "Dam breach at Kerns"
    assert "major" in (await page.text_content("#map-case-meta") or "")
    href = await page.get_attribute("#map-case-open", "href")
    assert href == f"/#op={op}&case={dam['id']}"
    await _patch(hub, dam, severity="critical")
    await page.wait_for_selector("#map-case.sev-critical", timeout=10_000)
    assert "critical" in (await page.text_content("#map-case-meta") or "")
    # The card's link opens that case in the main client.
    await page.click("#map-case-open")
    await page.wait_for_selector("#panel-cases:not([hidden])", timeout=10_000)
    for _ in range(200):
        if "Dam breach at Kerns" in (await page.text_content("#case-detail") or ""):
            break
        await asyncio.sleep(0.05)
    assert "Dam breach at Kerns" in (await page.text_content("#case-detail") or "")


async def test_on_a_phone_the_map_fits_the_screen_and_a_tap_opens_the_case(
        browser: Any, page_hub: RunningHub) -> None:
    hub = page_hub
    dam = await _case(hub, "Dam breach at Kerns", "critical", KERNS)
    page = await login(browser, hub, "bruno", viewport={"width": 360, "height": 640},
                       is_mobile=True, has_touch=True, device_scale_factor=2)
    await page.tap("#tab-board")
    marker = f"#map-host .marker[data-case='{dam['id']}']"
    await page.wait_for_selector(marker, timeout=10_000)
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    sizes = await page.evaluate("""() => [...document.querySelectorAll(
        '#board-map button, #board-map [role=button]')].map((e) => {
            const r = e.getBoundingClientRect(); return [r.width, r.height]; })""")
    # three controls, the marker, and the case's row in the list of cases in view
    assert len(sizes) == 5 and all(w >= 43.5 and h >= 43.5 for w, h in sizes), sizes
    await page.tap("#map-host button[data-label='map.zoom_in']")
    assert float(await page.get_attribute("#map-host", "data-zoom") or 0) > 6
    await page.tap(marker)
    await page.wait_for_selector("#panel-cases:not([hidden])", timeout=10_000)


async def test_a_deployments_tile_server_is_drawn_under_the_cases_and_credited(
        browser: Any, start_hub: Any, tmp_path: Any) -> None:
    settings = embedded_settings(tmp_path).replace(
        map_tile_url="http://tiles.example.test:8111/osm/{z}/{x}/{y}.png",
        map_tile_attribution="© OpenStreetMap contributors")
    hub = await start_hub(settings)
    await _case(hub, "Dam breach at Kerns", "major", KERNS)
    context = await browser.new_context(service_workers="block")
    asked: list[str] = []

    async def tile(route: Any) -> None:
        asked.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=ONE_PIXEL_PNG)

    await context.route("http://tiles.example.test:8111/**", tile)
    page = await context.new_page()
    response = await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    assert "img-src 'self' data: http://tiles.example.test:8111;" in \
        response.headers["content-security-policy"]
    await page.fill("#login input[name=username]", "alice")
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    await page.click("#tab-board")
    await page.wait_for_selector("#map-host .marker", timeout=10_000)
    await page.wait_for_selector("#map-host image[data-tile]")
    assert await page.text_content("#map-host .map-credit") == "© OpenStreetMap contributors"
    zoom = round(float(await page.get_attribute("#map-host", "data-zoom") or 0))
    for _ in range(100):
        if asked:
            break
        await asyncio.sleep(0.05)
    assert asked, "no tile was fetched"
    for url in asked:  # z/x/y at the view's zoom, near Kerns (tile x, y at zoom 14: 8571, 5766)
        z, x, y = (int(part) for part in url.removesuffix(".png").split("/")[-3:])
        assert z == zoom and 0 <= x < 2**z and 0 <= y < 2**z
        assert abs(x - 8571 / 2 ** (14 - z)) < 8 and abs(y - 5766 / 2 ** (14 - z)) < 8


GEO = """async (cases) => {
    const g = await import("/map-geo.js");
    return cases.map(([w, h, pts, pan, zoom]) => {
        let view = g.fit(pts.map(([lon, lat]) => g.project(lon, lat)), w, h);
        const fitted = pts.map(([lon, lat]) => g.toScreen(view, w, h, g.project(lon, lat)));
        view = g.zoomed(g.panned(view, pan[0], pan[1]), zoom);
        const tiles = g.tilesFor(view, w, h, { limit: 100000 });
        // Every on-screen pixel inside the world is covered by a tile.
        const [left, top] = g.toScreen(view, w, h, [0, 0]);
        const [, bottom] = g.toScreen(view, w, h, [0, g.WORLD]);
        const holes = [];
        for (let x = 0.5; x < w; x += w / 7) for (let y = 0.5; y < h; y += h / 7) {
            if (y < top || y > bottom) continue;
            const on = (t) => x >= t.left && x < t.left + t.size
                && y >= t.top && y < t.top + t.size;
            if (!tiles.some(on)) holes.push([x, y]);
        }
        return { fitted, holes, tiles: tiles.length };
    });
}"""


async def test_fit_shows_every_case_and_the_tiles_cover_the_view(browser: Any,
                                                                 page_hub: RunningHub) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    point = st.tuples(st.floats(-180, 180), st.floats(-85, 85))
    sample = st.tuples(st.integers(200, 1600), st.integers(150, 1000),
                       st.lists(point, max_size=6),
                       st.tuples(st.integers(-800, 800), st.integers(-800, 800)),
                       st.sampled_from([0.25, 0.5, 1, 2, 8, 64]))
    samples: list[Any] = []

    @settings(max_examples=200, database=None, suppress_health_check=list(HealthCheck))
    @given(sample)
    def collect(value: Any) -> None:
        samples.append(value)

    collect()
    page = await (await browser.new_context()).new_page()
    await page.goto(page_hub.url + "/")
    results = await page.evaluate(GEO, json.loads(json.dumps(samples)))
    for (w, h, points, _, _), got in zip(samples, results, strict=True):
        spread = max((abs(a[0] - b[0]) for a in points for b in points), default=0)
        if spread < 180:  # a view cannot wrap round the antimeridian
            for x, y in got["fitted"]:
                assert -0.5 <= x <= w + 0.5 and -0.5 <= y <= h + 0.5, (w, h, points)
        assert got["holes"] == [], (w, h, points)


BASEMAP = """async () => {
    const g = await import("/map-geo.js");
    const topo = await (await fetch("/basemap/countries-110m.json")).json();
    const countries = g.decodeTopology(topo, "countries");
    const swiss = countries.find((c) => c.id === "756");
    const lons = swiss.rings.flat().map((p) => p[0]), lats = swiss.rings.flat().map((p) => p[1]);
    return { n: countries.length, closed: countries.every((c) => c.rings.every((r) =>
                 r.length > 3 && r[0][0] === r.at(-1)[0] && r[0][1] === r.at(-1)[1])),
             box: [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)],
             origin: g.project(0, 0), corner: g.project(-180, 85.0511287798) };
}"""


async def test_the_bundled_outlines_decode_to_closed_country_shapes(
        browser: Any, page_hub: RunningHub) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(page_hub.url + "/")
    got = await page.evaluate(BASEMAP)
    assert got["n"] == 177 and got["closed"]
    west, east, south, north = got["box"]  # Switzerland: 5.96 to 10.49 E, 45.82 to 47.81 N
    assert 5.5 < west < 6.5 and 10 < east < 11 and 45.5 < south < 46.2 and 47.5 < north < 48
    assert got["origin"] == [128, 128]
    assert abs(got["corner"][0]) < 1e-9 and abs(got["corner"][1]) < 1e-6


#: What the map draws: single markers by case id, clusters with their counts.
DRAWN = """() => [...document.querySelectorAll('#map-host .marker')].map((m) => (
    {case: m.dataset.case || null, count: Number(m.dataset.count || 1),
     worst: [...m.classList].find((c) => c.startsWith('sev-'))}))"""


async def test_no_case_hides_under_another_and_a_valley_fills_the_map(
        browser: Any, page_hub: RunningHub) -> None:
    """Issue 25, defect 8: five open cases drew as two dots with no count, and with no
    tile server (the air-gapped default) the map stopped at country scale."""
    hub = page_hub
    valley = [(46.9000, 8.2500), (46.9004, 8.2506), (46.9001, 8.2503),  # one village
              (46.9400, 8.3100), (46.8700, 8.2000)]                      # up and down the valley
    made = [await _case(hub, f"Flooded house {i}", sev, {"lat": lat, "lon": lon})
            for i, ((lat, lon), sev) in enumerate(zip(valley, ("minor", "critical", "info",
                                                               "major", "minor"), strict=True))]
    page = await login(browser, hub, "alice", viewport={"width": 1280, "height": 800})
    await page.click("#tab-board")
    await page.wait_for_selector("#map-host .marker", timeout=10_000)
    drawn = await page.evaluate(DRAWN)
    assert sum(m["count"] for m in drawn) == 5, drawn  # every case counted, none hidden
    [village] = [m for m in drawn if m["count"] > 1]
    assert village["count"] == 3 and village["worst"] == "sev-critical"  # the worst colours it
    assert float(await page.get_attribute("#map-host", "data-zoom") or 0) > 10  # the valley
    assert "Cases in view (5)" in (await page.text_content("#map-host") or "")
    # Opening the cluster zooms to its cases until each stands alone.
    await page.click("#map-host .marker.cluster")
    async with asyncio.timeout(10):
        while len(drawn := await page.evaluate(DRAWN)) < 3 or \
                any(m["count"] > 1 for m in drawn):
            if not await page.locator("#map-host .marker.cluster").count():
                break
            await page.click("#map-host .marker.cluster")
            await asyncio.sleep(0.05)
    singles = {m["case"] for m in await page.evaluate(DRAWN) if m["count"] == 1}
    assert {c["id"] for c in made[:3]} <= singles
    # The list below the map holds the cases in view; a tap opens one.
    await page.click(f"#map-host .map-in-view li[data-case='{made[1]['id']}'] button")
    await page.wait_for_selector("#panel-cases:not([hidden])")


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A 256x256 PNG of one colour (a stand-in for a real raster tile)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes(rgb) * 256 for _ in range(256))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def tile_archive(path: Path, lat: float, lon: float, zooms: range = range(8, 13)) -> int:
    """A raster PMTiles archive of a small area round (lat, lon), written with the
    reference writer; returns how many tiles it holds."""
    tiles = {}
    for z in zooms:
        (x0, y0) = _tile_of(lat + 0.08, lon - 0.12, z)
        (x1, y1) = _tile_of(lat - 0.08, lon + 0.12, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                tiles[zxy_to_tileid(z, x, y)] = _png((40 * (z - 7) % 256, 120, 200))
    with path.open("wb") as f:
        writer = Writer(f)
        for tile_id in sorted(tiles):
            writer.write_tile(tile_id, tiles[tile_id])
        e7 = 10_000_000
        writer.finalize({"tile_type": TileType.PNG, "tile_compression": Compression.NONE,
                         "min_lon_e7": int((lon - 0.12) * e7), "min_lat_e7": int((lat - 0.08) * e7),
                         "max_lon_e7": int((lon + 0.12) * e7), "max_lat_e7": int((lat + 0.08) * e7),
                         "center_zoom": zooms[0], "center_lon_e7": int(lon * e7),
                         "center_lat_e7": int(lat * e7)},
                        {"attribution": "Test tiles, Kerns valley"})
    return len(tiles)


async def test_an_offline_tile_archive_draws_the_valley_and_works_after_a_reload_offline(
        browser: Any, start_hub: Any, tmp_path: Path) -> None:
    """Issue 25, item 7: with no tile server (air-gapped), the operator loads the map of
    the area as one PMTiles file; the hub serves its tiles (and the file, with range
    requests), the map draws them with no other network, and the service worker keeps
    the operation's area so the map still works offline after a reload."""
    archive = tmp_path / "kerns.pmtiles"
    count = tile_archive(archive, KERNS["lat"], KERNS["lon"])
    hub = await start_hub(embedded_settings(tmp_path).replace(map_tile_archive=str(archive)))
    token = await hub.login("alice")
    auth = {"Authorization": f"Bearer {token}"}
    ranged = await hub.http.get("/tiles/archive.pmtiles", headers={**auth, "Range": "bytes=0-126"})
    assert ranged.status_code == 206 and ranged.content[:8] == b"PMTiles\x03"
    assert ranged.headers["content-range"] == f"bytes 0-126/{archive.stat().st_size}"
    assert (await hub.http.get("/tiles/archive.pmtiles")).status_code == 401
    assert (await hub.http.get("/tiles/10/535/360")).status_code == 401
    settings = (await hub.api("GET", "/api/map", "alice")).json()
    assert settings["tile_url"] == "/tiles/{z}/{x}/{y}" and settings["max_zoom"] == 12
    assert settings["attribution"] == "Test tiles, Kerns valley"
    x, y = _tile_of(KERNS["lat"], KERNS["lon"], 12)
    one = await hub.http.get(f"/tiles/12/{x}/{y}", headers=auth)
    assert one.status_code == 200 and one.headers["content-type"] == "image/png"
    again = await hub.http.get(f"/tiles/12/{x}/{y}",
                               headers={**auth, "if-none-match": one.headers["etag"]})
    assert again.status_code == 304
    assert (await hub.http.get("/tiles/3/1/1", headers=auth)).status_code == 404

    dam = await _case(hub, "Dam breach at Kerns", "critical", KERNS)
    await _case(hub, "Road cut", "major", {"lat": 46.93, "lon": 8.29})
    page = await login(browser, hub, "alice")
    context = page.context
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))  # the map and its tiles, from here on
    base = hub.url.replace("127.0.0.1", "localhost")
    async with asyncio.timeout(10):
        while not await page.evaluate("!!navigator.serviceWorker.controller"):
            await asyncio.sleep(0.1)
    await page.click("#tab-board")
    await page.wait_for_selector(f"#map-host .marker[data-case='{dam['id']}']", timeout=10_000)
    await page.wait_for_selector("#map-host image[data-tile]", timeout=10_000)
    assert float(await page.get_attribute("#map-host", "data-zoom") or 0) > 9  # the valley
    assert "Test tiles, Kerns valley" in (await page.text_content("#map-host") or "")
    assert all(u.startswith(base + "/") for u in seen), [u for u in seen if not u.startswith(base)]
    kept = "() => caches.open('liaison-tiles').then((c) => c.keys()).then((k) => k.length)"
    levels = """() => caches.open('liaison-tiles').then((c) => c.keys())
        .then((k) => [...new Set(k.map((r) => new URL(r.url).pathname.split('/')[2]))])"""
    async with asyncio.timeout(20):  # the operation's area, at several zooms, kept
        while len(await page.evaluate(levels)) < 3 or await page.evaluate(kept) < 8:
            await asyncio.sleep(0.1)
    assert await page.evaluate(kept) <= count
    async with asyncio.timeout(20):  # and the board itself, kept on the device (every 0.5 s)
        while not await page.evaluate("""async () => {
                const m = await import('/offline-store.js');
                return !!(await m.loadBoard('alice', document.querySelector('#operations').value));
            }"""):
            await asyncio.sleep(0.1)

    await context.set_offline(True)
    await page.reload()  # offline, everything comes from the worker: generous bounds
    await page.wait_for_selector("#app:not([hidden])", timeout=30_000)
    await page.click("#tab-board")
    await page.wait_for_selector("#map-host image[data-tile]", timeout=30_000)
    drawn = await page.eval_on_selector_all("#map-host image[data-tile]",
                                            "els => els.map((e) => e.getAttribute('href'))")
    served = await page.evaluate("""async (urls) => {
        const out = [];
        for (const u of urls) { try { out.push((await fetch(u)).status); } catch { out.push(0); } }
        return out; }""", drawn)
    assert served and all(s == 200 for s in served), served  # offline, from the worker
