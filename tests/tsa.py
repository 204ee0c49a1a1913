"""A real RFC 3161 Time-Stamp Authority for tests: OpenSSL's ``openssl ts -reply``, behind
a loopback HTTP handler that takes ``application/timestamp-query`` POSTs.

The certificates are made here with ``cryptography``: a root CA and, signed by it, the
TSA's certificate (EC P-256, extended key usage timeStamping, critical), or one that
had expired before it stamps, to see the verifier refuse it. Nothing of the protocol is
mocked: OpenSSL parses each request and signs each response.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import STRICT

__all__ = ["Tsa", "make_ca", "require_openssl", "running_tsa"]


def require_openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        reason = "openssl not found: install it (apt-get install openssl) for the TSA tests"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _tsa_cert(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, *,
              expired: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    start, end = ((now - dt.timedelta(days=20), now - dt.timedelta(days=10)) if expired
                  else (now - dt.timedelta(days=1), now + dt.timedelta(days=365)))
    cert = (x509.CertificateBuilder().subject_name(_name("Test TSA"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


@dataclass
class Tsa:
    url: str
    #: The chain a verifier is given: the TSA's root (and its own certificate).
    chain: bytes
    requests: int = 0


_CONFIG = """\
[tsa]
default_tsa = tsa_config1
[tsa_config1]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.crt
certs = {dir}/tsa.crt
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@contextmanager
def running_tsa(*, expired: bool = False) -> Iterator[Tsa]:
    """A TSA on 127.0.0.1 answering with ``openssl ts -reply`` for as long as the block."""
    openssl = require_openssl()
    ca_key, ca = make_ca("Test TSA Root")
    key, cert = _tsa_cert(ca_key, ca, expired=expired)
    folder = Path(tempfile.mkdtemp(prefix="tsa-"))
    (folder / "tsa.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (folder / "tsa.crt").write_bytes(_pem(cert))
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(_CONFIG.format(dir=folder))
    tsa = Tsa(url="", chain=_pem(ca) + _pem(cert))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            query = self.rfile.read(length)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(415)
                self.end_headers()
                return
            with lock:  # one serial file: one reply at a time
                tsa.requests += 1
                (folder / "q.tsq").write_bytes(query)
                done = subprocess.run(
                    [openssl, "ts", "-reply", "-config", str(folder / "tsa.cnf"),
                     "-queryfile", str(folder / "q.tsq"), "-out", str(folder / "r.tsr")],
                    capture_output=True, timeout=30, check=False)
                reply = (folder / "r.tsr").read_bytes() if done.returncode == 0 else b""
            if not reply:
                self.send_response(500)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tsa
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
