"""Time-based one-time passwords (RFC 6238) for the second login factor."""

from __future__ import annotations

import hmac

import pyotp

__all__ = ["new_totp_secret", "totp_step"]


def new_totp_secret(username: str) -> tuple[str, str]:
    """A new TOTP secret and its ``otpauth://`` URI for authenticator apps."""
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="Liaison Hub")
    return secret, uri


def totp_step(secret: str, code: str, now: float) -> int | None:
    """The time step (now, or one step either side) whose code is ``code``, or None."""
    code = code.strip()
    if not (code.isascii() and code.isdigit() and len(code) <= 10):
        return None  # compare_digest refuses non-ASCII text: never let it see any
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        at = now + drift * totp.interval
        if hmac.compare_digest(totp.at(at), code):
            return int(at // totp.interval)
    return None
