"""Writes audit records through the store, and signs the trail's checkpoints; the one
place actions are audited from."""

from __future__ import annotations

import asyncio
import logging

from hub.checkpoints import CHECKPOINT, START, signed_bytes, step
from hub.clock import Clock
from hub.engine.port import AuditEntry, AuditLog
from hub.models import AuditRecord
from hub.signing import KeyFile, Signer
from hub.timestamps import Stamper

__all__ = ["Auditor"]

log = logging.getLogger("hub.audit")


class Auditor:
    """Appends security-relevant actions to the hash-chained audit log.

    Records hold who, what, on what, outcome, when, from where and in which
    operation: never passwords, tokens or message bodies (callers pass ids).

    With ``keys``, the trail's digest is signed into an ``audit.checkpoint`` record
    (:mod:`hub.checkpoints`) once ``every_records`` records have come since the last
    checkpoint, and by :meth:`tick` once ``every_seconds`` have passed with records
    since. Any process may write one: each reads the trail from where its digest
    stopped, so checkpoints of other processes are covered like any record.
    With ``stamper``, each checkpoint's signed statement is time-stamped by the TSA
    (``timestamp`` in its details) before it is written.
    """

    def __init__(self, store: AuditLog, clock: Clock, *, keys: KeyFile | None = None,
                 every_records: int = 100, every_seconds: float = 60.0,
                 stamper: Stamper | None = None) -> None:
        self._stamper = stamper
        self._store = store
        self._clock = clock
        self._keys = keys
        self._every_records = every_records
        self._every_seconds = every_seconds
        self._lock = asyncio.Lock()
        self._digest = START
        self._upto = 0  # the digest covers records 1.._upto
        self._last_checkpoint = 0  # seq of the newest checkpoint record read or written
        self._last_time = clock.now()

    async def record(self, *, actor: str, action: str, target: str, outcome: str,
                     client: str = "", operation_id: str = "",
                     details: dict[str, object] | None = None) -> None:
        entry = AuditEntry(ts=self._clock.now(), actor=actor, action=action, target=target,
                           outcome=outcome, operation_id=operation_id, client=client,
                           details=details)
        written = await self._store.append_audit(entry)
        log.debug("audit", extra={"actor": actor, "action": action, "target": target,
                                 "outcome": outcome, "operation": operation_id,
                                 "client": client})
        if self._keys is not None and written.seq - self._last_checkpoint >= \
                self._every_records and not self._lock.locked():
            await self.checkpoint(force=False)

    async def tick(self) -> None:
        """Called every few seconds: sign the head if records came since the last
        checkpoint and ``every_seconds`` have passed."""
        if self._keys is not None and \
                self._clock.now() - self._last_time >= self._every_seconds:
            await self.checkpoint()

    async def checkpoint(self, *, force: bool = True,
                         signer: Signer | None = None) -> AuditRecord | None:
        """Sign the trail's head now (unless the newest record is a checkpoint, or,
        without ``force``, fewer than ``every_records`` records came since); with
        ``signer``, with that key rather than the key file's (a rotation's last word)."""
        if self._keys is None and signer is None:
            return None
        async with self._lock:
            async for rec in self._store.iter_audit(after_seq=self._upto):
                self._digest, self._upto = step(self._digest, rec), rec.seq
                if rec.action == CHECKPOINT:
                    self._last_checkpoint = rec.seq
            if self._upto == 0 or self._last_checkpoint == self._upto or \
                    (not force and self._upto - self._last_checkpoint < self._every_records):
                return None
            key = signer or (self._keys.signer if self._keys else None)
            assert key is not None
            upto, digest = self._upto, self._digest
            statement = signed_bytes(upto, digest)
            details: dict[str, object] = {"upto": upto, "digest": digest, "key_id": key.key_id,
                                          "signature": key.sign(statement)}
            if self._stamper is not None:  # trusted time, when a TSA is configured
                stamp = await self._stamper.stamp(statement)
                if stamp is not None:
                    details["timestamp"] = stamp
            written = await self._store.append_audit(AuditEntry(
                ts=self._clock.now(), actor="hub", action=CHECKPOINT, target=f"audit:{upto}",
                outcome="ok", details=details))
            self._last_checkpoint = written.seq
            self._last_time = self._clock.now()
            return written
