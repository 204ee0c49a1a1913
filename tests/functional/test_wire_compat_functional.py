"""Wire compatibility (issue 27): the bot SDK of the release before envelopes, run from
its own tree in its own process, against today's hub, over JSON and msgpack: publish,
live delivery, replay after a reconnect, a case and the alert it raises."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunningHub
from tests.previous import previous_tree

#: Runs in the old SDK's process: argv = ws url, token, channel, operation, format.
SCRIPT = r'''
import asyncio, json, sys
from liaison_client import Client, Message, OpEvent

async def main():
    url, token, channel, op, fmt = sys.argv[1:]
    out = {}
    bot = Client(url, token, fmt=fmt, name="old-sdk")
    await bot.start()
    await bot.subscribe(channel)
    await bot.subscribe(f"ops:{op}")
    ack = await bot.publish(channel, "old client here", priority="urgent")
    out["ack_seq"] = ack.seq
    case = await bot.case(op, "create", {"title": "Levee seep", "severity": "critical",
                                          "idempotency_key": "old-" + fmt})
    out["case_version"] = case.version
    seen = {"message": [], "alert": []}
    async with asyncio.timeout(60):
        async for frame in bot.frames():
            if isinstance(frame, Message):
                seen["message"].append([frame.seq, frame.text, frame.priority, frame.sender])
            elif isinstance(frame, OpEvent) and frame.kind == "alert":
                seen["alert"].append([frame.action, (frame.record or {}).get("severity")])
            if seen["message"] and seen["alert"]:
                break
    await bot.close()
    # a new connection replays what it missed from seq 0
    again = Client(url, token, fmt=fmt, name="old-sdk-2")
    await again.start()
    await again.subscribe(channel, since_seq=0)
    async with asyncio.timeout(60):
        async for frame in again.frames():
            if isinstance(frame, Message):
                out["replayed"] = [frame.seq, frame.text, frame.priority]
                break
    await again.close()
    out.update(seen)
    print(json.dumps(out))

asyncio.run(main())
'''

CRITICAL = {"id": "critical-case", "when": 'severity == "critical"', "severity": "critical",
            "summary": "{title} is critical", "route": ["channel:general"]}


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
async def test_the_previous_sdk_publishes_replays_and_sees_cases_and_alerts(
        running_hub: RunningHub, tmp_path: Path, fmt: str) -> None:
    old = previous_tree(tmp_path / "previous", "liaison_client")
    hub = running_hub
    op, ch = hub.ops["A"].id, hub.ch("A/general")
    assert (await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                          json=CRITICAL)).status_code == 201
    token = await hub.login("alice")
    env = {**os.environ, "PYTHONPATH": str(old)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, hub.ws_url, token, ch, op, fmt, env=env,
        cwd=str(old), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    out = json.loads(stdout.decode().strip().splitlines()[-1])
    assert out["ack_seq"] == 1 and out["case_version"] == 1
    assert out["message"][0] == [1, "old client here", "urgent", "alice"]
    assert ["fired", "critical"] in out["alert"]
    assert out["replayed"] == [1, "old client here", "urgent"]
    # and what it stored reads back through today's API exactly
    r = await hub.api("GET", f"/api/channels/{ch}/messages", "alice")
    [stored] = [m for m in r.json()["messages"] if m["seq"] == 1]
    assert (stored["text"], stored["priority"]) == ("old client here", "urgent")
