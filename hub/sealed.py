"""A sealed archive: records and files under a signed manifest, checked offline.

The archive is a zip with three fixed members and any number of files:

* ``records.jsonl`` — one record per line, canonical JSON (sorted keys, no spaces),
  each with a unique ``key`` (``case:<id>:v3``, ``message:<channel>:<seq>``...);
* ``manifest.json`` — the archive's description (``meta``), the signing key's id,
  every record's key and SHA-256 *in order*, and every other file's SHA-256;
* ``manifest.sig`` — the Ed25519 signature of ``manifest.json``'s bytes;
* ``manifest.tsr`` (when a Time-Stamp Authority is configured) — its RFC 3161
  time-stamp of ``manifest.json``'s bytes, base64 (:mod:`hub.timestamps`);
* ``attachments/<sha256>`` — each file a record carries (a record names them in its
  ``files``, each by ``sha256``), once, named by its SHA-256.

:func:`check` needs only the archive and the public key. It names every record
that was changed, added, removed or moved, every file changed, and every attachment
a record names that is missing or does not hash to its name, so an
inquiry can see *what* was altered, not just that something was. Pure: bytes in,
bytes or a report out.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.signing import Signer, key_id, verify

__all__ = ["ATTACHMENTS", "FORMAT", "Report", "Sealed", "attached", "check", "line_of",
           "seal", "sealed"]

FORMAT = "liaison-export/1"
RECORDS, MANIFEST, SIGNATURE = "records.jsonl", "manifest.json", "manifest.sig"
TIMESTAMP = "manifest.tsr"
MAX_ARCHIVE = 512 * 1024 * 1024  # what check() reads at most, unpacked
#: Where a record's files are, each named by its SHA-256.
ATTACHMENTS = "attachments/"


def attached(record: Mapping[str, Any]) -> list[str]:
    """The SHA-256 of every file ``record`` carries: a message's ``files``, or those of
    the case (or other document) an event holds as its ``record``."""
    found = []
    for holder in (record, record.get("record")):
        files = holder.get("files") if isinstance(holder, Mapping) else None
        if isinstance(files, list):
            found += [f["sha256"] for f in files
                      if isinstance(f, Mapping) and isinstance(f.get("sha256"), str)]
    return found


def line_of(record: Mapping[str, Any]) -> bytes:
    """A record as its line: canonical JSON, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Sealed:
    """An archive's parts, signed; :meth:`archive` packs them (with a time-stamp of the
    manifest, when there is one)."""

    manifest: bytes
    signature: str
    body: bytes
    files: Mapping[str, bytes]

    def archive(self, timestamp: str | None = None) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, self.manifest)
            z.writestr(SIGNATURE, self.signature + "\n")
            if timestamp is not None:
                z.writestr(TIMESTAMP, timestamp + "\n")
            z.writestr(RECORDS, self.body)
            for name, data in sorted(self.files.items()):
                z.writestr(name, data)
        return out.getvalue()


def sealed(records: Iterable[Mapping[str, Any]], meta: Mapping[str, Any],
           files: Mapping[str, bytes], signer: Signer) -> Sealed:
    """The signed parts of the archive of ``records`` (each with a unique ``key``)."""
    lines, index, seen = [], [], set()
    for record in records:
        key = str(record["key"])
        if key in seen:
            raise ValueError(f"two records have the key {key}")
        seen.add(key)
        line = line_of(record)
        lines.append(line)
        index.append([key, _sha(line)])
    body = b"".join(line + b"\n" for line in lines)
    manifest = json.dumps({"format": FORMAT, **meta, "key_id": signer.key_id,
                           "records": index,
                           "files": {name: _sha(data) for name, data in sorted(files.items())}},
                          sort_keys=True, indent=1, ensure_ascii=False).encode("utf-8")
    return Sealed(manifest, signer.sign(manifest), body, dict(files))


def seal(records: Iterable[Mapping[str, Any]], meta: Mapping[str, Any],
         files: Mapping[str, bytes], signer: Signer) -> bytes:
    """The archive of ``records`` (each with a unique ``key``), ``files`` and ``meta``."""
    return sealed(records, meta, files, signer).archive()


