"""Every error the hub reports, and the codes that carry them on the wire.

Hierarchy::

    HubError                  base: carries an ErrorCode, HTTP status and message
    ├── BadRequest            input is malformed or fails validation       (400)
    │   └── FrameError        a WebSocket frame could not be decoded       (error frame)
    ├── Unauthenticated       no valid credentials                          (401)
    ├── TotpRequired          password accepted, second factor missing     (401)
    ├── Throttled             too many failed logins                        (429)
    ├── NotFound              does not exist *or* the caller may not see it (404)
    ├── Forbidden             visible to the caller, but the role forbids  (403)
    ├── Conflict              already exists / version mismatch            (409)
    ├── LimitExceeded         a documented limit was hit                   (413/429)
    └── Unavailable           the engine cannot be reached; retry          (503)
        └── TranslationFailed a translation engine failed or is not there;
                              the original is shown instead, never an error

    OperatorError             told to whoever runs the hub (the CLI, start-up), never
    ├── DataTooNew            to a client: a store written by a newer release
    └── BackupError           a backup cannot be taken, or an archive not restored

Error codes are strings (``ErrorCode``) so bot authors can read them; each
code says whether retrying the same request may succeed. WebSocket close
codes are an ``IntEnum`` (``CloseCode``): 1000-1011 from RFC 6455, 4000-4999
for the hub. ``CloseCode.retryable`` tells a client whether to reconnect.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "BackupError",
    "BadRequest",
    "CloseCode",
    "Conflict",
    "DataTooNew",
    "ErrorCode",
    "Forbidden",
    "FrameError",
    "HubError",
    "LimitExceeded",
    "NotFound",
    "OperatorError",
    "Throttled",
    "TotpRequired",
    "TranslationFailed",
    "Unauthenticated",
    "Unavailable",
]


class ErrorCode(StrEnum):
    BAD_FRAME = "bad_frame"
    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    UNAUTHENTICATED = "unauthenticated"
    AUTH_TIMEOUT = "auth_timeout"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    TOTP_REQUIRED = "totp_required"
    TOTP_ENROLLMENT_REQUIRED = "totp_enrollment_required"
    THROTTLED = "throttled"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    UNSUPPORTED_MEDIA = "unsupported_media"
    UNSUPPORTED_VERSION = "unsupported_version"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    NOT_SUBSCRIBED = "not_subscribed"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = frozenset(
    {ErrorCode.RATE_LIMITED, ErrorCode.THROTTLED, ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL,
     ErrorCode.AUTH_TIMEOUT, ErrorCode.TOO_MANY_CONNECTIONS, ErrorCode.CHECKSUM_MISMATCH}
)


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # hub shutting down: reconnect elsewhere / later
    POLICY = 1008  # session revoked: logout, password change, account disabled
    TOO_BIG = 1009  # frame above max_frame_bytes (sent by the transport)
    INTERNAL = 1011
    UNAUTHENTICATED = 4001  # first frame was not a valid hello
    AUTH_TIMEOUT = 4002  # no hello within hello_timeout_seconds
    SESSION_EXPIRED = 4003  # idle or absolute session lifetime reached
    SLOW_CONSUMER = 4008  # send queue overflowed; reconnect and resume with since_seq
    FLOODING = 4029  # kept publishing far above the rate limit
    TOO_MANY_CONNECTIONS = 4030  # max_connections_per_user reached

    @property
    def retryable(self) -> bool:
        return self in {
            CloseCode.GOING_AWAY,
            CloseCode.INTERNAL,
            CloseCode.AUTH_TIMEOUT,
            CloseCode.SLOW_CONSUMER,
            CloseCode.FLOODING,
            CloseCode.TOO_MANY_CONNECTIONS,
        }

    @property
    def error_code(self) -> ErrorCode:
        """The error frame code sent before a refusal with this close code."""
        return _CLOSE_ERRORS.get(self, ErrorCode.UNAUTHENTICATED)


_CLOSE_ERRORS = {CloseCode.AUTH_TIMEOUT: ErrorCode.AUTH_TIMEOUT,
                 CloseCode.TOO_MANY_CONNECTIONS: ErrorCode.TOO_MANY_CONNECTIONS,
                 CloseCode.INTERNAL: ErrorCode.UNAVAILABLE}


class HubError(Exception):
    """Base class for errors reported to a client."""

    code: ErrorCode = ErrorCode.INTERNAL
    status: int = 500

    def __init__(self, message: str = "", *, code: ErrorCode | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or "")
        if code is not None:
            self.code = code
        self.message = message or "error"

    def body(self) -> dict[str, object]:
        return {"error": {"code": str(self.code), "message": self.message,
                          "retryable": self.code.retryable}}


class BadRequest(HubError):
    """Raised when input is malformed or fails validation."""

    code = ErrorCode.BAD_REQUEST
    status = 400


class FrameError(BadRequest):
    """Raised when a WebSocket frame cannot be decoded or has the wrong shape."""

    code = ErrorCode.BAD_FRAME

    def __init__(self, message: str, *, code: ErrorCode | None = None,
                 ref: str | None = None) -> None:
        super().__init__(message, code=code)
        self.ref = ref


class Unauthenticated(HubError):
    """Raised when credentials are missing, wrong, expired or revoked."""

    code = ErrorCode.UNAUTHENTICATED
    status = 401


class TotpRequired(Unauthenticated):
    """Raised when the password was right but the TOTP code is missing or wrong."""

    code = ErrorCode.TOTP_REQUIRED


class Throttled(HubError):
    """Raised when an account or address has too many recent failed logins."""

    code = ErrorCode.THROTTLED
    status = 429

    def __init__(self, message: str = "too many attempts, try later",
                 *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(HubError):
    """Raised when a thing does not exist or the caller may not know it exists."""

    code = ErrorCode.NOT_FOUND
    status = 404

    def __init__(self, message: str = "not found") -> None:
        super().__init__(message)


class Forbidden(HubError):
    """Raised when the caller can see a thing but their role does not allow the action."""

    code = ErrorCode.FORBIDDEN
    status = 403


class Conflict(HubError):
    """Raised when a unique name is taken or a version check fails."""

    code = ErrorCode.CONFLICT
    status = 409


class LimitExceeded(HubError):
    """Raised when a documented limit (size, rate, count) is exceeded."""

    code = ErrorCode.TOO_LARGE
    status = 413

    def __init__(self, message: str, *, code: ErrorCode = ErrorCode.TOO_LARGE,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        if code in (ErrorCode.RATE_LIMITED,):
            self.status = 429


class ChecksumMismatch(HubError):
    """Raised when an upload's bytes do not match the checksum sent with them (tus: 460);
    the bytes are not kept, and sending them again may succeed."""

    code = ErrorCode.CHECKSUM_MISMATCH
    status = 460


class UnsupportedMedia(HubError):
    """Raised when a file is not of a kind the hub accepts, decided from its bytes (415)."""

    code = ErrorCode.UNSUPPORTED_MEDIA
    status = 415


class UnsupportedVersion(HubError):
    """Raised when a client speaks a protocol version the hub does not (tus: 412)."""

    code = ErrorCode.UNSUPPORTED_VERSION
    status = 412


class Unavailable(HubError):
    """Raised when the engine cannot store or read right now; retrying may succeed."""

    code = ErrorCode.UNAVAILABLE
    status = 503


class TranslationFailed(Unavailable):
    """A machine translation engine did not answer, refused, or lost an agreed term.
    Readers get the original; the hub says translation is unavailable."""


class OperatorError(Exception):
    """A problem for whoever runs the hub; its message says what to do."""


class DataTooNew(OperatorError):
    """The store was written by a newer release: this one refuses to open it rather
    than misread or damage it (downgrades are not supported; restore a backup)."""

    def __init__(self, what: str, found: int, supported: int) -> None:
        super().__init__(
            f"{what} has data schema {found}, newer than this release of Liaison Hub "
            f"reads (up to {supported}); it was written by a newer release. Downgrading "
            "is not supported: run the release that wrote it, or restore a backup taken "
            "before the upgrade (README, \"Operating the hub\")")
        self.found = found
        self.supported = supported


class BackupError(OperatorError):
    """A backup could not be taken, or an archive cannot be restored."""
