"""hub/totp.py: the one-time codes of the second login factor."""

from __future__ import annotations

import pyotp
from hypothesis import given
from hypothesis import strategies as st

from hub.totp import new_totp_secret, totp_step

NOW = 1_800_000_000.0


def test_a_new_secret_comes_with_an_authenticator_uri() -> None:
    secret, uri = new_totp_secret("alice")
    assert len(secret) >= 16 and uri.startswith("otpauth://totp/")
    assert "alice" in uri and "secret=" + secret in uri and "Liaison" in uri
    assert new_totp_secret("alice")[0] != secret


def test_the_current_code_and_one_step_either_side_are_accepted() -> None:
    secret, _ = new_totp_secret("alice")
    totp = pyotp.TOTP(secret)
    step = int(NOW // totp.interval)
    assert totp_step(secret, totp.at(NOW), NOW) == step
    assert totp_step(secret, " " + totp.at(NOW) + " ", NOW) == step
    assert totp_step(secret, totp.at(NOW - totp.interval), NOW) == step - 1
    assert totp_step(secret, totp.at(NOW + totp.interval), NOW) == step + 1
    assert totp_step(secret, totp.at(NOW - 3 * totp.interval), NOW) is None


@given(st.text(max_size=12))
def test_anything_but_the_right_digits_is_refused_without_error(code: str) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    right = {pyotp.TOTP(secret).at(NOW + d * 30) for d in (-1, 0, 1)}
    step = totp_step(secret, code, NOW)
    assert (step is not None) == (code.strip() in right)


def test_non_ascii_digits_are_refused() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    code = pyotp.TOTP(secret).at(NOW)
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert totp_step(secret, arabic, NOW) is None