@dataclass
class Report:
    """What :func:`check` found; ``ok`` only if nothing."""

    problems: list[str] = field(default_factory=list)
    records: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    #: Each record's line by its key, as read (for :func:`hub.commitments.compare`).
    lines: dict[str, bytes] = field(default_factory=dict)
    #: The manifest's bytes and its time-stamp, if it has one (see hub.timestamps).
    manifest: bytes = b""
    timestamp: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check(archive: bytes,
          public: Ed25519PublicKey | Mapping[str, Ed25519PublicKey]) -> Report:
    """What is wrong with ``archive``, checked with the public key (or, from several by
    key id, the one its manifest names: a key rotated since still verifies)."""
    report = Report()
    try:
        z = zipfile.ZipFile(io.BytesIO(archive))
        listed = z.namelist()
        names = set(listed)
        if len(names) != len(listed):  # a reader would see one copy, unzip another
            twice = sorted({n for n in listed if listed.count(n) > 1})
            report.problems.append(f"the archive holds {', '.join(twice)} more than once")
            return report
        if sum(i.file_size for i in z.infolist()) > MAX_ARCHIVE:
            report.problems.append("the archive unpacks to more than it may")
            return report
        missing = {MANIFEST, SIGNATURE, RECORDS} - names
        if missing:
            report.problems.append(f"the archive has no {', '.join(sorted(missing))}")
            return report
        manifest, signature = z.read(MANIFEST), z.read(SIGNATURE).decode("ascii").strip()
        body = z.read(RECORDS)
        files = {n: z.read(n) for n in names - {MANIFEST, SIGNATURE, RECORDS, TIMESTAMP}}
        if TIMESTAMP in names:
            report.timestamp = z.read(TIMESTAMP).decode("ascii").strip()
    except (zipfile.BadZipFile, UnicodeDecodeError, KeyError, OSError) as exc:
        report.problems.append(f"not a readable archive: {exc}")
        return report
    if isinstance(public, Mapping):
        try:
            named = json.loads(manifest).get("key_id")
        except (ValueError, AttributeError):
            named = None
        found = public.get(named) if isinstance(named, str) else None
        if found is None:
            report.problems.append(f"the manifest names signing key {named}, which is not "
                                   "among the public keys given")
            return report
        public = found
    if not verify(public, manifest, signature):
        report.problems.append("the manifest's signature does not verify with this key "
                               "(the manifest was changed, or another key signed it)")
        return report
    report.manifest = manifest
    meta = json.loads(manifest)
    report.meta = {k: v for k, v in meta.items() if k not in ("records", "files")}
    if meta.get("key_id") != key_id(public):
        report.problems.append("the manifest names another signing key")
    _check_records(report, meta.get("records") or [], body)
    for name, digest in (meta.get("files") or {}).items():
        if name not in files:
            report.problems.append(f"file {name} was removed")
        elif _sha(files[name]) != digest:
            report.problems.append(f"file {name} was changed")
    for name in sorted(set(files) - set(meta.get("files") or {})):
        report.problems.append(f"file {name} was added")
    _check_attachments(report, meta, files)
    return report


def _check_attachments(report: Report, meta: Mapping[str, Any],
                       files: Mapping[str, bytes]) -> None:
    """Each attachment hashes to its name, and each one a record names is there (unless
    the manifest says the hub no longer kept it)."""
    for name in sorted(n for n in files if n.startswith(ATTACHMENTS)):
        if _sha(files[name]) != name.removeprefix(ATTACHMENTS):
            report.problems.append(f"file {name} does not hash to its name")
    not_kept = set(meta.get("files_not_kept") or [])
    for key, line in report.lines.items():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        for digest in attached(record) if isinstance(record, dict) else []:
            if f"{ATTACHMENTS}{digest}" not in files and digest not in not_kept:
                report.problems.append(f"record {key} names file {digest}, which the "
                                       "archive does not hold")


#: Records out of their place named one by one before "and N more".
NAMED = 100


def _check_records(report: Report, index: list[list[str]], body: bytes) -> None:
    expected = {key: (n, digest) for n, (key, digest) in enumerate(index)}
    found: list[str] = []
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        try:
            key = str(json.loads(line)["key"])
        except (ValueError, KeyError, TypeError):
            report.problems.append(f"line {number} is not a record (added or damaged)")
            continue
        if key not in expected or key in found:
            report.problems.append(f"record {key} (line {number}) was added")
            continue
        found.append(key)
        report.lines[key] = line
        if _sha(line) != expected[key][1]:
            report.problems.append(f"record {key} (line {number}) was changed")
    report.records = len(found)
    present = set(found)
    for key, _ in index:
        if key not in present:
            report.problems.append(f"record {key} was removed")
    # Every record that is not at its place among those present is named (both records
    # of a swap, each record a move shifted), up to NAMED of them.
    in_order = [key for key, _ in index if key in present]
    moved = [(place, mine, theirs) for place, (mine, theirs)
             in enumerate(zip(found, in_order, strict=True), 1) if mine != theirs]
    for place, mine, theirs in moved[:NAMED]:
        report.problems.append(f"record {mine} (line {place}) is out of its place, where "
                               f"{theirs} belongs: the records were reordered")
    if len(moved) > NAMED:
        report.problems.append(f"and {len(moved) - NAMED} more records out of their place")
