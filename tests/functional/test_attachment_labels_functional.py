"""Issue 28's label matrix: a file is exactly as hidden as the message or case it
belongs to, on every path that reads it (both engines).

Three readers — alice (SECRET, POLICE), bruno (SECRET, ARMY), olga (RESTRICTED,
POLICE), all three coordinators so that each may subscribe webhooks and export —
against five files: a photo in a SECRET REL TO POLICE channel, a photo whose message
is narrower than its SECRET channel (REL TO POLICE), a photo in the SECRET channel,
a photo of a SECRET REL TO POLICE case and one of a RESTRICTED case. For each reader
and file: the download, the preview, the thumbnail and HEAD of each; the upload
itself over tus (its uploader's only); the board; the notices; the webhook each
reader subscribed, and the file behind its signed link; and each reader's export,
checked offline. A file a reader may not see answers exactly as a missing one, and
its name and digest appear nowhere that reader reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.interop.outgoing import link_signature
from hub.config import Settings
from hub.principal import Principal
from hub.sealed import ATTACHMENTS, check
from tests.conftest import RunningHub, free_port
from tests.photos import field_photo
from tests.web.pages import upload

SECRET_POLICE = {"level": "SECRET", "categories": {"REL TO": ["POLICE"]}}
READERS = {"alice": "SECRET", "bruno": "SECRET", "olga": "RESTRICTED"}
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class File:
    name: str
    sha256: str
    url: str  # /api/.../files/0
    missing: str  # the same route naming an item that does not exist
    upload: str  # /api/uploads/{op}/{upload}
    readers: set[str]


class Hooks:
    """Webhook receivers on loopback, one path per reader; what each got."""

    def __init__(self) -> None:
        self.port = free_port()
        self.got: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def url(self, who: str) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{who}"

    async def handle(self, request: Request) -> Response:
        self.got[request.path_params["who"]].append(json.loads(await request.body()))
        return Response(status_code=200)


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    h = Hooks()
    app = Starlette(routes=[Route("/hook/{who}", h.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=h.port,
                                           log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield h
    server.should_exit = True
    await task


async def _upload(hub: RunningHub, data: bytes, name: str, **scope: str) -> str:
    """Where alice's finished upload of ``data`` is (/api/uploads/{op}/{id})."""
    upload_id, sent = await upload(hub, "alice", data, name=name, **scope)
    assert sent.status_code == 204, sent.text
    return f"/api/uploads/{hub.ops['A'].id}/{upload_id}"


async def _world(hub: RunningHub) -> tuple[str, dict[str, str]]:
    op = hub.ops["A"].id
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"label": "SECRET"})
    assert r.status_code == 200, r.text
    chs = {}
    for name, label in (("c-secret-police", SECRET_POLICE), ("c-secret", "SECRET")):
        r = await hub.api("POST", f"/api/operations/{op}/channels", "root",
                          json={"name": name, "label": label})
        assert r.status_code == 201, r.text
        chs[name] = r.json()["id"]
    await hub.clear(**READERS)
    root = await hub.hub.engine.store.get_user_by_name("root")
    assert root is not None
    for user in ("bruno", "olga"):
        await hub.services.channels.set_member(Principal(root, "t", "session", None, None),
                                               op, user, "coordinator", "test")
    r = await hub.api("POST", f"/api/operations/{op}/rules", "alice", json={
        "id": "critical", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "route": ["channel:general", "coordinators"]})
    assert r.status_code in (200, 201), r.text
    return op, chs


async def _files(hub: RunningHub, op: str, chs: dict[str, str]) -> list[File]:
    files = []
    messages = (("m-police.jpg", chs["c-secret-police"], None, {"alice"}),
                ("m-narrower.jpg", chs["c-secret"], SECRET_POLICE, {"alice"}),
                ("m-secret.jpg", chs["c-secret"], None, {"alice", "bruno"}))
    for i, (name, ch, label, readers) in enumerate(messages):
        data = field_photo(i, 320, 240)
        where = await _upload(hub, data, name, channel=ch)
        r = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
            "text": f"photo {name}", "client_msg_id": name, "attach": [where.rsplit("/")[-1]],
            **({"label": label} if label else {})})
        assert r.status_code == 201, r.text
        [ref] = r.json()["files"]
        files.append(File(name, ref["sha256"], f"/api/channels/{ch}/messages/{r.json()['seq']}"
                          "/files/0", f"/api/channels/{ch}/messages/999/files/0", where, readers))
    cases = (("k-police.jpg", SECRET_POLICE, "critical", {"alice"}),
             ("k-low.jpg", "RESTRICTED", "major", {"alice", "bruno", "olga"}))
    for i, (name, label, severity, readers) in enumerate(cases, start=3):
        where = await _upload(hub, field_photo(i, 320, 240), name, operation=op)
        r = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
            "title": f"case of {name}", "label": label, "severity": severity,
            "attach": [where.rsplit("/")[-1]]})
        assert r.status_code == 201, r.text
        [ref] = r.json()["files"]
        files.append(File(name, ref["sha256"], f"/api/operations/{op}/cases/{r.json()['id']}"
                          "/files/0", f"/api/operations/{op}/cases/case_missing/files/0",
                          where, readers))
    return files


