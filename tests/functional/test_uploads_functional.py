"""Resumable uploads (issue 28, first step): tus 1.0 on the hub, driven by tus's own Python
client (tuspy) against a real hub on both engines, through a loopback proxy that shapes
the link to 50 kB/s and cuts it in the middle of the body, as a field link does.

tuspy is a blocking client (requests): it runs on a thread, while the hub serves in
this test's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
import os
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from channels.blob_sweep import BlobSweep
from channels.uploads import upload_key
from hub.clock import ManualClock
from hub.config import Settings
from hub.models import OperationId
from hub.tus import metadata_header
from liaison_client import Rest
from tests.conftest import STRICT, RunningHub, embedded_settings
from tests.photos import (
    HOSTILE,
    LAT,
    LON,
    bomb_png,
    exif_photo,
    field_photo,
    heic_photo,
    leaks,
    polyglot_jpeg,
)
from tests.redis_support import cleanup, new_prefix, redis_url
from tests.web.pages import bot_token


def tus() -> dict[str, str]:
    """The header every tus request carries (a new dict: RunningHub.api adds to it)."""
    return {"Tus-Resumable": "1.0.0"}


class CuttingProxy:
    """A loopback TCP proxy to the hub: both directions at ``rate`` bytes a second, and
    the first ``cuts`` connections that carry more than ``cut_after`` bytes towards the
    hub are dropped there, both sides at once (a link that goes away mid-request)."""

    def __init__(self, target_port: int, *, rate: int, cut_after: int, cuts: int) -> None:
        self._target = target_port
        self._rate = rate
        self._cut_after = cut_after
        self.cuts_left = cuts
        self.patch_offsets: list[int] = []  # Upload-Offset of every PATCH that went through
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader,
                     client_w: asyncio.StreamWriter) -> None:
        hub_r, hub_w = await asyncio.open_connection("127.0.0.1", self._target)
        cut = asyncio.Event()
        up = asyncio.create_task(self._pipe(client_r, hub_w, cut, towards_hub=True))
        down = asyncio.create_task(self._pipe(hub_r, client_w, cut, towards_hub=False))
        await asyncio.wait([up, down, asyncio.create_task(cut.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        for writer in (client_w, hub_w):
            if cut.is_set():
                writer.transport.abort()  # a reset, not a polite close
            else:
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    cut: asyncio.Event, *, towards_hub: bool) -> None:
        sent = 0
        while chunk := await reader.read(4096):
            if towards_hub:
                self.patch_offsets += [int(m) for m in re.findall(
                    rb"(?i)upload-offset: *([0-9]+)", chunk) if b"PATCH" in chunk]
                if self.cuts_left and sent + len(chunk) > self._cut_after:
                    self.cuts_left -= 1
                    cut.set()
                    return
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(len(chunk) / self._rate)


def _text(size: int) -> bytes:
    """A plain-text file of ``size`` bytes (its kind decided from them: text)."""
    return base64.b64encode(os.urandom(size))[:size]


def _uploader(url: str, token: str, data: bytes, channel: str,
              meta: dict[str, str] | None = None, **kw: Any) -> Any:
    client = tus_client.TusClient(f"{url}/api/uploads",
                                  headers={"Authorization": f"Bearer {token}"})
    return client.uploader(file_stream=io.BytesIO(data), metadata={
        "channel": channel, **(meta or {"filename": "gauges.txt", "filetype": "text/plain"})},
        **kw)


def _kept(hub: RunningHub) -> list[Path]:
    return sorted(p for p in (hub.settings.blob_path / "sha256").rglob("*") if p.is_file())


async def test_a_file_goes_up_with_the_tus_client_and_the_same_bytes_are_kept_once(
        running_hub: RunningHub) -> None:
    hub = running_hub
    data = _text(300_000)
    token = await hub.login("alice")
    first = _uploader(hub.url, token, data, hub.ch("A/general"), chunk_size=64 * 1024)
    await asyncio.to_thread(first.upload)
    second = _uploader(hub.url, await hub.login("bruno"), data, hub.ch("A/general"))
    await asyncio.to_thread(second.upload)
    assert first.url != second.url
    head = await hub.api("HEAD", first.url.removeprefix(hub.url), "alice", headers=tus())
    assert head.status_code == 200 and head.headers["upload-offset"] == "300000"
    assert "upload-expires" not in head.headers  # complete: it no longer expires
    digest = hashlib.sha256(data).hexdigest()
    assert [p.name for p in _kept(hub)] == [digest]  # two uploads, kept once
    assert _kept(hub)[0].read_bytes() == data
    assert list((hub.settings.blob_path / "incoming").iterdir()) == []


async def test_an_upload_cut_twice_on_a_slow_link_resumes_where_the_hub_stood(
        start_hub: Any, tmp_path: Path) -> None:
    hub = await start_hub(embedded_settings(tmp_path))
    data = _text(200_000)
    proxy = CuttingProxy(int(hub.url.rsplit(":", 1)[1]), rate=50_000, cut_after=60_000, cuts=2)
    await proxy.start()
    try:
        up = _uploader(f"http://127.0.0.1:{proxy.port}", await hub.login("alice"), data,
                       hub.ch("A/general"), retries=5, retry_delay=0)
        await asyncio.wait_for(asyncio.to_thread(up.upload), 120)
    finally:
        await proxy.stop()
    assert proxy.cuts_left == 0
    # Three PATCHes: from 0, then each from where the hub had stored up to, never from 0.
    offsets = proxy.patch_offsets
    assert offsets[0] == 0 and len(offsets) >= 3, offsets
    assert all(b > a for a, b in itertools.pairwise(offsets)), offsets
    assert [p.read_bytes() for p in _kept(hub)] == [data]
    assert _kept(hub)[0].name == hashlib.sha256(data).hexdigest()


async def _create(hub: RunningHub, user: str, length: int, **meta: str) -> httpx.Response:
    return await hub.api("POST", "/api/uploads", user, headers={
        **tus(), "Upload-Length": str(length),
        "Upload-Metadata": metadata_header({"channel": hub.ch("A/general"), **meta})})


async def _patch(hub: RunningHub, user: str, where: str, offset: int, body: bytes,
                 **headers: str) -> httpx.Response:
    return await hub.api("PATCH", where, user, content=body, headers={
        **tus(), "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream", **headers})


async def test_the_protocol_s_edges_answer_as_tus_says(running_hub: RunningHub) -> None:
    hub = running_hub
    options = await hub.api("OPTIONS", "/api/uploads")
    assert options.status_code == 204 and options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) == {
        "creation", "termination", "checksum", "expiration"}
    assert options.headers["tus-max-size"] == str(hub.settings.max_upload_bytes)

    no_version = await hub.api("POST", "/api/uploads", "alice", headers={"Upload-Length": "5"})
    assert no_version.status_code == 412
    too_big = await _create(hub, "alice", hub.settings.max_upload_bytes + 1)
    assert too_big.status_code == 413 and "Upload-Length" in too_big.json()["error"]["message"]
    nowhere = await hub.api("POST", "/api/uploads", "alice",
                            headers={**tus(), "Upload-Length": "5"})
    assert nowhere.status_code == 400 and "channel" in nowhere.json()["error"]["message"]
    observer = await _create(hub, "olga", 5)
    assert observer.status_code == 403  # reads the channel, may not post in it
    hidden = await hub.api("POST", "/api/uploads", "bruno", headers={
        **tus(), "Upload-Length": "5",
        "Upload-Metadata": metadata_header({"channel": hub.ch("A/police")})})
    assert hidden.status_code == 404  # a channel bruno may not see: as if none

    made = await _create(hub, "alice", 10)
    assert made.status_code == 201 and made.headers["upload-offset"] == "0"
    assert made.headers["upload-expires"].endswith("GMT")
    where = made.headers["location"]
    assert (await _patch(hub, "alice", where, 3, b"abc")).status_code == 409
    wrong_type = await hub.api("PATCH", where, "alice", content=b"abc", headers={
        **tus(), "Upload-Offset": "0", "Content-Type": "application/json"})
    assert wrong_type.status_code == 400
    bad_sum = await _patch(hub, "alice", where, 0, b"abcde", **{
        "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(b"other").digest()).decode()})
    assert bad_sum.status_code == 460 and bad_sum.json()["error"]["retryable"] is True
    good = await _patch(hub, "alice", where, 0, b"abcde", **{
        "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(b"abcde").digest()).decode()})
    assert good.status_code == 204 and good.headers["upload-offset"] == "5"
    beyond = await _patch(hub, "alice", where, 5, b"0123456789")
    assert beyond.status_code == 413
    head = await hub.api("HEAD", where, "alice", headers=tus())
    assert head.headers["upload-offset"] == "5"  # nothing of the refused bytes kept

    # Someone else's upload reads exactly like one that does not exist, on every verb.
    missing = where.rsplit("/", 1)[0] + "/up_doesnotexist"
    for user, path in (("bruno", where), ("alice", missing)):
        assert (await hub.api("HEAD", path, user, headers=tus())).status_code == 404
        assert (await _patch(hub, user, path, 5, b"x")).status_code == 404
        assert (await hub.api("DELETE", path, user, headers=tus())).status_code == 404
    async with httpx.AsyncClient(base_url=hub.url) as anonymous:
        assert (await anonymous.head(where, headers=tus())).status_code == 401

    assert (await hub.api("DELETE", where, "alice", headers=tus())).status_code == 204
    assert (await hub.api("HEAD", where, "alice", headers=tus())).status_code == 404
    assert list((hub.settings.blob_path / "incoming").iterdir()) == []


async def test_an_abandoned_upload_expires_and_its_bytes_are_deleted(
        start_hub: Any, tmp_path: Path) -> None:
    clock = ManualClock(1_800_000_000.0)
    hub = await start_hub(embedded_settings(tmp_path).replace(upload_expiry_seconds=600),
                          clock=clock)
    made = await _create(hub, "alice", 10)
    where = made.headers["location"]
    assert (await _patch(hub, "alice", where, 0, b"abc")).status_code == 204
    clock.advance(599)
    assert await hub.services.uploads.expire() == 0  # touched 599 s ago: kept
    assert (await _patch(hub, "alice", where, 3, b"de")).status_code == 204  # and touched
    clock.advance(601)
    assert await hub.services.uploads.expire() == 1
    assert list((hub.settings.blob_path / "incoming").iterdir()) == []
    assert (await hub.api("HEAD", where, "alice", headers=tus())).status_code == 404
    assert (await _patch(hub, "alice", where, 5, b"fghij")).status_code == 404


async def test_the_tus_client_is_told_when_it_may_not_upload(running_hub: RunningHub) -> None:
    up = _uploader(running_hub.url, await running_hub.login("olga"), b"x" * 10,
                   running_hub.ch("A/general"))
    with pytest.raises(TusCommunicationError) as refused:
        await asyncio.to_thread(up.upload)
    assert refused.value.status_code == 403


async def _upload_doc(hub: RunningHub, url: str) -> Any:
    op_id, upload_id = url.rsplit("/", 2)[-2:]
    return await hub.hub.engine.store.get_state(OperationId(op_id), upload_key(upload_id))


def _blob(hub: RunningHub, digest: str) -> bytes:
    path = hub.services.blobs.path_of(digest)
    assert path is not None, digest
    return path.read_bytes()


async def test_a_photo_keeps_its_pixels_and_loses_its_position_and_serial_number(
        running_hub: RunningHub) -> None:
    hub = running_hub
    photo = exif_photo(orientation=6)  # taken sideways: the hub turns it upright
    assert len(leaks(photo)) >= 8  # the test photo does carry what must go
    token = await hub.login("alice")
    plain = _uploader(hub.url, token, photo, hub.ch("A/general"),
                      {"filename": "levee.jpg", "filetype": "image/jpeg"})
    await asyncio.to_thread(plain.upload)
    placed = _uploader(hub.url, token, photo, hub.ch("A/general"),
                       {"filename": "levee.jpg", "position": "attach"})
    await asyncio.to_thread(placed.upload)
    doc = await _upload_doc(hub, plain.url)
    file = doc["file"]
    assert (doc["state"], file["type"], file["width"], file["height"]) == \
        ("complete", "image/jpeg", 1600, 2400)
    kept, preview, thumbnail = (_blob(hub, doc["sha256"]), _blob(hub, file["preview"]),
                                _blob(hub, file["thumbnail"]))
    for name, data in (("image", kept), ("preview", preview), ("thumbnail", thumbnail)):
        assert leaks(data) == [], name
        assert data.startswith(b"\xff\xd8\xff"), name
    assert len(preview) <= 100_000 and len(thumbnail) <= 15_000
    assert file["position"] is None  # not asked for: the position is simply gone
    asked = (await _upload_doc(hub, placed.url))["file"]["position"]
    assert asked == pytest.approx({"lat": LAT, "lon": LON}, abs=1e-4)
    # The sent file itself is not kept anywhere: only what the hub made from its pixels.
    assert hashlib.sha256(photo).hexdigest() not in [p.name for p in _kept(hub)]
    assert list((hub.settings.blob_path / "incoming").iterdir()) == []


async def test_a_heic_photo_becomes_an_image_every_browser_shows(
        start_hub: Any, tmp_path: Path) -> None:
    hub = await start_hub(embedded_settings(tmp_path))
    up = _uploader(hub.url, await hub.login("alice"), heic_photo(), hub.ch("A/general"),
                   {"filename": "IMG_0001.HEIC", "filetype": "image/heic"})
    await asyncio.to_thread(up.upload)
    doc = await _upload_doc(hub, up.url)
    assert doc["file"]["type"] == "image/jpeg" and doc["file"]["width"] == 640
    assert _blob(hub, doc["sha256"]).startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize("name", [*HOSTILE, "decompression bomb", "truncated jpeg"])
async def test_a_hostile_file_is_refused_and_nothing_of_it_is_kept(
        start_hub: Any, tmp_path: Path, name: str) -> None:
    hub = await start_hub(embedded_settings(tmp_path))
    data = {"decompression bomb": bomb_png(), "truncated jpeg": exif_photo()[:20_000],
            **HOSTILE}[name]
    made = await _create(hub, "alice", len(data), filename="photo.jpg", filetype="image/jpeg")
    where = made.headers["location"]
    refused = await _patch(hub, "alice", where, 0, data)
    assert refused.status_code == 415, refused.text
    assert refused.json()["error"]["code"] == "unsupported_media"
    if name == "decompression bomb":
        assert "pixels" in refused.json()["error"]["message"]
    assert (await hub.api("HEAD", where, "alice", headers=tus())).status_code == 404
    assert _kept(hub) == [] and list((hub.settings.blob_path / "incoming").iterdir()) == []


async def test_a_polyglot_image_is_kept_as_its_pixels_only(start_hub: Any,
                                                           tmp_path: Path) -> None:
    hub = await start_hub(embedded_settings(tmp_path))
    data = polyglot_jpeg()
    made = await _create(hub, "alice", len(data))
    where = made.headers["location"]
    assert (await _patch(hub, "alice", where, 0, data)).status_code == 204
    doc = await _upload_doc(hub, where)
    for digest in (doc["sha256"], doc["file"]["preview"], doc["file"]["thumbnail"]):
        assert b"<script" not in _blob(hub, digest) and b"<html" not in _blob(hub, digest)


async def _finished(hub: RunningHub, user: str, data: bytes, channel: str,
                    **meta: str) -> str:
    """The id of a finished upload of ``data`` by ``user`` for ``channel``."""
    made = await hub.api("POST", "/api/uploads", user, headers={
        **tus(), "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata_header({**({"channel": channel} if channel else {}),
                                            **meta})})
    assert made.status_code == 201, made.text
    where = made.headers["location"]
    sent = await _patch(hub, user, where, 0, data)
    assert sent.status_code == 204, sent.text
    return where.rsplit("/", 1)[1]


async def test_a_message_carries_its_files_to_its_readers_and_no_one_else(
        running_hub: RunningHub) -> None:
    hub = running_hub
    general, police = hub.ch("A/general"), hub.ch("A/police")
    photo = await _finished(hub, "alice", exif_photo(1200, 900), general, filename="levee.jpg")
    report = await _finished(hub, "alice", b"gauge,level\nK7,4.2\n", general,
                             filename="gauges 7.csv", filetype="text/csv")
    posted = await hub.api("POST", f"/api/channels/{general}/messages", "alice", json={
        "text": "Levee at km 12", "client_msg_id": "f1", "attach": [photo, report]})
    assert posted.status_code == 201, posted.text
    seq, files = posted.json()["seq"], posted.json()["files"]
    assert [(f["upload"], f["name"], f["type"]) for f in files] == [
        (photo, "levee.jpg", "image/jpeg"), (report, "gauges 7.csv", "text/csv")]
    assert files[0]["width"] == 1200 and files[0]["thumbnail"] and files[1]["preview"] is None
    history = await hub.api("GET", f"/api/channels/{general}/messages", "bruno")
    assert [m.get("files") for m in history.json()["messages"] if m["seq"] == seq] == [files]

    base = f"/api/channels/{general}/messages/{seq}/files"
    image = await hub.api("GET", f"{base}/0", "bruno")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["etag"] == f'"{files[0]["sha256"]}"'
    assert hashlib.sha256(image.content).hexdigest() == files[0]["sha256"]
    assert leaks(image.content) == []
    assert "immutable" in image.headers["cache-control"] and \
        "private" in image.headers["cache-control"]
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in image.headers["content-security-policy"]
    assert image.headers["content-disposition"] == "inline"
    thumb = await hub.api("GET", f"{base}/0?variant=thumbnail", "bruno")
    assert thumb.status_code == 200 and len(thumb.content) <= 15_000
    assert hashlib.sha256(thumb.content).hexdigest() == files[0]["thumbnail"]
    part = await hub.api("GET", f"{base}/0", "bruno", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == image.content[:100]
    table = await hub.api("GET", f"{base}/1", "bruno")
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    assert table.headers["content-disposition"] == \
        "attachment; filename*=UTF-8''gauges%207.csv"
    assert table.content == b"gauge,level\nK7,4.2\n"

    # A file in a channel bruno may not see reads exactly like a file that is not there.
    secret = await _finished(hub, "alice", exif_photo(300, 200), police)
    hidden = await hub.api("POST", f"/api/channels/{police}/messages", "alice", json={
        "text": "POLICE only", "client_msg_id": "f2", "attach": [secret]})
    assert hidden.status_code == 201, hidden.text
    refused = await hub.api("GET", f"/api/channels/{police}/messages/{hidden.json()['seq']}"
                                   "/files/0", "bruno")
    missing = await hub.api("GET", f"{base}/5", "bruno")
    nowhere = await hub.api("GET", f"/api/channels/{general}/messages/999/files/0", "bruno")
    assert refused.status_code == missing.status_code == nowhere.status_code == 404
    assert refused.json() == missing.json() == nowhere.json()
    assert (await hub.api("GET", f"{base}/0", "xavier")).status_code == 404  # another op


async def test_only_the_sender_s_finished_uploads_to_that_channel_can_be_attached(
        running_hub: RunningHub) -> None:
    hub = running_hub
    general = hub.ch("A/general")
    theirs = await _finished(hub, "bruno", b"bruno's notes", general)
    elsewhere = await _finished(hub, "alice", b"police notes", hub.ch("A/police"))
    unfinished = (await _create(hub, "alice", 100)).headers["location"].rsplit("/", 1)[1]
    for n, upload in enumerate((theirs, elsewhere, unfinished, "up_nothing")):
        refused = await hub.api("POST", f"/api/channels/{general}/messages", "alice", json={
            "text": "see attached", "client_msg_id": f"bad{n}", "attach": [upload]})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["message"] == \
            "field 'attach[0]' is not a finished upload of yours to this channel"
    too_many = await hub.api("POST", f"/api/channels/{general}/messages", "alice", json={
        "text": "x", "client_msg_id": "many", "attach": [theirs] * 11})
    assert too_many.status_code == 400 and "attach" in too_many.json()["error"]["message"]


async def test_a_bot_attaches_a_file_over_the_socket_and_readers_get_it_live(
        running_hub: RunningHub) -> None:
    hub = running_hub
    general = hub.ch("A/general")
    upload = await _finished(hub, "alice", b"station K7: 4.2 m\n", general, filename="k7.txt")
    reader = await hub.client("bruno", fmt="msgpack")
    await reader.subscribe(general)
    bot = await hub.bot("alice")
    ack = await bot.publish(general, "gauge report", attach=[upload])
    [live] = await reader.messages(1)
    assert live["seq"] == ack.seq and live["files"][0]["name"] == "k7.txt"
    assert live["files"][0]["type"] == "text/plain"


async def test_a_photo_s_position_becomes_its_case_s_location_only_when_asked(
        running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    cases = f"/api/operations/{op}/cases"
    placed = await _finished(hub, "bruno", exif_photo(800, 600), "", operation=op,
                             filename="breach.jpg", position="attach")
    plain = await _finished(hub, "bruno", exif_photo(800, 600), "", operation=op,
                            filename="breach.jpg")
    made = await hub.api("POST", cases, "bruno", json={
        "title": "Levee breach at km 12", "severity": "critical", "attach": [placed]})
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["location"] == pytest.approx({"lat": LAT, "lon": LON}, abs=1e-4)
    assert [f["name"] for f in case["files"]] == ["breach.jpg"]
    quiet = await hub.api("POST", cases, "bruno", json={
        "title": "Second breach", "attach": [plain]})
    assert quiet.json()["location"] is None  # not asked: the position stays out
    # A file added later joins the case's files; the case's readers get it.
    more = await _finished(hub, "bruno", b"sandbags: 400\n", "", operation=op,
                           filename="stock.txt")
    changed = await hub.api("PATCH", f"{cases}/{case['id']}", "bruno", json={
        "version": case["version"], "attach": [more]})
    assert changed.status_code == 200, changed.text
    assert [f["name"] for f in changed.json()["files"]] == ["breach.jpg", "stock.txt"]
    got = await hub.api("GET", f"{cases}/{case['id']}/files/0?variant=preview", "olga")
    assert got.status_code == 200 and leaks(got.content) == []
    text = await hub.api("GET", f"{cases}/{case['id']}/files/1", "alice")
    assert text.content == b"sandbags: 400\n"
    assert (await hub.api("GET", f"{cases}/{case['id']}/files/0", "xavier")).status_code == 404
    assert (await hub.api("GET", f"{cases}/{case['id']}/files/2", "olga")).status_code == 404
    # An upload for a channel is a message's, not a case's, and the other way round.
    for_chat = await _finished(hub, "bruno", b"x", hub.ch("A/general"))
    wrong = await hub.api("POST", cases, "bruno", json={"title": "x", "attach": [for_chat]})
    assert wrong.status_code == 400 and "attach[0]" in wrong.json()["error"]["message"]
    observer = await hub.api("POST", "/api/uploads", "olga", headers={
        **tus(), "Upload-Length": "3", "Upload-Metadata": metadata_header({"operation": op})})
    assert observer.status_code == 403  # may read the record, not add to it


async def test_two_nodes_one_upload_resumed_on_the_other_and_read_back_on_either(
        start_hub: Any, tmp_path: Path) -> None:
    """Two hub processes on one Redis sharing their blob folder (blob_dir): an upload
    begun through one node is resumed through the other, attached there, and read back
    through the first; its record is in Redis, its bytes in the shared folder, and the
    same photo sent by another user through the other node is kept once."""
    url, prefix = redis_url(), new_prefix()
    settings = Settings(data_dir=tmp_path / "data", engine=url, redis_prefix=prefix,
                        publish_rate=10_000.0, publish_burst=10_000,
                        blob_dir=str(tmp_path / "shared-blobs"))
    try:
        one: RunningHub = await start_hub(settings)
        two: RunningHub = await start_hub(settings, seeded=False)
        two.ops, two.channels = one.ops, one.channels
        general = one.ch("A/general")
        photo = exif_photo(900, 600)
        half = len(photo) // 2
        made = await _create(one, "alice", len(photo), filename="levee.jpg")
        where = made.headers["location"]
        assert (await _patch(one, "alice", where, 0, photo[:half])).status_code == 204
        head = await two.api("HEAD", where, "alice", headers=tus())
        assert head.headers["upload-offset"] == str(half)
        assert (await _patch(two, "alice", where, half, photo[half:])).status_code == 204
        posted = await two.api("POST", f"/api/channels/{general}/messages", "alice", json={
            "text": "from node two", "client_msg_id": "n2",
            "attach": [where.rsplit("/", 1)[1]]})
        assert posted.status_code == 201, posted.text
        read = await one.api("GET", f"/api/channels/{general}/messages/"
                                    f"{posted.json()['seq']}/files/0", "bruno")
        assert read.status_code == 200 and leaks(read.content) == []
        assert hashlib.sha256(read.content).hexdigest() == posted.json()["files"][0]["sha256"]
        kept = _kept(one)
        assert len(kept) == 3  # the photo, its preview and its thumbnail
        # bruno sends the same photo through the other node: nothing more is kept.
        again = await _create(two, "bruno", len(photo), filename="same.jpg")
        assert (await _patch(two, "bruno", again.headers["location"], 0, photo)).status_code \
            == 204
        posted = await one.api("POST", f"/api/channels/{general}/messages", "bruno", json={
            "text": "the same photo", "client_msg_id": "b1",
            "attach": [again.headers["location"].rsplit("/", 1)[1]]})
        assert posted.status_code == 201, posted.text
        assert _kept(two) == kept
    finally:
        cleanup(url, prefix)


async def test_the_sdk_uploads_over_a_cut_link_and_attaches_the_file(
        start_hub: Any, tmp_path: Path) -> None:
    """liaison_client's Rest.upload (tuspy inside) through the same 50 kB/s link cut twice:
    it resumes from the hub's offset each time, then a message carries the file."""
    hub = await start_hub(embedded_settings(tmp_path))
    data = _text(150_000)
    proxy = CuttingProxy(int(hub.url.rsplit(":", 1)[1]), rate=50_000, cut_after=50_000, cuts=2)
    await proxy.start()
    token = await bot_token(hub)
    try:
        async with Rest(f"http://127.0.0.1:{proxy.port}", token) as through_the_link:
            upload = await asyncio.wait_for(through_the_link.upload(
                data, channel=hub.ch("A/general"), filename="gauges.txt", retry_delay=0.1),
                120)
    finally:
        await proxy.stop()
    assert proxy.cuts_left == 0 and proxy.patch_offsets[0] == 0
    assert all(b > a for a, b in itertools.pairwise(proxy.patch_offsets)), proxy.patch_offsets
    async with Rest(hub.url, token) as rest:
        posted = await rest.post_message(hub.ch("A/general"), "gauges", attach=[upload])
    assert posted["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert posted["files"][0]["name"] == "gauges.txt"


async def test_an_operation_narrows_the_files_it_takes_before_any_byte_is_sent(
        running_hub: RunningHub) -> None:
    """Issue 28, item 1: a coordinator narrows the kinds and limits of their operation;
    a file over them is refused when its upload is created (no byte sent), a kind it does
    not take when the bytes say so; what the operation keeps is counted against its room."""
    hub = running_hub
    op = hub.ops["A"].id
    url = f"/api/operations/{op}/file-policy"
    before = await hub.api("GET", url, "bruno")
    assert before.status_code == 200 and before.json()["narrowed"] is False
    assert before.json()["max_file_bytes"] == hub.settings.max_upload_bytes
    narrow = {"allowed": ["image/jpeg", "application/pdf"], "max_file_bytes": 200_000}
    assert (await hub.api("PUT", url, "bruno", json=narrow)).status_code == 403
    for wrong, field in (({"allowed": ["text/html"]}, "allowed"),
                         ({"max_file_bytes": hub.settings.max_upload_bytes + 1},
                          "max_file_bytes"), ({"max_operation_bytes": 0}, "max_operation_bytes"),
                         ({"allowed": []}, "allowed")):
        r = await hub.api("PUT", url, "alice", json=wrong)
        assert r.status_code == 400 and field in r.json()["error"]["message"], (wrong, r.text)
    r = await hub.api("PUT", url, "alice", json=narrow)
    assert r.status_code == 200, r.text
    assert r.json()["allowed"] == ["application/pdf", "image/jpeg"] and r.json()["narrowed"]

    too_big = await _create(hub, "bruno", 200_001, filename="big.pdf")
    assert too_big.status_code == 413 and "200000" in too_big.json()["error"]["message"]
    declared = await _create(hub, "bruno", 100, filename="notes.txt", filetype="text/plain")
    assert declared.status_code == 415 and "image/jpeg" in declared.json()["error"]["message"]
    lying = _text(5_000)  # a text that says it is a photo: its bytes decide
    made = await _create(hub, "bruno", len(lying), filename="photo.jpg", filetype="image/jpeg")
    assert made.status_code == 201
    refused = await _patch(hub, "bruno", made.headers["location"], 0, lying)
    assert refused.status_code == 415 and "does not take text/plain" in refused.text
    assert (await hub.api("HEAD", made.headers["location"], "bruno", headers=tus())) \
        .status_code == 404

    photo = field_photo(1, 480, 360)
    made = await _create(hub, "bruno", len(photo), filename="levee.jpg")
    assert (await _patch(hub, "bruno", made.headers["location"], 0, photo)).status_code == 204
    used = (await hub.api("GET", url, "alice")).json()["used_bytes"]
    assert used > 0  # the photo, its preview and thumbnail
    r = await hub.api("PUT", url, "alice", json={**narrow, "max_operation_bytes": used + 100})
    assert r.status_code == 200, r.text
    full = await _create(hub, "bruno", 101, filename="more.pdf")
    assert full.status_code == 413 and "no room" in full.json()["error"]["message"]
    assert (await _create(hub, "bruno", 100, filename="fits.pdf")).status_code == 201
    audited = [a async for a in hub.hub.engine.store.iter_audit()
               if a.action == "operation.file_policy"]
    assert [a.details["max_operation_bytes"] for a in audited] == [None, used + 100]


#: The anti-virus test file (EICAR), put together here so this source holds no copy of it.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


async def test_a_file_the_scanner_refuses_is_never_kept_nor_shown(
        start_hub: Any, tmp_path: Path) -> None:
    """Issue 28, item 4: ClamAV's clamscan as the file_scanner (with a signature database
    of its own for the EICAR test file, so nothing is downloaded) refuses that file when
    its last byte arrives; a clean file passes; a scanner that fails refuses (fail closed)."""
    clamscan = shutil.which("clamscan")
    if clamscan is None:
        reason = "clamscan not found: install ClamAV (apt-get install clamav)"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    signatures = tmp_path / "test.ndb"
    signatures.write_text(f"Liaison-Test-EICAR:0:*:{EICAR.hex()}\n")
    hub = await start_hub(embedded_settings(tmp_path).replace(
        file_scanner=f"{clamscan} --no-summary --database={signatures}"))
    made = await _create(hub, "alice", len(EICAR), filename="report.txt")
    refused = await _patch(hub, "alice", made.headers["location"], 0, EICAR)
    assert refused.status_code == 415, refused.text
    message = refused.json()["error"]["message"]
    assert "refused by the file scanner" in message and "Liaison-Test-EICAR" in message
    assert str(hub.settings.blob_path) not in message  # the scanner's path is not shown
    assert (await hub.api("HEAD", made.headers["location"], "alice", headers=tus())) \
        .status_code == 404
    assert _kept(hub) == [] and list((hub.settings.blob_path / "incoming").iterdir()) == []
    clean = _text(2_000)
    made = await _create(hub, "alice", len(clean), filename="notes.txt")
    assert (await _patch(hub, "alice", made.headers["location"], 0, clean)).status_code == 204
    assert [p.name for p in _kept(hub)] == [hashlib.sha256(clean).hexdigest()]

    broken = await start_hub(embedded_settings(tmp_path / "b").replace(
        file_scanner=f"{clamscan} --no-summary --database={tmp_path / 'missing.ndb'}"))
    made = await _create(broken, "alice", len(clean), filename="notes.txt")
    failed = await _patch(broken, "alice", made.headers["location"], 0, clean)
    assert failed.status_code == 415 and "file scanner" in failed.json()["error"]["message"]
    assert _kept(broken) == []


async def test_files_nothing_refers_to_are_swept_and_the_rest_kept(
        running_hub: RunningHub) -> None:
    """Issue 28, item 8: the sweep reads every message and case version, then deletes the
    kept files none of them names once unused past their grace: here a finished upload
    never attached; a message's photo, a case's photo and their copies stay."""
    hub = running_hub
    op = hub.ops["A"].id
    general = hub.ch("A/general")

    async def finished(data: bytes, **meta: str) -> str:
        made = await _create(hub, "alice", len(data), **meta) if "operation" not in meta \
            else await hub.api("POST", "/api/uploads", "alice", headers={
                **tus(), "Upload-Length": str(len(data)),
                "Upload-Metadata": metadata_header(meta)})
        assert (await _patch(hub, "alice", made.headers["location"], 0, data)).status_code \
            == 204
        return made.headers["location"].rsplit("/", 1)[1]  # type: ignore[no-any-return]

    in_message = await finished(field_photo(1, 320, 240), filename="a.jpg")
    posted = await hub.api("POST", f"/api/channels/{general}/messages", "alice", json={
        "text": "photo", "client_msg_id": "s1", "attach": [in_message]})
    assert posted.status_code == 201, posted.text
    in_case = await finished(field_photo(2, 320, 240), operation=op, filename="b.jpg")
    made = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Levee", "attach": [in_case]})
    assert made.status_code == 201, made.text
    orphan_text = _text(3_000)
    orphan = await finished(orphan_text, filename="never.txt")
    kept = {p.name for p in _kept(hub)}  # two photos with their copies, and the text
    orphan_digest = hashlib.sha256(orphan_text).hexdigest()
    assert orphan_digest in kept and len(kept) >= 5

    def sweep(grace: float) -> BlobSweep:
        return BlobSweep(store=hub.hub.engine.store, blobs=hub.services.blobs,
                         clock=hub.hub.clock, grace=grace, node_id="test")

    assert (await sweep(3600.0).collect()).deleted == 0  # within its grace: spared
    swept = await sweep(0.0).collect()
    assert (swept.referred, swept.deleted) == (len(kept) - 1, 1)
    assert {p.name for p in _kept(hub)} == kept - {orphan_digest}
    for path in (f"/api/channels/{general}/messages/1/files/0",
                 f"/api/operations/{op}/cases/{made.json()['id']}/files/0?variant=thumbnail"):
        assert (await hub.api("GET", path, "bruno")).status_code == 200
    late = await hub.api("POST", f"/api/channels/{general}/messages", "alice", json={
        "text": "late", "client_msg_id": "s2", "attach": [orphan]})
    assert late.status_code == 400 and "attach[0]" in late.text  # collected: not attachable
