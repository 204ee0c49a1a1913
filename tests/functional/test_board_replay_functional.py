"""The board at a past moment (both engines): replayed from the operation's log, it
equals the board live clients held at that moment, for each reader's clearance."""

from __future__ import annotations

import copy
from typing import Any

from alerting.board import apply, from_frame
from hub.clock import ManualClock
from tests.conftest import RunningHub, WsClient

CRITICAL = {"id": "critical", "when": 'severity == "critical" and status != "closed"',
            "severity": "critical", "summary": "{title} is critical"}


class LiveBoard:
    """A client holding the board as the web client does: snapshot, then op events."""

    def __init__(self, client: WsClient) -> None:
        self.client = client
        self.board: dict[str, Any] = {}

    async def start(self, op: str) -> None:
        await self.client.send({"type": "subscribe", "channel": f"ops:{op}", "board": True,
                                "ref": "b"})
        await self.client.recv_type("subscribed")
        self.board = from_frame(await self.client.recv_type("board"))

    async def catch_up(self, head: int) -> None:
        """Fold events until the board is at ``head`` (or nothing more comes for it)."""
        while self.board["version"] < head:
            try:
                frame = await self.client.recv_type("op_event", timeout=2.0)
            except TimeoutError:
                return  # the rest of the log is above this reader
            apply(self.board, frame)


def _rows(board: dict[str, Any]) -> tuple[Any, ...]:
    cases = board["cases"] if isinstance(board["cases"], dict) else \
        {r["id"]: r for r in board["cases"]}
    alerts = board["alerts"] if isinstance(board["alerts"], dict) else \
        {r["id"]: r for r in board["alerts"]}
    return cases, alerts, [e["seq"] for e in board["events"]]


async def test_the_board_replayed_at_each_moment_is_the_one_live_clients_held(
        start_hub: Any, hub_settings: Any) -> None:
    clock = ManualClock(1_800_000_000.0)
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    op = hub.ops["A"].id
    assert (await hub.api("PATCH", f"/api/operations/{op}", "root",
                          json={"label": "SECRET"})).status_code == 200
    await hub.clear(alice="SECRET", olga="RESTRICTED")
    r = await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=CRITICAL)
    assert r.status_code in (200, 201), r.text
    live = {u: LiveBoard(await hub.client(u)) for u in ("alice", "olga")}
    for board in live.values():
        await board.start(op)
    base = f"/api/operations/{op}/cases"

    async def step(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        clock.advance(60)
        r = await hub.api(method, path, "alice", json=body)
        assert r.status_code in (200, 201), r.text
        await hub.settle()
        return r.json()  # type: ignore[no-any-return]

    held: list[tuple[float, dict[str, dict[str, Any]]]] = []

    async def remember() -> None:
        head = (await hub.hub.engine.store.op_event_bounds(op))[1]
        for board in live.values():
            await board.catch_up(head)
        held.append((clock.now(), {u: copy.deepcopy(b.board) for u, b in live.items()}))

    flood = await step("POST", base, {"title": "Flooded road", "label": "RESTRICTED"})
    await remember()
    flood = await step("PATCH", f"{base}/{flood['id']}", {"version": flood["version"],
                                                          "severity": "critical"})
    await remember()
    await step("POST", base, {"title": "Informant", "label": "SECRET", "severity": "critical"})
    await remember()
    alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    await step("POST", f"/api/operations/{op}/alerts/{alerts[0]['id']}/ack", {})
    await remember()
    await step("PATCH", f"{base}/{flood['id']}", {"version": flood["version"],
                                                  "status": "closed"})
    await remember()

    assert len(held) == 5
    for at, boards in held:
        for user, board in boards.items():
            r = await hub.api("GET", f"/api/operations/{op}/board?at={at}", user)
            assert r.status_code == 200, r.text
            assert _rows(r.json()) == _rows(board), (user, at)
    # What olga held never had the SECRET case; alice's did.
    assert {c["title"] for c in held[2][1]["olga"]["cases"].values()} == {"Flooded road"}
    assert {c["title"] for c in held[2][1]["alice"]["cases"].values()} == \
        {"Flooded road", "Informant"}
    # Before anything happened: an empty board. Nonsense moments are refused.
    r = await hub.api("GET", f"/api/operations/{op}/board?at=1000", "alice")
    assert (r.json()["cases"], r.json()["alerts"]) == ([], [])
    for bad in ("nan", "-1", "1e9", "", "12345678901234"):
        r = await hub.api("GET", f"/api/operations/{op}/board?at={bad}", "alice")
        assert r.status_code == 400 and "'at'" in r.json()["error"]["message"], bad
