"""Trusted time from a third party: RFC 3161 time-stamps of exports and audit checkpoints.

The hub's own clock proves nothing to a court: its operator sets it. So, when
``tsa_url`` names a Time-Stamp Authority (agencies run their own), the hub asks it
to stamp each export's manifest and each audit checkpoint's signed statement: a
POST of a DER ``TimeStampReq`` (``application/timestamp-query``) carrying the
SHA-256 of the bytes and a nonce, answered with a ``TimeStampResp`` the TSA
signed. The hub keeps the whole response with what it stamps; :func:`check`
verifies one offline against the TSA's certificate chain (the CMS signature, the
chain as it was at the stamping time, the certificate's timeStamping usage, and
that the stamped digest is that of the bytes).

Building requests and verifying responses is the ``rfc3161-client`` library's
(CMS is not something to write by hand); the HTTP call and what to do when the
TSA is down (the stamp is left out, and logged: a missing stamp is reported by
the verifier by name) are here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

__all__ = ["Stamper", "TimestampError", "check", "load_chain"]

log = logging.getLogger("hub.timestamps")

QUERY, REPLY = "application/timestamp-query", "application/timestamp-reply"
#: A response larger than this is not a time-stamp (they are a few kilobytes).
MAX_REPLY = 64 * 1024


class TimestampError(Exception):
    """A time-stamp that does not verify; the message says why."""


@dataclass(frozen=True, slots=True)
class Stamper:
    """Asks the configured TSA for time-stamps."""

    url: str
    timeout: float = 5.0

    async def stamp(self, data: bytes) -> str | None:
        """The TSA's response for ``data`` (base64 DER), or None when it could not be had
        (logged; the caller keeps what it stamps without it)."""
        request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256) \
            .nonce(nonce=True).cert_request(cert_request=True).build()
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                r = await client.post(self.url, content=request.as_bytes(),
                                      headers={"Content-Type": QUERY, "Accept": REPLY})
            if r.status_code != 200 or len(r.content) > MAX_REPLY:
                raise TimestampError(f"the TSA answered {r.status_code}")
            response = decode_timestamp_response(r.content)
            if response.status not in (0, 1):  # granted, granted with modifications
                raise TimestampError(f"the TSA refused: status {response.status}")
            if response.tst_info.nonce != request.nonce or \
                    response.tst_info.message_imprint.message != hashlib.sha256(data).digest():
                raise TimestampError("the TSA's answer is for another request")
        except (httpx.HTTPError, ValueError, TimestampError) as exc:
            log.warning("no time-stamp from the TSA", extra={"reason": str(exc)[:200]})
            return None
        return base64.b64encode(r.content).decode("ascii")


def load_chain(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM file (the TSA's chain, its root included)."""
    certs = x509.load_pem_x509_certificates(pem)
    if not certs:
        raise ValueError("no certificate in the file")
    return certs


def check(token: str, data: bytes, chain: list[x509.Certificate]) -> dt.datetime:
    """The time the TSA vouches ``data`` existed at, if ``token`` verifies with ``chain``
    (self-signed certificates in it are the roots, the others intermediates).

    Raises:
        TimestampError: why it does not verify (another document's stamp, a
            certificate not valid at that time or not of this chain, a damaged token).
    """
    try:
        response = decode_timestamp_response(base64.b64decode(token, validate=True))
    except ValueError as exc:
        raise TimestampError(f"not a readable time-stamp ({exc})") from None
    builder = VerifierBuilder()
    for cert in chain:
        if cert.issuer == cert.subject:
            builder = builder.add_root_certificate(cert)
        else:
            builder = builder.add_intermediate_certificate(cert)
    try:
        builder.build().verify_message(response, data)
    except (VerificationError, ValueError) as exc:
        if "Mismatch between messages" in str(exc):
            raise TimestampError("it stamps other bytes") from None
        raise TimestampError(f"it does not verify with the TSA certificates given "
                             f"({exc})") from None
    return response.tst_info.gen_time
