"""hub/static.py: the web client's files, compressed, revalidated, within the phone budget.

The first-load figure follows what a browser fetches for the responder's
first screen: the page, then every stylesheet, script and module it names,
and every module those import statically (dynamic ``import()`` is lazy and
not counted). Bodies and response headers are counted as they would travel.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.config import Settings
from hub.routes import BASEMAP
from hub.static import CACHE_CONTROL, _accepts_gzip, lean
from liaison.app import WEB_DIR, create_app
from tests.conftest import STRICT

FIRST_LOAD_BUDGET = 60 * 1024  # issue 11: at most 60 KB on a phone's first load
PHONE_BUDGET = 60_000  # issue 25: 60 kB, the service worker's install included
GZIP = {"accept-encoding": "gzip, deflate, br"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


def wire_size(r: httpx.Response) -> int:
    """The status line, the headers and the body as sent (compressed when it was)."""
    head = len("HTTP/1.1 200 OK\r\n\r\n") + sum(len(k) + len(v) + 4
                                                 for k, v in r.headers.raw)
    return head + int(r.headers.get("content-length", 0))


async def test_text_files_are_gzipped_when_accepted_and_identical_once_unzipped(
        client: httpx.AsyncClient) -> None:
    r = await client.get("/app.js", headers=GZIP)
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    source = (WEB_DIR / "app.js").read_text(encoding="utf-8")
    assert r.text == lean(source, ".js")  # httpx unzipped it
    assert len(r.content) < len(source.encode()) * 0.9  # the comments stayed home
    assert r.headers["cache-control"] == CACHE_CONTROL == "no-cache"
    plain = await client.get("/app.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == r.content
    assert plain.headers["etag"] != r.headers["etag"]  # two variants, two tags


async def test_a_compressed_file_is_much_smaller(client: httpx.AsyncClient) -> None:
    r = await client.get("/i18n.js", headers=GZIP)
    raw = lean((WEB_DIR / "i18n.js").read_text(encoding="utf-8"), ".js").encode()
    assert int(r.headers["content-length"]) == len(gzip.compress(raw, 9, mtime=0))
    assert int(r.headers["content-length"]) < len(raw) / 2


async def test_a_reload_revalidates_each_variant_with_a_304(client: httpx.AsyncClient) -> None:
    for headers in (GZIP, {"accept-encoding": "identity"}):
        first = await client.get("/style.css", headers=headers)
        again = await client.get("/style.css",
                                 headers={**headers, "if-none-match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["cache-control"] == "no-cache"
    stale = await client.get("/style.css", headers={**GZIP, "if-none-match": '"other"'})
    assert stale.status_code == 200


async def test_the_page_itself_revalidates_and_the_api_is_never_stored(
        client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers=GZIP)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    assert page.headers["content-encoding"] == "gzip"
    api = await client.get("/api/operations", headers=GZIP)
    assert api.headers["cache-control"] == "no-store"
    assert "content-encoding" not in api.headers  # API answers are never compressed
    missing = await client.get("/nope.js")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("header", "ok"), [
    ("gzip", True), ("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.8", True),
    ("*", True), ("identity", False), ("", False), ("gzip;q=0", False),
    ("gzip;q=0.0, br", False), ("deflate", False), ("GZIP", True), ("gzip;q=bad", True),
])
def test_accept_encoding(header: str, ok: bool) -> None:
    assert _accepts_gzip(header) is ok


def references(text: str, content_type: str) -> list[str]:
    """What a browser fetches next: the page's assets or a module's static imports."""
    if "html" in content_type:
        found = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(/[^"]+)"', text)
    elif "javascript" in content_type:
        found = ["/" + f.removeprefix("./").lstrip("/") for f in re.findall(
            r'^\s*import\s+(?:[^;]*?\s+from\s+)?["\'](\.?/[^"\']+)["\']', text,
            flags=re.MULTILINE)]
    else:
        found = []
    return found


async def fetched(client: httpx.AsyncClient, start: str) -> dict[str, int]:
    """Every file a browser fetches from ``start`` on, with its bytes on the wire."""
    seen: dict[str, int] = {}
    queue = [start]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        r = await client.get(path, headers=GZIP)
        assert r.status_code == 200, path
        seen[path] = wire_size(r)
        text = (WEB_DIR / ("index.html" if path == "/" else path.lstrip("/"))).read_text()
        queue += references(text, r.headers["content-type"])
    return seen


def sw_assets() -> set[str]:
    source = (WEB_DIR / "sw.js").read_text(encoding="utf-8")
    listed = re.search(r"const ASSETS = \[(.*?)\];", source, flags=re.DOTALL)
    assert listed is not None
    return set(re.findall(r'"(/[^"]*)"', listed.group(1)))


async def test_the_first_load_with_the_service_workers_install_fits_60_kB(
        client: httpx.AsyncClient) -> None:
    """Issue 25, item 8: what a phone really fetches the first time, in 1000-byte kB —
    the page and its modules, then the service worker and its install, which asks
    again for every file it keeps (a 304 for those the page has just fetched, the
    whole file for the others)."""
    seen = await fetched(client, "/")
    assert {"/", "/app.js", "/protocol.js", "/style.css"} <= set(seen)
    worker = wire_size(await client.get("/sw.js", headers=GZIP))
    install = {}
    for path in sw_assets():
        first = await client.get(path, headers=GZIP)
        if path in seen:
            again = await client.get(path, headers={**GZIP, "if-none-match": first.headers["etag"]})
            assert again.status_code == 304, path
            install[path] = wire_size(again)
        else:
            install[path] = wire_size(first)
    total = sum(seen.values()) + worker + sum(install.values())
    assert total <= PHONE_BUDGET, (f"{total} bytes: page {sum(seen.values())}, worker {worker}, "
                                   f"install {sorted(install.items())}")


async def test_the_map_comes_later_and_weighs_less_than_a_first_load(
        client: httpx.AsyncClient) -> None:
    """The board's map (its code and outlines) is fetched when a board first shows."""
    first = await fetched(client, "/")
    assert "/map.js" not in first and "/map-geo.js" not in first
    assert 'import("/map.js")' in (WEB_DIR / "board-view.js").read_text(encoding="utf-8")
    later = {path: size for path, size in (await fetched(client, "/map.js")).items()
             if path not in first}
    later |= await fetched(client, BASEMAP)
    assert set(later) == {"/map.js", "/map-geo.js", BASEMAP}
    total = sum(later.values())
    assert total <= FIRST_LOAD_BUDGET, f"{total} bytes: {sorted(later.items())}"


