"""Issue 26, items 1 and 2, through a real hub on both engines: an operation whose records
are released to disjoint agencies has a complete record after all — the export of a
custodian an administrator named — and every filtered export commits to what it leaves
out, so ``liaison export verify --complete`` shows both describe the same record.

The complete export is counted against the store, read here independently of the
exporter: every channel, member, event, message and audit record of the operation."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from hub.commitments import compare
from hub.sealed import MANIFEST, RECORDS, Report, check
from hub.verifying import verify_export
from tests.conftest import RunningHub

POLICE = {"level": "UNCLASSIFIED", "categories": {"REL TO": ["POLICE"]}}
ARMY = {"level": "UNCLASSIFIED", "categories": {"REL TO": ["ARMY"]}}


async def _disjoint(hub: RunningHub) -> str:
    """Cases, messages and a channel released to POLICE only and to ARMY only."""
    op = hub.ops["A"].id
    r = await hub.api("PUT", f"/api/operations/{op}/members/bruno", "root",
                      json={"role": "coordinator"})
    assert r.status_code == 200, r.text
    r = await hub.api("POST", f"/api/operations/{op}/channels", "root",
                      json={"name": "army", "agencies": ["ARMY"]})
    assert r.status_code == 201, r.text
    army_ch = r.json()["id"]
    for user, title, label in (("alice", "Police informant", POLICE),
                               ("bruno", "Army convoy route", ARMY),
                               ("alice", "Levee breach", None)):
        body = {"title": title, "severity": "major", **({"label": label} if label else {})}
        r = await hub.api("POST", f"/api/operations/{op}/cases", user, json=body)
        assert r.status_code == 201, r.text
    for user, ch, text, label in (("alice", hub.ch("A/general"), "police eyes only", POLICE),
                                  ("bruno", hub.ch("A/general"), "army eyes only", ARMY),
                                  ("alice", hub.ch("A/police"), "in the police room", None),
                                  ("bruno", army_ch, "in the army room", None),
                                  ("alice", hub.ch("A/general"), "for everyone", None)):
        r = await hub.api("POST", f"/api/channels/{ch}/messages", user,
                          json={"text": text, "client_msg_id": f"m-{len(text)}-{user}",
                                **({"label": label} if label else {})})
        assert r.status_code in (200, 201), r.text
    return op


async def _count_store(hub: RunningHub, op: str) -> dict[str, int]:
    store = hub.hub.engine.store
    counts = {"operation": 1, "member": len(await store.list_members(op)),  # type: ignore[arg-type]
              "channel": 0, "message": 0, "event": 0, "audit": 0}
    for ch in await store.list_channels(op):  # type: ignore[arg-type]
        counts["channel"] += 1
        counts["message"] += len(await store.read_messages(ch.id, after_seq=0, limit=10_000))
    counts["event"] = len(await store.read_op_events(op, after_seq=0, limit=10_000))  # type: ignore[arg-type]
    counts["audit"] = len([a async for a in store.iter_audit() if a.operation_id == op])
    return counts


def _body(archive: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(archive)).read(RECORDS).decode()


async def test_a_custodian_exports_the_complete_record_and_filtered_exports_commit_to_it(
        running_hub: RunningHub, tmp_path: Path) -> None:
    hub = running_hub
    op = await _disjoint(hub)
    public = hub.services.exporter.signer.public
    # No single coordinator sees the whole record: each export leaves the other's out.
    filtered: dict[str, bytes] = {}
    for user, mine, theirs in (("alice", "police eyes only", "army eyes only"),
                               ("bruno", "army eyes only", "police eyes only")):
        r = await hub.api("GET", f"/api/operations/{op}/export", user)
        assert r.status_code == 200, r.text
        assert mine in _body(r.content) and theirs not in _body(r.content)
        report = check(r.content, public)
        assert report.ok and report.meta["complete"] is False, report.problems
        assert len(report.meta["commitments"]) == sum(report.meta["withheld"].values()) >= 3
        filtered[user] = r.content
    # A complete export is a custodian's; an administrator names them, and is audited.
    r = await hub.api("GET", f"/api/operations/{op}/export?complete=true", "olga")
    assert r.status_code == 403, r.text
    r = await hub.api("PUT", f"/api/operations/{op}/custodians/olga", "alice")
    assert r.status_code == 403, r.text  # coordinators do not grant custody
    r = await hub.api("PUT", f"/api/operations/{op}/custodians/xavier", "root")
    assert r.status_code == 404, r.text  # not a member of A
    r = await hub.api("PUT", f"/api/operations/{op}/custodians/olga", "root")
    assert r.status_code == 200 and r.json()["custodian"] is True, r.text
    members = (await hub.api("GET", f"/api/operations/{op}/members", "bruno")).json()
    assert {m["username"]: m["custodian"] for m in members["members"]} == {
        "alice": False, "bruno": False, "olga": True}  # the members see who holds it
    r = await hub.api("GET", f"/api/operations/{op}/export?complete=true", "olga")
    assert r.status_code == 200, r.text
    complete = r.content
    report = check(complete, public)
    assert report.ok, report.problems
    assert report.meta["complete"] is True and report.meta["withheld"] == {}
    assert report.meta["exported_by"] == "olga"
    body = _body(complete)
    for text in ("police eyes only", "army eyes only", "in the police room",
                 "in the army room", "Police informant", "Army convoy route"):
        assert text in body, text
    # Complete: every record of the store, counted here without the exporter. (The
    # export's own audit record comes after it; the grant's before.)
    counts = await _count_store(hub, op)
    counts["audit"] -= 1
    assert report.meta["counts"] == counts, (report.meta["counts"], counts)
    # Each filtered export and the complete one describe the same record.
    complete_path, key = tmp_path / "complete.zip", tmp_path / "hub.pem"
    complete_path.write_bytes(complete)
    key.write_text(hub.services.exporter.signer.public_pem())
    for user, archive in filtered.items():
        result = compare(check(archive, public), report)
        assert result.ok, (user, result.problems)
        assert result.committed == len(json.loads(zipfile.ZipFile(io.BytesIO(archive))
                                                  .read(MANIFEST))["commitments"])
        path = tmp_path / f"{user}.zip"
        path.write_bytes(archive)
        out = io.StringIO()
        assert verify_export(path, key, out, complete=complete_path) == 0, out.getvalue()
        assert "same record" in out.getvalue()
    # A withheld record altered afterwards no longer matches what was committed to.
    forged = _altered(complete, "army eyes only", "nothing happened")
    forged_report = check(forged, public)  # re-signed by nobody: the signature fails...
    assert not forged_report.ok
    # ...and even a re-signed rewrite (an operator with the key) breaks the commitment.
    rewritten = Report(records=report.records, meta=report.meta, lines={
        k: v.replace(b"army eyes only", b"nothing happened") for k, v in report.lines.items()})
    result = compare(check(filtered["alice"], public), rewritten)
    assert not result.ok
    assert any("match no record of the complete one" in p for p in result.problems)
    # The custody is withdrawn as it was granted.
    r = await hub.api("DELETE", f"/api/operations/{op}/custodians/olga", "root")
    assert r.status_code == 200 and r.json()["custodian"] is False
    r = await hub.api("GET", f"/api/operations/{op}/export?complete=true", "olga")
    assert r.status_code == 403
    actions = [(a.action, a.target) async for a in hub.hub.engine.store.iter_audit()
               if a.action.startswith("custodian.")]
    assert actions == [("custodian.grant", "olga"), ("custodian.withdraw", "olga")]


def _altered(archive: bytes, old: str, new: str) -> bytes:
    z = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for name in z.namelist():
            data = z.read(name)
            w.writestr(name, data.replace(old.encode(), new.encode()) if name == RECORDS
                       else data)
    return out.getvalue()
