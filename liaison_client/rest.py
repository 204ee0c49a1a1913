"""The REST calls a bot needs (docs/api.md): cases, alerts, messages, with safe retries.

Every write that may be retried carries an idempotency key (``idempotency_key``
for cases, ``client_msg_id`` for messages, the fingerprint for alerts), made
once per call, so :class:`Rest` retries a retryable failure (a dropped
connection, 429, 503) with the same key and the hub stores the write once.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Sequence
from typing import Any, BinaryIO

import httpx

__all__ = ["ApiError", "Rest"]

RETRIES = 5


class ApiError(Exception):
    """The hub answered with an error body: its ``code``, HTTP ``status`` and message."""

    def __init__(self, status: int, code: str, message: str, retryable: bool,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.body = body or {}


class Rest:
    def __init__(self, base_url: str, token: str, *, timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout,
                                       headers={"Authorization": f"Bearer {token}"},
                                       transport=transport)

    async def __aenter__(self) -> Rest:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   **params: Any) -> Any:
        """One API call, retried (same body) while the failure says it may be."""
        wait = 0.2
        for attempt in range(RETRIES):
            try:
                r = await self._http.request(method, path, json=body,
                                             params={k: v for k, v in params.items()
                                                     if v is not None} or None)
            except httpx.TransportError:
                if attempt == RETRIES - 1:
                    raise
                await asyncio.sleep(wait)
                wait *= 2
                continue
            if r.status_code < 400:
                return r.json() if r.content else None
            error = (r.json() if r.headers.get("content-type", "").startswith(
                "application/json") else {}).get("error", {})
            retryable = bool(error.get("retryable")) and attempt < RETRIES - 1
            if not retryable:
                raise ApiError(r.status_code, str(error.get("code", "error")),
                               str(error.get("message", r.text[:200])),
                               bool(error.get("retryable")), r.json() if error else None)
            await asyncio.sleep(float(r.headers.get("retry-after", wait)))
            wait *= 2
        raise AssertionError("unreachable")

    # --- cases ------------------------------------------------------------------------

    async def create_case(self, operation: str, data: dict[str, Any]) -> dict[str, Any]:
        body = {"idempotency_key": uuid.uuid4().hex, **data}
        return await self.call("POST", f"/api/operations/{operation}/cases", body)  # type: ignore[no-any-return]

    async def update_case(self, operation: str, case_id: str, version: int,
                          changes: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PATCH", f"/api/operations/{operation}/cases/{case_id}",  # type: ignore[no-any-return]
                               {"version": version, "idempotency_key": uuid.uuid4().hex,
                                **changes})

    async def comment(self, operation: str, case_id: str, text: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/operations/{operation}/cases/{case_id}/comments",  # type: ignore[no-any-return]
                               {"text": text, "idempotency_key": uuid.uuid4().hex})

    async def get_case(self, operation: str, case_id: str) -> dict[str, Any]:
        return await self.call("GET", f"/api/operations/{operation}/cases/{case_id}")  # type: ignore[no-any-return]

    async def list_cases(self, operation: str) -> list[dict[str, Any]]:
        return (await self.call("GET", f"/api/operations/{operation}/cases"))["cases"]  # type: ignore[no-any-return]

    # --- alerts -----------------------------------------------------------------------

    async def push_alert(self, operation: str, summary: str, *, severity: str = "major",
                         fingerprint: str | None = None, **fields: Any) -> dict[str, Any]:
        """Raise an alert; the same fingerprint while it is active counts a repeat."""
        body = {"summary": summary, "severity": severity,
                "fingerprint": fingerprint or uuid.uuid4().hex, **fields}
        return await self.call("POST", f"/api/operations/{operation}/alerts", body)  # type: ignore[no-any-return]

    async def list_alerts(self, operation: str, state: str | None = None,
                          lang: str | None = None) -> list[dict[str, Any]]:
        """The operation's alerts; with ``lang``, each with its kept translation into it."""
        got = await self.call("GET", f"/api/operations/{operation}/alerts", state=state,
                              lang=lang)
        return got["alerts"]  # type: ignore[no-any-return]

    async def ack_alert(self, operation: str, alert_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/operations/{operation}/alerts/{alert_id}/ack")  # type: ignore[no-any-return]

    async def resolve_alert(self, operation: str, alert_id: str) -> dict[str, Any]:
        return await self.call("POST",  # type: ignore[no-any-return]
                               f"/api/operations/{operation}/alerts/{alert_id}/resolve")

    # --- messages ---------------------------------------------------------------------

    async def post_message(self, channel: str, text: str, *, priority: str = "normal",
                           client_msg_id: str | None = None,
                           attach: Sequence[str] = ()) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "priority": priority,
                                "client_msg_id": client_msg_id or uuid.uuid4().hex}
        if attach:
            body["attach"] = list(attach)
        return await self.call("POST", f"/api/channels/{channel}/messages", body)  # type: ignore[no-any-return]

    async def messages(self, channel: str, *, after_seq: int | None = None,
                       limit: int = 100) -> list[dict[str, Any]]:
        got = await self.call("GET", f"/api/channels/{channel}/messages", after_seq=after_seq,
                              limit=limit)
        return got["messages"]  # type: ignore[no-any-return]

    # --- files ------------------------------------------------------------------------

    async def upload(self, data: bytes | BinaryIO, *, channel: str | None = None,
                     operation: str | None = None, filename: str = "", filetype: str = "",
                     position: bool = False, chunk_size: int = 256 * 1024, retries: int = 10,
                     retry_delay: float = 1.0) -> str:
        """Upload a file resumably (tus 1.0, with tus's own client, tuspy); its upload id,
        to ``attach`` to a message (``channel``) or a case (``operation``).

        A connection that drops is resumed from the last byte the hub stored, up to
        ``retries`` times ``retry_delay`` seconds apart. ``position``: the photo's GPS
        position may become the case's location. Needs tuspy (``pip install
        'liaison-hub[uploads]'``).
        """
        try:
            from tusclient import client as tus
        except ImportError:  # pragma: no cover - the test extra installs it
            raise RuntimeError("uploads need tuspy: pip install 'liaison-hub[uploads]'") \
                from None
        scope = {"channel": channel} if channel else {"operation": operation or ""}
        meta = {**scope, **({"filename": filename} if filename else {}),
                **({"filetype": filetype} if filetype else {}),
                **({"position": "attach"} if position else {})}
        stream = io.BytesIO(data) if isinstance(data, bytes) else data
        uploader = tus.TusClient(f"{self.base_url}/api/uploads", headers={
            "Authorization": f"Bearer {self._token}"}).uploader(
            file_stream=stream, metadata=meta, chunk_size=chunk_size, retries=retries,
            retry_delay=retry_delay)
        await asyncio.to_thread(uploader.upload)
        url = uploader.url
        if url is None:  # pragma: no cover - tuspy raised if the hub made no upload
            raise RuntimeError("the hub made no upload")
        return str(url).rsplit("/", 1)[1]