def _hidden(text: str, files: list[File], reader: str) -> list[str]:
    """The names and digests of files ``reader`` may not see that ``text`` holds."""
    return [f.name for f in files if reader not in f.readers
            and (f.name in text or f.sha256 in text)]


async def _answer(hub: RunningHub, method: str, url: str, user: str) -> tuple[int, bytes]:
    r = await hub.api(method, url, user)
    return r.status_code, r.content


async def test_a_file_is_as_hidden_as_what_it_belongs_to_on_every_path(
        start_hub: Any, hub_settings: Settings, hooks: Hooks) -> None:
    hub = await start_hub(hub_settings.replace(webhook_allow_networks=("127.0.0.1/32",)))
    op, chs = await _world(hub)
    subs: dict[str, dict[str, Any]] = {}
    for user, channels in (("alice", list(chs.values())), ("bruno", [chs["c-secret"]]),
                           ("olga", [])):
        r = await hub.api("POST", f"/api/operations/{op}/outgoing-webhooks", user, json={
            "url": hooks.url(user), "name": user,
            "events": ["case.created", *(["message.created"] if channels else [])],
            "channels": channels})
        assert r.status_code == 201, r.text
        subs[user] = r.json()
    files = await _files(hub, op, chs)
    await hub.settle()

    # Download, preview, thumbnail, HEAD: the same bytes to a reader, missing to others.
    for f in files:
        for user in READERS:
            for variant in ("", "?variant=preview", "?variant=thumbnail"):
                for method in ("GET", "HEAD"):
                    got = await _answer(hub, method, f.url + variant, user)
                    where = (f.name, user, variant, method)
                    if user in f.readers:
                        assert got[0] == 200, where
                        if method == "GET" and not variant:
                            assert hashlib.sha256(got[1]).hexdigest() == f.sha256, where
                    else:
                        assert got == await _answer(hub, method, f.missing + variant,
                                                    user), where
                        assert got[0] == 404, where
        # The upload itself is its uploader's alone.
        for user in READERS:
            r = await hub.api("HEAD", f.upload, user, headers=dict(TUS))
            missing = await hub.api("HEAD", f.upload.rsplit("/", 1)[0] + "/up_missing", user,
                                    headers=dict(TUS))
            if user == "alice":
                assert r.status_code == 200
            else:
                assert (r.status_code, r.content) == (missing.status_code, missing.content)

    # The board, live and as it stood: the case and its photo for its readers; nothing of
    # it for the others.
    for user in READERS:
        live = await hub.client(user)
        await live.send({"type": "subscribe", "channel": f"ops:{op}", "board": True,
                         "ref": "b"})
        await live.recv_type("subscribed")
        snapshot = await live.recv_type("board")
        past = await hub.api("GET", f"/api/operations/{op}/board?at="
                                    f"{hub.hub.clock.now() + 1:.1f}", user)
        assert past.status_code == 200, past.text
        for board in (snapshot, past.json()):
            rows = {c["title"]: c for c in board["cases"]}
            for f in files[3:]:
                title = f"case of {f.name}"
                if user in f.readers:
                    assert (rows[title]["files"], rows[title]["photo"]) == (1, 0), (user, title)
                else:
                    assert title not in rows, (user, title)
            assert _hidden(json.dumps(board), files, user) == [], user

    # Notices and everything else a reader reads: no trace of a file hidden from them.
    for user in READERS:
        seen = [(await hub.api("GET", f"/api/operations/{op}/events?after_seq=0", user)).text,
                (await hub.api("GET", f"/api/operations/{op}/cases", user)).text,
                (await hub.api("GET", f"/api/operations/{op}/alerts", user)).text]
        for ch in (hub.ch("A/general"), *chs.values()):
            seen.append((await hub.api("GET", f"/api/channels/{ch}/messages", user)).text)
        assert _hidden("\n".join(seen), files, user) == [], user
    general = (await hub.api("GET", f"/api/channels/{hub.ch('A/general')}/messages",
                             "olga")).json()["messages"]
    assert any(m["sender"] == "hub" for m in general)  # the critical case's notice is there

    # Webhooks: each subscription carries the files its creator may see, as links that
    # work without a session, and nothing of the others.
    expected = {"alice": 5, "bruno": 2, "olga": 1}
    async with asyncio.timeout(30):
        while any(len(hooks.got[u]) < n for u, n in expected.items()):
            await asyncio.sleep(0.05)
    await hub.settle()
    for user, n in expected.items():
        assert len(hooks.got[user]) == n, (user, hooks.got[user])
        delivered = json.dumps(hooks.got[user])
        assert _hidden(delivered, files, user) == [], user
        assert hub.settings.public_url == ""
        for body in hooks.got[user]:
            data = body["data"]
            linked = data.get("files") or (data.get("record") or {}).get("files") or []
            for ref in linked:
                assert "upload" not in ref and "preview" not in ref  # only what a reader needs
                assert hub.http is not None
                got = await hub.http.get(ref["url"])  # no session, no token: the link alone
                assert got.status_code == 200, (user, ref)
                assert hashlib.sha256(got.content).hexdigest() == ref["sha256"]
                thumb = await hub.http.get(ref["url"] + "&variant=thumbnail")
                assert thumb.status_code == 200 and len(thumb.content) < len(got.content)

    # A link altered, expired, or of a disabled subscription reads as a missing file.
    assert hub.http is not None
    [mine] = [b["data"]["files"][0] for b in hooks.got["bruno"] if "files" in b["data"]]
    path, query = mine["url"].split("?")
    expires = int(query.split("expires=")[1].split("&")[0])
    nothing = await hub.http.get(path.rsplit("/", 1)[0] + f"/c.case_missing.0?{query}")
    assert nothing.status_code == 404
    ref = path.rsplit("/", 1)[1]
    past = int(hub.hub.clock.now()) - 1
    for url in (f"{path}?expires={expires + 1}&sig={query.split('sig=')[1]}",
                f"{path}?expires={past}&sig="
                + link_signature(subs["bruno"]["secret"], op, subs["bruno"]["id"], ref, past),
                f"{path}?expires={expires}&sig=" + "A" * 43):
        got = await hub.http.get(url)
        assert (got.status_code, got.content) == (nothing.status_code, nothing.content), url

    # Exports: a reader's holds the files they may see, and only the digests of the rest.
    for user in READERS:
        r = await hub.api("GET", f"/api/operations/{op}/export", user)
        assert r.status_code == 200, (user, r.text)
        report = check(r.content, hub.services.exporter.signer.public)
        assert report.ok, (user, report.problems)
        names = set(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
        kept = {n.removeprefix(ATTACHMENTS) for n in names if n.startswith(ATTACHMENTS)}
        assert kept == {f.sha256 for f in files if user in f.readers}, user
        assert set(report.meta.get("withheld_files", [])) == \
            {f.sha256 for f in files if user not in f.readers}, user
        records = zipfile.ZipFile(io.BytesIO(r.content)).read("records.jsonl").decode()
        assert _hidden(records, files, user) == [], user

    # Bruno's clearance lowered: his subscription's link to the SECRET photo dies with it.
    await hub.clear(bruno="RESTRICTED")
    got = await hub.http.get(mine["url"])
    assert (got.status_code, got.content) == (nothing.status_code, nothing.content)
    [alices] = [b["data"]["files"][0] for b in hooks.got["alice"]
                if "files" in b["data"] and b["data"]["files"][0]["name"] == "m-secret.jpg"]
    assert (await hub.http.get(alices["url"])).status_code == 200
    r = await hub.api("DELETE", f"/api/operations/{op}/outgoing-webhooks/{subs['alice']['id']}",
                      "alice")
    assert r.status_code == 200, r.text
    got = await hub.http.get(alices["url"])
    assert (got.status_code, got.content) == (nothing.status_code, nothing.content)
