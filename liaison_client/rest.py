"""The REST calls a bot needs (docs/api.md): cases, alerts, messages, with safe retries.

Every write that may be retried carries an idempotency key (``idempotency_key``
for cases, ``client_msg_id`` for messages, the fingerprint for alerts), made
once per call, so :class:`Rest` retries a retryable failure (a dropped
connection, 429, 503) with the same key and the hub stores the write once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

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

    async def list_alerts(self, operation: str, state: str | None = None
                          ) -> list[dict[str, Any]]:
        got = await self.call("GET", f"/api/operations/{operation}/alerts", state=state)
        return got["alerts"]  # type: ignore[no-any-return]

    async def ack_alert(self, operation: str, alert_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/operations/{operation}/alerts/{alert_id}/ack")  # type: ignore[no-any-return]

    async def resolve_alert(self, operation: str, alert_id: str) -> dict[str, Any]:
        return await self.call("POST",  # type: ignore[no-any-return]
                               f"/api/operations/{operation}/alerts/{alert_id}/resolve")

    # --- messages ---------------------------------------------------------------------

    async def post_message(self, channel: str, text: str, *, priority: str = "normal",
                           client_msg_id: str | None = None) -> dict[str, Any]:
        body = {"text": text, "priority": priority,
                "client_msg_id": client_msg_id or uuid.uuid4().hex}
        return await self.call("POST", f"/api/channels/{channel}/messages", body)  # type: ignore[no-any-return]

    async def messages(self, channel: str, *, after_seq: int | None = None,
                       limit: int = 100) -> list[dict[str, Any]]:
        got = await self.call("GET", f"/api/channels/{channel}/messages", after_seq=after_seq,
                              limit=limit)
        return got["messages"]  # type: ignore[no-any-return]