async def test_the_service_worker_keeps_every_file_of_the_first_screen(
        client: httpx.AsyncClient) -> None:
    """A module added to the client but not to web/sw.js would be missing offline."""
    assets = sw_assets()
    needed, queue = set(), ["/"]
    while queue:
        path = queue.pop()
        if path in needed:
            continue
        needed.add(path)
        r = await client.get(path)
        assert r.status_code == 200, path
        queue += references(r.text, r.headers["content-type"])
    assert needed <= assets, needed - assets
    for path in assets:  # and nothing listed is missing (install would fail)
        assert (await client.get(path)).status_code == 200, path


def test_every_lean_script_is_still_a_module_node_can_parse() -> None:
    """What the phone gets is the source less its comment lines: it must still parse."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found: install nodejs (apt-get install nodejs)")
    for path in sorted(WEB_DIR.glob("*.js")):
        text = lean(path.read_text(encoding="utf-8"), ".js")
        done = subprocess.run([node, "--input-type=module", "--check"], input=text,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, (path.name, done.stderr[-500:])


def test_lean_drops_comment_lines_and_indentation_only() -> None:
    source = ("// a comment\nconst a = 1; // kept: code before it\n\n/* block\n  more */\n"
              "  const s = `line one\n// inside a template: kept\n    indented: kept\n`;\n"
              "  /** doc */ const b = 2;\n    const url = \"http://x\";\n")
    assert lean(source, ".js") == ("const a = 1; // kept: code before it\nconst s = `line one\n"
                                   "// inside a template: kept\n    indented: kept\n`;\n"
                                   "/** doc */ const b = 2;\nconst url = \"http://x\";\n")
    css = "/* theme */\nbody { color: red; }\n/* a\n b */\n.x { a: b; } /* trailing */\n"
    assert lean(css, ".css") == "body { color: red; }\n.x { a: b; } /* trailing */\n"


@given(st.lists(st.sampled_from(["const a = 1;", "// note", "  // indented note", "",
                                 "/* one */", "/* open", "close */", "let t = `", "`;",
                                 "f(x); // why", "x = '//';"]), max_size=30))
def test_lean_never_drops_a_line_of_code_outside_comments(lines: list[str]) -> None:
    text = "\n".join(lines)
    out = lean(text, ".js").splitlines()
    code = [ln for ln in lines if ln in ("const a = 1;", "f(x); // why", "x = '//';")]
    kept = [ln for ln in out if ln in code]
    assert len(kept) <= len(code)  # nothing invented
    if not any(m in text for m in ("/* open", "`")):  # no block or template open
        assert kept == code


VENDORED_TUS = WEB_DIR / "vendor" / "tus.min.js"
REGISTRY_TUS = Path(__file__).resolve().parents[1] / "web" / "node_modules" / "tus-js-client" \
    / "dist" / "tus.min.js"


def test_the_vendored_tus_client_is_the_registry_s_own_build() -> None:
    """web/vendor/tus.min.js is tus-js-client as the npm registry publishes it, at the
    version tests/web/package.json locks: refreshed on purpose, never edited."""
    if not REGISTRY_TUS.exists():
        reason = "tus-js-client missing: run 'npm ci' in tests/web (bash .ci/run does it)"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    assert VENDORED_TUS.read_bytes() == REGISTRY_TUS.read_bytes()
    assert (WEB_DIR / "vendor" / "tus-js-client.LICENSE").exists()


async def test_the_upload_client_is_loaded_only_when_a_file_is_sent(
        client: httpx.AsyncClient) -> None:
    """tus-js-client (22 kB compressed) and the code that shrinks photos are fetched when
    a message with files is sent, never on the first load nor by the worker's install."""
    first = await fetched(client, "/")
    assert not {"/attach.js", "/vendor/tus.min.js"} & (set(first) | sw_assets())
    r = await client.get("/vendor/tus.min.js", headers=GZIP)
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    node = shutil.which("node")
    if node is not None:  # what is served (less its comment lines) still parses
        done = subprocess.run([node, "--check", "-"], input=r.text,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
