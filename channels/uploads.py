"""Resumable uploads of files into a channel: authorize -> receive bytes -> keep once.

An upload is created for a channel its owner may post in (an attachment of a
message there, in the issue's next step), with its length declared up front and
refused above ``max_upload_bytes`` before any byte is sent. Its bytes then arrive
in as many PATCH requests as the link allows (tus 1.0, :mod:`hub.tus`), each
appended at the offset the hub last stored; a dropped connection keeps what
arrived, and the client resumes from there. Once complete, the bytes are kept
under their SHA-256 in the blob store (:mod:`hub.blobs`): the same file twice is
kept once.

Only its owner sees an upload: to anyone else, and once it has expired or been
terminated, it answers exactly like one that never existed. An unfinished
upload untouched for ``upload_expiry_seconds`` expires and its bytes are deleted
(:meth:`Uploads.expire`, run by the hub every minute).

The upload's record is a state document of its operation (the engine's store,
so every hub process sees it); its bytes grow in the blob store's ``incoming``
folder, named ``<operation>~<upload>``, which the sweep lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, NotRequired, TypedDict

from channels.access import Access
from channels.bodies import FileRef
from channels.file_policy import FilePolicies
from channels.permissions import Action
from hub.blobs import BlobStore
from hub.clock import Clock
from hub.config import Settings
from hub.documents import StateName
from hub.engine.port import Records
from hub.errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    LimitExceeded,
    NotFound,
    UnsupportedMedia,
)
from hub.filetypes import sniff
from hub.images import ImageRefused, process
from hub.models import Channel, OperationId, new_id
from hub.principal import Principal
from hub.scanner import CommandScanner
from hub.tus import BodyDropped, Checksum

__all__ = ["UploadDoc", "Uploads", "upload_key"]

log = logging.getLogger(__name__)


class UploadDoc(TypedDict):
    id: str
    operation_id: str
    channel_id: str | None  # None: for a case of the operation
    owner: str  # the uploader's user id
    filename: str  # as the client named it (shown, never used as a path)
    filetype: str  # as the client declared it; the hub decides from the bytes
    length: int
    offset: int  # bytes stored so far
    created_at: float
    expires_at: float | None  # None once complete
    state: str  # uploading, complete, refused, expired, terminated
    sha256: str | None  # the kept bytes' digest, once complete
    #: The sender asked to attach the photo's position (it goes to the location field).
    keep_position: bool
    #: What the hub made of the bytes once complete (hub.filetypes, hub.images).
    file: NotRequired[FileDoc]


class FileDoc(TypedDict):
    """A finished upload as the hub keeps it: its kind decided from the bytes; for an
    image, the re-encoded image (``UploadDoc.sha256``), its preview and thumbnail."""

    type: str
    size: int
    width: int | None
    height: int | None
    preview: str | None  # digests in the blob store
    thumbnail: str | None
    position: dict[str, float] | None  # {lat, lon}, only when asked and present


def upload_key(upload_id: str) -> StateName[UploadDoc]:
    return StateName(f"upload:{upload_id}")


def _name(op_id: str, upload_id: str) -> str:
    return f"{op_id}~{upload_id}"


class Uploads:
    def __init__(self, *, store: Records, access: Access, clock: Clock, blobs: BlobStore,
                 settings: Settings, policies: FilePolicies,
                 scanner: CommandScanner | None = None) -> None:
        self._policies = policies
        self._scanner = scanner
        self._store = store
        self._access = access
        self._clock = clock
        self._blobs = blobs
        self._settings = settings
        #: One PATCH at a time per upload in this process (held while in use only).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = \
            weakref.WeakValueDictionary()

    async def create(self, principal: Principal, *, length: int, metadata: dict[str, str],
                     client: str) -> UploadDoc:
        """A new upload of ``length`` bytes into the channel ``metadata["channel"]``."""
        channel, operation = metadata.get("channel"), metadata.get("operation")
        if bool(channel) == bool(operation):
            raise BadRequest("'Upload-Metadata' must name the 'channel' (a message's file) or "
                             "the 'operation' (a case's) the file is for")
        if channel:
            ch, _, _ = await self._access.channel(principal, channel, Action.POST,
                                                  client=client)
            op_id, ch_id = ch.operation_id, ch.id
        else:
            op, _ = await self._access.operation(principal, str(operation),
                                                 Action.EDIT_RECORDS, client=client)
            op_id, ch_id = op.id, None
        await self._policies.admit(op_id, length, metadata.get("filetype", ""))
        now = self._clock.now()
        doc: UploadDoc = {
            "id": new_id("up"), "operation_id": op_id, "channel_id": ch_id,
            "owner": principal.user_id, "filename": metadata.get("filename", "")[:200],
            "filetype": metadata.get("filetype", "")[:100], "length": length, "offset": 0,
            "created_at": now, "expires_at": now + self._settings.upload_expiry_seconds,
            "state": "uploading", "sha256": None,
            "keep_position": metadata.get("position", "") == "attach"}
        path = self._blobs.incoming(_name(op_id, doc["id"]))
        await asyncio.to_thread(path.touch, 0o600)
        await self._store.put_state(op_id, upload_key(doc["id"]), doc)
        if length == 0:
            doc = await self._complete(doc, path)
        return doc

    async def status(self, principal: Principal, op_id: str, upload_id: str) -> UploadDoc:
        """The caller's own upload, as stored (NotFound for anyone else's, or one gone).
        A PATCH still storing what arrived before its connection dropped is waited for,
        so a client resuming reads the offset it left off at."""
        async with self._lock(upload_id):
            return await self._mine(principal, op_id, upload_id)

    def _lock(self, upload_id: str) -> asyncio.Lock:
        lock = self._locks.get(upload_id)
        if lock is None:
            lock = self._locks[upload_id] = asyncio.Lock()
        return lock

    async def append(self, principal: Principal, op_id: str, upload_id: str, offset: int,
                     body: AsyncIterator[bytes], checksum: Checksum | None) -> UploadDoc:
        """Store the bytes of one PATCH at ``offset``; the upload afterwards.

        Raises:
            Conflict: ``offset`` is not where the upload stands (409; ask with HEAD).
            ChecksumMismatch: the bytes are not what ``checksum`` says; not kept (460).
            LimitExceeded: more bytes than the upload's length.
        """
        async with self._lock(upload_id):
            return await self._append(principal, op_id, upload_id, offset, body, checksum)

    async def _append(self, principal: Principal, op_id: str, upload_id: str, offset: int,
                      body: AsyncIterator[bytes], checksum: Checksum | None) -> UploadDoc:
        doc = await self._mine(principal, op_id, upload_id)
        if offset != doc["offset"]:
            raise Conflict(f"'Upload-Offset' must be {doc['offset']}, where the upload stands")
        if doc["state"] == "complete":
            return doc
        path = self._blobs.incoming(_name(doc["operation_id"], doc["id"]))
        room = doc["length"] - doc["offset"]
        received, complete_body = await self._receive(path, doc["offset"], room, body,
                                                      checksum)
        if checksum is not None and not (complete_body and checksum.matches()):
            await asyncio.to_thread(_truncate, path, doc["offset"])  # not kept
            raise ChecksumMismatch("the bytes do not match 'Upload-Checksum': send them again")
        doc = {**doc, "offset": doc["offset"] + received,
               "expires_at": self._clock.now() + self._settings.upload_expiry_seconds}
        await self._store.put_state(OperationId(doc["operation_id"]), upload_key(doc["id"]),
                                    doc)
        if doc["offset"] == doc["length"]:
            doc = await self._complete(doc, path)
        if not complete_body and checksum is None:
            log.info("upload %s: connection dropped at %d of %d bytes; kept", doc["id"],
                     doc["offset"], doc["length"])
        return doc

    async def _receive(self, path: Path, offset: int, room: int, body: AsyncIterator[bytes],
                       checksum: Checksum | None) -> tuple[int, bool]:
        """Append the body's bytes at ``offset`` and make them durable: (bytes stored,
        whether the whole body arrived). A dropped connection keeps what arrived."""
        f = await asyncio.to_thread(_open_at, path, offset)
        received, whole = 0, True
        try:
            try:
                async for chunk in body:
                    received += len(chunk)
                    if received > room:
                        raise LimitExceeded("more bytes than the upload's 'Upload-Length'")
                    if checksum is not None:
                        checksum.update(chunk)
                    await asyncio.to_thread(f.write, chunk)
            except BodyDropped:
                whole = False  # what arrived is kept: the client resumes from there
            except BaseException:
                await asyncio.to_thread(f.truncate, offset)
                raise
            await asyncio.to_thread(_sync, f)
        finally:
            await asyncio.to_thread(f.close)
        return received, whole

    async def _complete(self, doc: UploadDoc, path: Path) -> UploadDoc:
        """Decide what the bytes are and keep them: an image re-encoded (its metadata
        gone) with a preview and a thumbnail; a PDF or a text as it came. A file of
        another kind is refused (415) and its bytes deleted."""
        data = await asyncio.to_thread(path.read_bytes)
        sniffed = sniff(data, declared=doc["filetype"])
        kind = sniffed.kind
        if kind is None:
            raise await self._refused(doc, sniffed.refusal)
        op_id = OperationId(doc["operation_id"])
        try:
            await self._policies.accept(op_id, kind)
        except UnsupportedMedia:
            await self._end(doc, "refused")
            raise
        if self._scanner is not None:
            verdict = await self._scanner.scan(path)
            if not verdict.clean:
                log.warning("upload %s refused by the file scanner: %s", doc["id"],
                            verdict.said)
                await self._end(doc, "refused")
                raise UnsupportedMedia(f"refused by the file scanner: {verdict.said}")
        if kind.is_image:
            try:
                made = await asyncio.to_thread(
                    process, data, kind, max_pixels=self._settings.max_image_pixels,
                    keep_position=doc["keep_position"])
            except ImageRefused as exc:
                raise await self._refused(doc, str(exc)) from None
            digest, size = await self._blobs.put(made.image.data)
            preview, _ = await self._blobs.put(made.preview.data)
            thumbnail, _ = await self._blobs.put(made.thumbnail.data)
            await self._policies.kept(op_id, size + len(made.preview.data)
                                      + len(made.thumbnail.data))
            await self._blobs.discard(path)  # the sent bytes, metadata and all: gone
            file: FileDoc = {
                "type": made.image.mime, "size": size, "width": made.image.width,
                "height": made.image.height, "preview": preview, "thumbnail": thumbnail,
                "position": {"lat": made.position[0], "lon": made.position[1]}
                if made.position else None}
        else:
            digest, size = await self._blobs.keep(path)
            await self._policies.kept(op_id, size)
            file = {"type": str(kind), "size": size, "width": None, "height": None,
                    "preview": None, "thumbnail": None, "position": None}
        done: UploadDoc = {**doc, "state": "complete", "sha256": digest, "expires_at": None,
                           "file": file}
        await self._store.put_state(OperationId(doc["operation_id"]), upload_key(doc["id"]),
                                    done)
        return done

    async def _refused(self, doc: UploadDoc, why: str) -> UnsupportedMedia:
        """End the upload, its bytes deleted; the refusal to answer with."""
        await self._end(doc, "refused")
        return UnsupportedMedia(f"{why}: accepted are JPEG, PNG, WebP and HEIC images, PDF, "
                                "plain text and CSV")

    async def attachable(self, principal: Principal, ch: Channel,
                         upload_ids: Sequence[str]) -> list[FileRef]:
        """The files a message of ``principal``'s in ``ch`` carries: each a finished upload
        of theirs made for this channel (anything else is refused naming it, alike
        whether it does not exist, is another's or is unfinished)."""
        found = await self._finished(principal, ch.operation_id, ch.id, upload_ids,
                                     "to this channel")
        return [ref for ref, _ in found]

    async def for_case(self, principal: Principal, op_id: OperationId,
                       upload_ids: Sequence[str]
                       ) -> tuple[list[FileRef], tuple[float, float] | None]:
        """The files a case gets, and the first position among them (a photo sent with
        ``position`` ``attach``): finished uploads of ``principal``'s for the operation."""
        found = await self._finished(principal, op_id, None, upload_ids, "for this operation")
        return [ref for ref, _ in found], next((p for _, p in found if p is not None), None)

    async def _finished(self, principal: Principal, op_id: OperationId, ch_id: str | None,
                        upload_ids: Sequence[str], scope: str
                        ) -> list[tuple[FileRef, tuple[float, float] | None]]:
        out = []
        for i, upload_id in enumerate(upload_ids):
            doc = await self._store.get_state(op_id, upload_key(upload_id))
            file = doc.get("file") if doc is not None else None
            # Attaching marks its files in use (the blob sweep spares them); one collected
            # since (left unattached past its grace) is no longer there to attach.
            if doc is None or file is None or doc["owner"] != principal.user_id \
                    or doc["channel_id"] != ch_id or doc["state"] != "complete" \
                    or doc["sha256"] is None or not await self._blobs.touch(
                        [d for d in (doc["sha256"], file["preview"], file["thumbnail"]) if d]):
                raise BadRequest(f"field 'attach[{i}]' is not a finished upload of yours "
                                 f"{scope}")
            where = file["position"]
            out.append((FileRef(upload=doc["id"], name=doc["filename"] or "file",
                                type=file["type"], size=file["size"], sha256=doc["sha256"],
                                width=file["width"], height=file["height"],
                                preview=file["preview"], thumbnail=file["thumbnail"]),
                        (where["lat"], where["lon"]) if where else None))
        return out

    async def terminate(self, principal: Principal, op_id: str, upload_id: str) -> None:
        """End the caller's unfinished upload and delete its bytes (tus termination)."""
        doc = await self._mine(principal, op_id, upload_id)
        if doc["state"] == "uploading":
            await self._end(doc, "terminated")

    async def run(self, every: float = 60.0) -> None:
        """Background loop: expire abandoned uploads every ``every`` seconds."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.expire()
            except Exception:
                log.exception("expiring uploads failed; trying again")

    async def expire(self) -> int:
        """Delete every unfinished upload past its expiry; how many there were."""
        ended = 0
        now = self._clock.now()
        for name in await asyncio.to_thread(self._blobs.unfinished):
            op_id, _, upload_id = name.partition("~")
            doc = await self._store.get_state(OperationId(op_id), upload_key(upload_id)) \
                if upload_id else None
            if doc is None:
                continue  # just created on another process, or not ours: left alone
            if doc["state"] == "uploading" and doc["expires_at"] is not None \
                    and doc["expires_at"] <= now:
                await self._end(doc, "expired")
                ended += 1
        return ended

    async def _end(self, doc: UploadDoc, state: str) -> None:
        await self._blobs.discard(self._blobs.incoming(_name(doc["operation_id"], doc["id"])))
        ended: UploadDoc = {**doc, "state": state, "expires_at": None}
        await self._store.put_state(OperationId(doc["operation_id"]), upload_key(doc["id"]),
                                    ended)

    async def _mine(self, principal: Principal, op_id: str, upload_id: str) -> UploadDoc:
        doc = await self._store.get_state(OperationId(op_id[:64]), upload_key(upload_id[:64])) \
            if op_id and upload_id else None
        if doc is None or doc["owner"] != principal.user_id \
                or doc["state"] in ("expired", "terminated", "refused"):
            raise NotFound()
        expires = doc["expires_at"]
        if doc["state"] == "uploading" and expires is not None and expires <= self._clock.now():
            await self._end(doc, "expired")
            raise NotFound()
        return doc


def _open_at(path: Path, offset: int) -> BinaryIO:
    """The upload's file for appending at ``offset`` (bytes past it, from a write the
    store never recorded, are dropped)."""
    f = path.open("r+b")
    f.truncate(offset)
    f.seek(offset)
    return f


def _truncate(path: Path, offset: int) -> None:
    with contextlib.suppress(FileNotFoundError), path.open("r+b") as f:
        f.truncate(offset)
        os.fsync(f.fileno())


def _sync(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())
