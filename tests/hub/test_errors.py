"""hub/errors.py: one model of every error, its HTTP status, wire code and retry class."""

from __future__ import annotations

import pytest

from hub.errors import (
    BadRequest,
    ChecksumMismatch,
    CloseCode,
    Conflict,
    ErrorCode,
    Forbidden,
    FrameError,
    HubError,
    LimitExceeded,
    NotFound,
    Throttled,
    TotpRequired,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
    UnsupportedVersion,
)


@pytest.mark.parametrize(("error", "status", "code"), [
    (BadRequest("x"), 400, ErrorCode.BAD_REQUEST),
    (FrameError("x"), 400, ErrorCode.BAD_FRAME),
    (Unauthenticated("x"), 401, ErrorCode.UNAUTHENTICATED),
    (TotpRequired("x"), 401, ErrorCode.TOTP_REQUIRED),
    (Throttled(), 429, ErrorCode.THROTTLED),
    (NotFound(), 404, ErrorCode.NOT_FOUND),
    (Forbidden("x"), 403, ErrorCode.FORBIDDEN),
    (Conflict("x"), 409, ErrorCode.CONFLICT),
    (LimitExceeded("x"), 413, ErrorCode.TOO_LARGE),
    (LimitExceeded("x", code=ErrorCode.RATE_LIMITED), 429, ErrorCode.RATE_LIMITED),
    (Unavailable("x"), 503, ErrorCode.UNAVAILABLE),
    (ChecksumMismatch("x"), 460, ErrorCode.CHECKSUM_MISMATCH),
    (UnsupportedVersion("x"), 412, ErrorCode.UNSUPPORTED_VERSION),
    (UnsupportedMedia("x"), 415, ErrorCode.UNSUPPORTED_MEDIA),
    (HubError("x"), 500, ErrorCode.INTERNAL),
])
def test_each_error_has_its_status_and_code(error: HubError, status: int,
                                            code: ErrorCode) -> None:
    assert (error.status, error.code) == (status, code)
    assert error.body() == {"error": {"code": str(code), "message": error.message,
                                      "retryable": code.retryable}}


def test_not_found_says_the_same_whatever_the_reason() -> None:
    assert NotFound().message == "not found"
    assert NotFound().body() == NotFound().body()


def test_a_code_given_overrides_the_class_code_for_that_instance_only() -> None:
    e = TotpRequired("enrol first", code=ErrorCode.TOTP_ENROLLMENT_REQUIRED)
    assert e.code is ErrorCode.TOTP_ENROLLMENT_REQUIRED
    assert TotpRequired("x").code is ErrorCode.TOTP_REQUIRED
    assert LimitExceeded("x").status == 413  # a rate limit elsewhere did not leak


def test_an_empty_message_still_says_something() -> None:
    assert HubError().message == "error"
    assert str(Throttled()) == "too many attempts, try later"
    assert Throttled(retry_after=30).retry_after == 30


def test_errors_form_one_hierarchy() -> None:
    assert issubclass(FrameError, BadRequest) and issubclass(TotpRequired, Unauthenticated)
    for cls in (BadRequest, Unauthenticated, Throttled, NotFound, Forbidden, Conflict,
                LimitExceeded, Unavailable):
        assert issubclass(cls, HubError)


def test_a_frame_error_carries_the_frames_ref() -> None:
    e = FrameError("bad", ref="r-1", code=ErrorCode.UNKNOWN_TYPE)
    assert (e.ref, e.code, e.status) == ("r-1", ErrorCode.UNKNOWN_TYPE, 400)


def test_only_transient_error_codes_are_retryable() -> None:
    retryable = {c for c in ErrorCode if c.retryable}
    assert retryable == {ErrorCode.RATE_LIMITED, ErrorCode.THROTTLED, ErrorCode.UNAVAILABLE,
                         ErrorCode.INTERNAL, ErrorCode.AUTH_TIMEOUT,
                         ErrorCode.TOO_MANY_CONNECTIONS, ErrorCode.CHECKSUM_MISMATCH}


def test_close_codes_sit_in_their_ranges() -> None:
    for c in CloseCode:
        assert 1000 <= c <= 1011 or 4000 <= c <= 4999, c


@pytest.mark.parametrize(("close", "retry"), [
    (CloseCode.NORMAL, False), (CloseCode.GOING_AWAY, True), (CloseCode.POLICY, False),
    (CloseCode.TOO_BIG, False), (CloseCode.INTERNAL, True),
    (CloseCode.UNAUTHENTICATED, False), (CloseCode.AUTH_TIMEOUT, True),
    (CloseCode.SESSION_EXPIRED, False), (CloseCode.SLOW_CONSUMER, True),
    (CloseCode.FLOODING, True), (CloseCode.TOO_MANY_CONNECTIONS, True),
])
def test_close_codes_say_whether_to_reconnect(close: CloseCode, retry: bool) -> None:
    assert close.retryable is retry


def test_the_error_frame_before_a_refusal_matches_its_close_code() -> None:
    assert CloseCode.AUTH_TIMEOUT.error_code is ErrorCode.AUTH_TIMEOUT
    assert CloseCode.TOO_MANY_CONNECTIONS.error_code is ErrorCode.TOO_MANY_CONNECTIONS
    assert CloseCode.INTERNAL.error_code is ErrorCode.UNAVAILABLE
    assert CloseCode.UNAUTHENTICATED.error_code is ErrorCode.UNAUTHENTICATED
    # a refusal that is retryable is announced with a retryable error code, and vice versa
    for close in (CloseCode.AUTH_TIMEOUT, CloseCode.TOO_MANY_CONNECTIONS, CloseCode.INTERNAL,
                  CloseCode.UNAUTHENTICATED):
        assert close.error_code.retryable is close.retryable
