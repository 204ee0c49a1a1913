"""The headers every HTTP response of the hub carries: CSP and its companions on what
can be a document or a worker, ``nosniff`` on everything, ``no-store`` by default.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import Settings
from hub.maptiles import tile_origin

__all__ = ["CSP", "SUBRESOURCES", "SecurityHeaders", "content_security_policy"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
       "object-src 'none'")


def content_security_policy(settings: Settings) -> str:
    """:data:`CSP`, with images also from the deployment's tile server when it has one."""
    if not settings.map_tile_url:
        return CSP
    origin = tile_origin(settings.map_tile_url)
    return CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {origin};")


#: Content types that are never a document: scripts and stylesheets.
SUBRESOURCES = (b"text/javascript", b"application/javascript", b"text/css")


class SecurityHeaders:
    """Adds CSP and friends to every HTTP response that can be a document or a worker, and
    ``nosniff`` to all but a ``304``; ``no-store`` unless the response says otherwise."""

    def __init__(self, app: ASGIApp, csp: str = CSP) -> None:
        self.app = app
        self.csp = csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = str(scope.get("path") or "")
        script = path != "/sw.js" and path.endswith((".js", ".mjs", ".css"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                cached = any(name.lower() == b"cache-control" for name, _ in headers)
                if message["status"] == 304:
                    # "Not modified": the browser keeps the headers it stored with the
                    # body (RFC 9111, 4.3.4), security headers included; sending them
                    # again costs a phone 33 to 300 bytes a file on every revalidation.
                    await send(message)
                    return
                headers.append((b"x-content-type-options", b"nosniff"))
                # CSP, framing and referrer rules act on documents and workers only: a
                # script or stylesheet the page loads goes without them (on a phone's
                # first load they would be a tenth of the bytes).
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if not (script or (path != "/sw.js" and kind.startswith(SUBRESOURCES))):
                    headers += [(b"content-security-policy", self.csp),
                                (b"referrer-policy", b"no-referrer"),
                                (b"x-frame-options", b"DENY")]
                if not cached:  # the web client's files say how to cache them (hub.static)
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, send_with_headers)
