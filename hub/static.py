"""The web client's files: compressed once, revalidated cheaply, never ``no-store``.

Browsers on a field phone reload often and over bad links. Every file is
served with ``Cache-Control: no-cache`` (keep it, but ask before using it) and
an ``ETag``, so a reload costs a ``304`` per file instead of the file. Text
files go out gzip-compressed when the browser accepts it; each file is
compressed once per version (its size and modification time) and kept in
memory, since the client is a few dozen small files. Scripts and stylesheets go
out without their whole-line comments and blank lines (:func:`lean`): the source
stays written for people, the phone gets only the code.

API responses are not served from here and keep ``no-store`` (see
:class:`hub.headers.SecurityHeaders`); nothing secret is ever compressed here, so
compression cannot leak a secret next to reflected input (BREACH).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

__all__ = ["CACHE_CONTROL", "COMPRESSIBLE", "LEAN", "Assets", "lean"]

CACHE_CONTROL = "no-cache"
COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".svg", ".json", ".webmanifest",
                          ".txt", ".map"})
#: Below this a compressed body (and its header) saves nothing worth the work.
MIN_COMPRESS = 512
#: Files served without their comment lines (see :func:`lean`).
LEAN = frozenset({".js", ".mjs", ".css"})


def lean(text: str, suffix: str) -> str:
    """A script or stylesheet without its whole-line comments, blank lines and
    indentation.

    Only lines that are nothing but a comment go: ``// ...`` (scripts) and
    ``/* ... */`` blocks that begin a line; code is never touched but for the
    whitespace that begins its lines, and nothing inside a template literal that
    spans lines (a backtick left open) is dropped or unindented.
    """
    out: list[str] = []
    in_block = in_template = False
    script = suffix != ".css"
    for line in text.splitlines():
        stripped = line.strip()
        if in_block:
            if "*/" in stripped:
                in_block = False
                rest = stripped.split("*/", 1)[1]
                if rest.strip():
                    out.append(rest)
            continue
        if not in_template:
            if not stripped or (script and stripped.startswith("//")):
                continue
            if stripped.startswith("/*"):
                if "*/" not in stripped[2:]:
                    in_block = True
                    continue
                rest = stripped[2:].split("*/", 1)[1]
                if not rest.strip():
                    continue
        out.append(line if in_template else line.lstrip())
        if script and line.count("`") % 2:
            in_template = not in_template
    return "\n".join(out) + "\n"


class Assets(StaticFiles):
    """:class:`StaticFiles` that compresses text files and asks to be revalidated."""

    def __init__(self, *, directory: Path) -> None:
        super().__init__(directory=directory, html=True)
        self._gzipped: dict[str, tuple[tuple[int, int], bytes]] = {}
        self._lean: dict[str, tuple[tuple[int, int], bytes]] = {}

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = CACHE_CONTROL
        # The ETag is what a browser revalidates with; a date beside it and a promise of
        # ranges over a few kB of text are bytes a phone pays on every file, twice.
        del response.headers["last-modified"]
        if Path(full_path).suffix in COMPRESSIBLE:
            del response.headers["accept-ranges"]
        if Path(full_path).suffix in (".js", ".mjs"):
            # Modules and workers are always read as UTF-8, classic scripts as their page
            # (UTF-8): a charset would only be more bytes on every script.
            response.headers["content-type"] = "text/javascript"
        request = Headers(scope=scope)
        path = Path(full_path)
        if isinstance(response, NotModifiedResponse) or status_code != 200:
            return response
        # 64 bits of the file's (size, time) hash tell its versions apart; the other 64
        # were bytes on every file and every revalidation.
        etag = response.headers["etag"] = response.headers["etag"][:17] + '"'
        variable = path.suffix in COMPRESSIBLE and stat_result.st_size >= MIN_COMPRESS
        gzip = variable and _accepts_gzip(request.get("accept-encoding", ""))
        if gzip:
            etag = etag.removesuffix('"') + 'z"'
        if etag in [t.strip().removeprefix("W/") for t in
                    request.get("if-none-match", "").split(",")]:
            kept = {"etag": etag, "cache-control": CACHE_CONTROL}
            return NotModifiedResponse(Headers(
                {**kept, "vary": "Accept-Encoding"} if variable else kept))
        if not variable:
            return response
        response.headers["vary"] = "Accept-Encoding"
        if not gzip:
            if path.suffix not in LEAN:
                return response
            headers = {k: v for k, v in response.headers.items() if k != "content-length"}
            return Response(self._body(path, stat_result), status_code, headers=headers)
        headers = {"etag": etag, "cache-control": CACHE_CONTROL, "vary": "Accept-Encoding",
                   "content-encoding": "gzip",
                   "content-type": response.headers["content-type"]}
        return Response(self._compressed(path, stat_result), status_code, headers=headers)

    def _body(self, path: Path, stat_result: os.stat_result) -> bytes:
        """The file as served uncompressed: lean for scripts and stylesheets."""
        version = (stat_result.st_size, stat_result.st_mtime_ns)
        cached = self._lean.get(str(path))
        if cached is None or cached[0] != version:
            raw = path.read_bytes()
            body = lean(raw.decode("utf-8"), path.suffix).encode() if path.suffix in LEAN \
                else raw
            self._lean[str(path)] = cached = (version, body)
        return cached[1]

    def _compressed(self, path: Path, stat_result: os.stat_result) -> bytes:
        version = (stat_result.st_size, stat_result.st_mtime_ns)
        cached = self._gzipped.get(str(path))
        if cached is None or cached[0] != version:
            body = gzip.compress(self._body(path, stat_result), compresslevel=9, mtime=0)
            self._gzipped[str(path)] = cached = (version, body)
        return cached[1]


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip;q=0`` does not)."""
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and _quality(q[2:]) == 0)
    return False


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 1.0
