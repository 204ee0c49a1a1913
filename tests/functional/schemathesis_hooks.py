"""schemathesis hooks for tests/functional/test_openapi_functional.py (loaded by the
schemathesis process through SCHEMATHESIS_HOOKS).

A tus PATCH body is raw bytes of media type application/offset+octet-stream, which
schemathesis has no serializer for: it is sent as the bytes schemathesis made.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx: Any, value: Any) -> dict[str, Any]:
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return {"data": data}
