"""Cases of an operation: authorize -> validate (alerting.cases.case) -> store -> broadcast.

Every change is one record write plus one event in the operation's event log
(feed ``ops:<operation id>``), delivered live and recoverable with since_seq
exactly like chat. Writes carry the version the writer saw; a stale version
is refused with 409 and the current case, so two officers never silently
overwrite each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import msgspec

from alerting.board import TAIL_EVENTS, Board, apply, assemble, empty
from alerting.bodies import CaseChanges, CaseComment, NewCase, case_fields
from alerting.cases.case import apply_update, new_case
from alerting.documents import CaseDoc, CaseView
from alerting.kinds import ALERT, CASE
from alerting.visibility import History, ReaderView, as_replayed
from channels.access import Access
from channels.bodies import FileRef
from channels.labelling import item_label
from channels.permissions import Action
from hub.clock import Clock
from hub.engine.port import RecordWrite
from hub.errors import BadRequest, Conflict, NotFound
from hub.feeds import Feed, FeedItem
from hub.models import OperationId, OpEvent, new_id, ops_topic
from hub.principal import Principal

__all__ = ["CaseConflict", "CaseService"]


class CaseConflict(Conflict):
    """Raised when a case changed since the version the writer saw."""

    def __init__(self, current: CaseDoc, version: int) -> None:
        super().__init__(f"the case was changed by someone else (now version {version})")
        self.current = current
        self.version = version

    def body(self) -> dict[str, object]:
        body = super().body()
        body["current"] = {**self.current, "version": self.version}
        return body


class CaseService:
    def __init__(self, *, store: History, clock: Clock, access: Access) -> None:
        self._store = store
        self._clock = clock
        self.access = access
        #: Set by the composition root: the files (and a photo's position) a case gets
        #: from finished uploads (channels.uploads.Uploads.for_case).
        self.attachable: Callable[[Principal, OperationId, Sequence[str]],
                                  Awaitable[tuple[list[FileRef],
                                                  tuple[float, float] | None]]] | None = None
        #: Set by the composition root: a case version was written (its translations).
        self.on_written: Callable[[OperationId, CaseDoc, int], Awaitable[None]] | None = None

    # --- the operation feed (hub.feeds.FeedSource for "ops:") ------------------------

    async def open_feed(self, principal: Principal, key: str, client: str) -> Feed:
        op, _ = await self.access.operation(principal, key.removeprefix("ops:"),
                                            Action.READ_RECORDS, client=client)
        return Feed(key=f"ops:{op.id}", operation_id=op.id, topic=ops_topic(op.id),
                    chat=False)

    async def feed_bounds(self, feed: Feed) -> tuple[int, int]:
        return await self._store.op_event_bounds(OperationId(feed.operation_id))

    async def read_feed(self, feed: Feed, after_seq: int, limit: int) -> list[FeedItem]:
        """A page of the log for a socket's replay; an event of an item relabelled since
        goes out under both labels (alerting.visibility), as the REST log does."""
        op_id = OperationId(feed.operation_id)
        page = await self._store.read_op_events(op_id, after_seq=after_seq, limit=limit)
        return await as_replayed(self._store, self.access.policy, op_id, page)

    async def board_snapshot(self, feed: Feed, principal: Principal) -> Board:
        """The operation's board at a version, as ``principal`` may see it (records and
        events above their clearance left out); see :func:`alerting.board.assemble`."""
        op_id = OperationId(feed.operation_id)
        _, head = await self._store.op_event_bounds(op_id)
        cases = await self._store.list_records(op_id, CASE)
        alerts = await self._store.list_records(op_id, ALERT)
        tail = await self._store.read_op_events(op_id, after_seq=max(0, head - TAIL_EVENTS),
                                                limit=TAIL_EVENTS)
        view = self._view(principal, op_id)
        after: list[dict[str, object]] = []
        seq = head
        while True:
            page = await self._store.read_op_events(op_id, after_seq=seq, limit=500)
            after += [e.frame() for e in page if await view.sees_event(e)]
            if len(page) < 500:
                break
            seq = page[-1].seq
        sees = self.access.sees
        return assemble(op_id, head, [(r, v) for r, v in cases if sees(principal, r)],
                        [(r, v) for r, v in alerts if sees(principal, r)],
                        [e.frame() for e in tail if await view.sees_event(e)], after)

    async def board_at(self, principal: Principal, op_id: str, at: float,
                       client: str) -> Board:
        """The board as it stood at ``at`` (seconds since the epoch), for after-action
        review: the operation's log folded up to that moment with the same
        :func:`alerting.board.apply` live clients use, as ``principal`` may see it.
        Read-only; refused if the log's start was not kept."""
        op, _ = await self.access.operation(principal, op_id, Action.READ_RECORDS,
                                            client=client)
        first, _ = await self._store.op_event_bounds(op.id)
        if first > 1:
            raise Conflict(f"the operation's log before event {first} was not kept: "
                           "its board cannot be replayed")
        board, seq = empty(op.id), 0
        view = self._view(principal, op.id)
        while True:
            page = await self._store.read_op_events(op.id, after_seq=seq, limit=500)
            for event in page:
                if event.ts > at:
                    return board
                if await view.sees_event(event):
                    apply(board, event.frame())
                seq = event.seq
            if len(page) < 500:
                return board

    def _view(self, principal: Principal, op_id: OperationId) -> ReaderView:
        """What ``principal`` may see of the operation's history (alerting.visibility)."""
        return ReaderView(self.access, self._store, principal, op_id)

    async def events(self, principal: Principal, op_id: str, after_seq: int, limit: int,
                     client: str) -> tuple[list[OpEvent], int, bool]:
        """A page of the log as the caller may see it: (events, the seq to page on from,
        whether more may follow). Events above the caller's clearance are left out, so
        a page may be short, or empty, while more follow."""
        op, _ = await self.access.operation(principal, op_id, Action.READ_RECORDS,
                                            client=client)
        page = await self._store.read_op_events(op.id, after_seq=after_seq, limit=limit)
        view = self._view(principal, op.id)
        return ([e for e in page if await view.sees_event(e)],
                page[-1].seq if page else after_seq, len(page) == limit)

    # --- reading -------------------------------------------------------------------

    async def list_cases(self, principal: Principal, op_id: str,
                         client: str) -> list[CaseView]:
        op, _ = await self.access.operation(principal, op_id, Action.READ_RECORDS,
                                            client=client)
        return [{**doc, "version": v} for doc, v in await self._store.list_records(op.id, CASE)
                if self.access.sees(principal, doc)]

    async def get_case(self, principal: Principal, op_id: str, case_id: str,
                       client: str) -> CaseView:
        op, _ = await self.access.operation(principal, op_id, Action.READ_RECORDS,
                                            client=client)
        found = await self._store.get_record(op.id, CASE, case_id)
        if found is None or not self.access.sees(principal, found[0]):
            raise NotFound()  # above the caller's clearance: as if it did not exist
        doc, version = found
        return {**doc, "version": version}

    async def timeline(self, principal: Principal, op_id: str, case_id: str,
                       client: str) -> list[OpEvent]:
        case = await self.get_case(principal, op_id, case_id, client)
        op = OperationId(case["operation_id"])  # op_id may be the operation's code
        out, after = [], 0
        view = self._view(principal, op)
        while True:
            page = await self._store.read_op_events(op, after_seq=after,
                                                    limit=500)
            out += [e for e in page if ((e.kind == CASE and e.record_id == case_id)
                                        or (e.kind == ALERT
                                            and _case_of(e.data.get("record")) == case_id))
                    and await view.sees_event(e)]
            if len(page) < 500:
                return out
            after = page[-1].seq

    # --- writing -------------------------------------------------------------------

    async def _write(self, w: RecordWrite[CaseDoc]) -> tuple[OpEvent, bool]:
        written = await self._written(w)
        if written[1] and self.on_written is not None:
            await self.on_written(w.operation_id, w.doc, written[0].version)
        return written

    async def _written(self, w: RecordWrite[CaseDoc]) -> tuple[OpEvent, bool]:
        try:
            event, created = await self._store.write_record(w)
        except Conflict:
            if w.expected_version is None:
                raise
            found = await self._store.get_record(w.operation_id, CASE, w.record_id)
            if found is None:
                raise NotFound() from None
            raise CaseConflict(found[0], found[1]) from None
        return event, created

    async def create_case(self, principal: Principal, op_id: str, data: NewCase,
                          client: str) -> tuple[OpEvent, bool]:
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        case_id = new_id("case")
        fields = case_fields(data)
        label = item_label(self.access.policy, fields.pop("label", None),
                           self.access.clearance(principal), self.access.operation_label(op))
        if op.exercise and "exercise" not in fields and not fields.get("real_world"):
            fields["exercise"] = True  # in an exercise, a case is play unless marked real
        files, where = await self._files(principal, op.id, data.attach)
        if where is not None and fields.get("location") is None:
            fields["location"] = {"lat": where[0], "lon": where[1]}  # the photo's, as asked
        doc = new_case(fields, case_id=case_id, operation_id=op.id, actor=principal.username,
                       agency=principal.agency, now=self._clock.now())
        doc["label"] = label.to_dict()
        if files:
            doc["files"] = files
        return await self._write(RecordWrite(op.id, CASE, case_id, doc, None, "created",
                                             principal.username, self._clock.now(), {},
                                             data.idempotency_key))

    async def update_case(self, principal: Principal, op_id: str, case_id: str,
                          data: CaseChanges, client: str,
                          action: str = "updated") -> tuple[OpEvent, bool]:
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        expected = data.version
        changes_in = case_fields(data)
        found = await self._store.get_record(op.id, CASE, case_id)
        if found is None or not self.access.sees(principal, found[0]):
            raise NotFound()
        doc, version = found
        if version != expected:
            raise CaseConflict(doc, version)
        label_in = changes_in.pop("label", None)
        files, where = await self._files(principal, op.id, data.attach)
        if where is not None and doc["location"] is None and "location" not in changes_in:
            changes_in["location"] = {"lat": where[0], "lon": where[1]}
        updated, changes = apply_update(doc, changes_in, actor=principal.username,
                                        now=self._clock.now())
        if files:
            before_files = doc.get("files", [])
            updated["files"] = [*before_files, *files]
            changes["files"] = [before_files, updated["files"]]
            updated.update({"updated_by": principal.username, "updated_at": self._clock.now()})
        before = self.access.policy.of_record(doc.get("label"))
        if label_in is not None:
            label = item_label(self.access.policy, label_in, self.access.clearance(principal),
                               self.access.operation_label(op))
            if label.to_dict() != doc.get("label"):
                changes["label"] = [doc.get("label"), label.to_dict()]
                updated.update({"label": label.to_dict(), "updated_by": principal.username,
                                "updated_at": self._clock.now()})
        if not changes:
            raise BadRequest("nothing to change")
        if action == "updated" and set(changes) == {"assignees"}:
            action = "assigned"
        if changes.get("status", [None, None])[1] == "closed":
            action = "closed"
        written = await self._write(RecordWrite(op.id, CASE, case_id, updated, expected,
                                                action, principal.username, self._clock.now(),
                                                {"changes": changes}, data.idempotency_key))
        if "label" in changes and written[1]:
            after = self.access.policy.of_record(updated["label"])
            assert after is not None
            await self.access.label_changed(principal, op.id, f"case:{case_id}", before,
                                            after, client)
        return written

    async def _files(self, principal: Principal, op_id: OperationId, upload_ids: Sequence[str]
                     ) -> tuple[list[dict[str, object]], tuple[float, float] | None]:
        if not upload_ids:
            return [], None
        if self.attachable is None:
            raise BadRequest("'attach': this hub takes no files")
        refs, where = await self.attachable(principal, op_id, upload_ids)
        return [msgspec.to_builtins(ref) for ref in refs], where

    async def file(self, principal: Principal, op_id: str, case_id: str, index: int,
                   client: str) -> FileRef:
        """File ``index`` of a case, for whoever may read the case (NotFound otherwise)."""
        case = await self.get_case(principal, op_id, case_id, client)
        files = case.get("files", [])
        if not 0 <= index < len(files):
            raise NotFound()
        ref: FileRef = msgspec.convert(files[index], FileRef)
        return ref

    async def comment(self, principal: Principal, op_id: str, case_id: str,
                      data: CaseComment, client: str) -> tuple[OpEvent, bool]:
        """Append a comment. Comments never conflict: retried on a concurrent change."""
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        text = data.text
        for _ in range(5):
            found = await self._store.get_record(op.id, CASE, case_id)
            if found is None or not self.access.sees(principal, found[0]):
                raise NotFound()
            doc, version = found
            updated: CaseDoc = {**doc, "comments": doc.get("comments", 0) + 1,
                       "updated_by": principal.username, "updated_at": self._clock.now()}
            try:
                return await self._write(RecordWrite(
                    op.id, CASE, case_id, updated, version, "commented", principal.username,
                    self._clock.now(), {"comment": {"text": text.strip(),
                                                    "by": principal.username,
                                                    "agency": principal.agency}},
                    data.idempotency_key))
            except CaseConflict:
                continue
        raise Conflict("the case is changing too fast; try again")


def _case_of(record: object) -> object:
    """The case an alert record belongs to (None for anything else)."""
    return record.get("case_id") if isinstance(record, dict) else None
