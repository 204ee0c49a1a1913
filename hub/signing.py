"""The hub's Ed25519 signing key: it signs operation exports and the audit trail's
checkpoints, which anyone verifies offline with the public key alone.

The private key lives in one file (``export_key_file``, by default in the key
directory outside the data directory, PEM, mode 0600: a file others may read is
refused), made the first time a hub needs it. Beside it, ``<file>.pub`` keeps
every public key the hub has signed with, oldest first: ``liaison export
public-key`` prints it, to hand to whoever will verify (an inquiry, a court, an
ombudsman office). A key is named by the first 16 hex digits of the SHA-256 of its
raw public bytes, so a manifest or checkpoint says which key signed it.

:class:`KeyFile` serves a running hub: it reads the file again when it changes,
so a rotation (:meth:`KeyFile.rotate`, ``liaison signing-key rotate``) reaches
every process sharing the file without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hub.private import private_dir

__all__ = ["KeyFile", "Signer", "key_id", "load_public_key", "load_public_keys", "private_key_file",
           "public_keyring", "verify"]


def private_key_file(path: Path) -> bytes:
    """The bytes of a private key file, refused if anyone but its owner may read it.

    Raises:
        ValueError: the file is readable by its group or by others.
    """
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ValueError(f"{path} may be read by others (mode {mode:o}): a private key must "
                         f"be its owner's alone (chmod 600 {path})")
    return path.read_bytes()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Signer:
    """Signs with the hub's key; :meth:`load_or_create` reads (or first makes) its file."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        if path.exists():
            loaded = serialization.load_pem_private_key(private_key_file(path), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise ValueError(f"{path} is not an Ed25519 private key")
            return cls(loaded)
        private = Ed25519PrivateKey.generate()
        pem = cls(private).private_pem()
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        signer = cls(private)
        _add_public(path, signer)
        return signer

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        return self._private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())

    def sign(self, data: bytes) -> str:
        """The signature of ``data``, base64."""
        return base64.b64encode(self._private.sign(data)).decode("ascii")

    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo
                                        ).decode("ascii")


def public_keyring(path: Path) -> Path:
    """The file of every public key signed with from ``path``, oldest first."""
    return path.with_name(path.name + ".pub")


def _add_public(path: Path, signer: Signer) -> None:
    ring = public_keyring(path)
    known = ring.read_text(encoding="ascii") if ring.exists() else ""
    pem = signer.public_pem()
    if pem not in known:
        with ring.open("a", encoding="ascii") as out:
            out.write(pem)


class KeyFile:
    """The signing key of a running hub, read when first needed and again whenever the
    file changes (a rotation by another process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signer: Signer | None = None
        self._stamp: tuple[int, int] | None = None

    @property
    def signer(self) -> Signer:
        stamp = self._file_stamp()
        if self._signer is None or stamp != self._stamp:
            self._signer = Signer.load_or_create(self.path)
            self._stamp = self._file_stamp()
        return self._signer

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def rotate(self, new: Signer) -> None:
        """Put ``new`` in place of the current key (which must have vouched for it in
        the audit trail first: see :mod:`hub.checkpoints`)."""
        from hub.private import write_private

        _add_public(self.path, self.signer)  # an older hub's key was in no keyring
        write_private(self.path, new.private_pem())
        _add_public(self.path, new)
        self._signer, self._stamp = new, self._file_stamp()

    def public_pems(self) -> str:
        """Every public key signed with, oldest first (the current one last)."""
        ring = public_keyring(self.path)
        current = self.signer.public_pem()
        known = ring.read_text(encoding="ascii") if ring.exists() else ""
        return known if current in known else known + current


def load_public_keys(pem: bytes) -> dict[str, Ed25519PublicKey]:
    """Every public key of a PEM file (one or several), by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    marker = b"-----END PUBLIC KEY-----"
    for block in pem.split(marker):
        if b"-----BEGIN PUBLIC KEY-----" in block:
            key = load_public_key(block[block.index(b"-----BEGIN"):] + marker + b"\n")
            keys[key_id(key)] = key
    if not keys:
        raise ValueError("no public key in the file")
    return keys


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    loaded = serialization.load_pem_public_key(pem)
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return loaded


def verify(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True
