"""Files no message or case refers to any more are deleted: a mark and a sweep.

A kept file (:mod:`hub.blobs`) is referred to by the messages that carry it (their
body's ``files``: the file, its preview and its thumbnail) and by every version of
every case that carried it (the operation's log keeps each version, and exports
show them all). Anything else in the store is an orphan: a finished upload never
attached, or a message dropped by its channel's retention.

:meth:`BlobSweep.collect` reads every message and every log event of every
operation (the mark), then deletes each kept file that none of them named and that
has not been kept or marked in use for ``grace`` seconds (the sweep). The grace
spares what is on its way to being referred to: a finished upload waits that long
to be attached (``upload_expiry_seconds``), and attaching marks its files in use
(:meth:`hub.blobs.BlobStore.touch`), as keeping the same bytes again does; a
file marked in use while the sweep runs is put back (:meth:`~hub.blobs.BlobStore.
collect`). With several hub processes one sweeps at a time (the ``blobs`` lease).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from channels.bodies import CHAT, chat_body
from hub.blobs import BlobStore
from hub.clock import Clock
from hub.engine.port import Store

__all__ = ["BlobSweep", "Swept"]

log = logging.getLogger(__name__)

PAGE = 500
LEASE = "blobs"


@dataclass(frozen=True, slots=True)
class Swept:
    referred: int  # distinct files messages and cases refer to
    deleted: int


def named_files(files: object) -> Iterator[str]:
    """The digests a list of files names: each file, its preview and its thumbnail."""
    for f in files if isinstance(files, list) else ():
        if isinstance(f, Mapping):
            for key in ("sha256", "preview", "thumbnail"):
                if isinstance(f.get(key), str):
                    yield f[key]


class BlobSweep:
    def __init__(self, *, store: Store, blobs: BlobStore, clock: Clock, grace: float,
                 node_id: str, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall  # the file system's clock, which its times are read by
        self._store = store
        self._blobs = blobs
        self._clock = clock
        self._grace = grace
        self._node_id = node_id

    async def run(self, every: float) -> None:
        """Background loop: a sweep every ``every`` seconds, by the lease's holder."""
        while True:
            await asyncio.sleep(every)
            try:
                if await self._store.claim_lease(LEASE, self._node_id, self._clock.now(),
                                                 every):
                    swept = await self.collect()
                    log.info("blob sweep: %d files referred to, %d deleted",
                             swept.referred, swept.deleted)
            except Exception:
                log.exception("the blob sweep failed; trying again later")

    async def collect(self) -> Swept:
        unused_since = self._wall() - self._grace
        listed = await asyncio.to_thread(self._blobs.listed)  # before the mark: see below
        referred = await self._mark()
        deleted = 0
        # Only files listed before the mark began: one kept since is judged next time.
        for digest, at in listed:
            if digest not in referred and at < unused_since \
                    and await self._blobs.collect(digest, unused_since):
                deleted += 1
        return Swept(len(referred), deleted)

    async def release(self, digests: Sequence[str]) -> int:
        """Delete these kept files now (a redacted message's), unless a message or a case
        still carries them: how many were deleted."""
        referred = await self._mark()
        now = self._wall() + 1  # whenever last used: they were released, not forgotten
        return sum([await self._blobs.collect(d, now) for d in digests if d not in referred])

    async def _mark(self) -> set[str]:
        referred: set[str] = set()
        for op in await self._store.list_operations():
            for ch in await self._store.list_channels(op.id):
                after = 0
                while True:
                    page = await self._store.read_messages(ch.id, after_seq=after, limit=PAGE)
                    for m in page:
                        after = m.seq
                        if m.body_type == CHAT:
                            files = chat_body(m).files
                            if not isinstance(files, msgspec.UnsetType):
                                referred.update(named_files(msgspec.to_builtins(files)))
                    if len(page) < PAGE:
                        break
            seq = 0
            while True:
                events = await self._store.read_op_events(op.id, after_seq=seq, limit=PAGE)
                for event in events:
                    seq = event.seq
                    record: Any = event.data.get("record")
                    if isinstance(record, Mapping):
                        referred.update(named_files(record.get("files")))
                if len(events) < PAGE:
                    break
        return referred
