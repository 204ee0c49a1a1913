"""Which of the hub's files a chat publish and a case update enter, followed through the
running code rather than counted by hand.

A hub is built in-process as ``liaison serve`` builds it (``liaison.app.create_app``, its
lifespan, the demo operation), on the embedded engine in a temporary directory. Two
WebSocket connections are the gateway's own :class:`hub.gateway.Connection` over an
in-memory transport (no socket), registered with the node as the endpoint does; REST
requests go through the ASGI app with httpx's ASGI transport. A profiler hook
(``sys.setprofile``, and ``threading.setprofile`` for the store's thread) records the
file of every function called while:

* **chat publish** — alice's connection handles a ``publish`` frame, until bruno's
  connection has the message frame on its transport;
* **case update** — alice's ``PATCH`` makes a case critical, until bruno's connection
  has the alert's event frame and the hub's notice in ``#alerts``.

It prints, per path, the project files entered (``hub/``, ``channels/``, ``alerting/``),
sorted; docs/architecture.md quotes this output and tests/bench/test_trace.py fails
when the quote is stale.

    .venv/bin/python -m bench.trace
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from hub.config import Settings
from hub.errors import CloseCode
from hub.gateway import Connection
from hub.protocol import WireFormat
from liaison.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "channels", "alerting")


class Recorder:
    """The project files whose functions were called while :attr:`on`."""

    def __init__(self) -> None:
        self.on = False
        self.files: set[str] = set()
        self._prefixes = tuple(str(ROOT / p) + "/" for p in PACKAGES)

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if self.on and event == "call" and frame.f_code.co_name != "<module>":
            name = frame.f_code.co_filename
            if name.startswith(self._prefixes):
                self.files.add(str(Path(name).relative_to(ROOT)))


class MemoryTransport:
    """A socket's sending side, in memory: what the hub sent, and a wake-up per frame."""

    write_now: Callable[[bytes], bool] | None = None
    end_receive: Callable[[], None] | None = None

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def send(self, data: str | bytes) -> None:
        self.frames.append(json.loads(data))
        self.arrived.set()

    async def close(self, code: int, reason: str) -> None:
        return None

    async def until(self, found: Callable[[dict[str, Any]], bool]) -> None:
        async with asyncio.timeout(60):
            while not any(found(f) for f in self.frames):
                self.arrived.clear()
                await self.arrived.wait()


async def _trace(what: Callable[[], Awaitable[None]], recorder: Recorder) -> list[str]:
    recorder.files.clear()
    recorder.on = True
    try:
        await what()
    finally:
        recorder.on = False
    return sorted(recorder.files)


def _import_everything() -> None:
    """Every module of the project imported before recording: a module first imported
    during a trace (a lazy import) would count files its import runs, and make the
    output depend on what ran before in the same process."""
    import importlib
    import pkgutil

    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)


async def trace() -> dict[str, list[str]]:
    """The files each path enters: {"chat publish": [...], "case update": [...]}; logging
    set up as ``liaison serve`` sets it (and put back as it was afterwards)."""
    import logging

    from hub.logs import configure_logging

    _import_everything()
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx")
    saved = [(logging.getLogger(n), logging.getLogger(n).handlers[:],
              logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names]
    configure_logging("INFO")
    logging.getLogger("httpx").setLevel("WARNING")  # the tracer's own client says nothing
    try:
        return await _trace_both()
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


async def _trace_both() -> dict[str, list[str]]:
    recorder = Recorder()
    with tempfile.TemporaryDirectory() as tmp:
        # No timer of its own may fire during a trace (housekeeping, the access cache's
        # expiry): what is recorded is what the request does, the same at every run.
        settings = Settings(data_dir=Path(tmp) / "data", revocation_poll_seconds=3600.0,
                            access_cache_seconds=0.0, key_dir=str(Path(tmp) / "keys"))
        app = create_app(settings)
        services = app.state.services
        hub = services.hub
        threading.setprofile(recorder)  # the store's thread starts in the lifespan
        sys.setprofile(recorder)
        try:
            async with app.router.lifespan_context(app):
                from liaison.demo import seed_demo

                creds = {u: p for u, p, _ in await seed_demo(services, Path(tmp))}
                await services.evaluator.tick()
                op = await hub.engine.store.get_operation_by_code("OP-DELTA")
                channels = {c.name: c.id for c in await hub.engine.store.list_channels(op.id)}
                conns = {}
                for user in ("alice", "bruno"):
                    principal = await _principal(app, user, creds[user])
                    transport = MemoryTransport()
                    conn = Connection(transport=transport, fmt=WireFormat.JSON,
                                      principal=principal, node=hub.node,
                                      handlers=hub.handlers, feeds=hub.feeds,
                                      settings=settings, client="trace")
                    hub.node.register(conn)
                    conns[user] = (conn, transport)
                bruno, seen = conns["bruno"]
                for n, feed in enumerate((channels["general"], channels["alerts"],
                                          f"ops:{op.id}")):
                    await bruno.handle(json.dumps({"type": "subscribe", "channel": feed,
                                                   "ref": f"s{n}"}))
                    ref = f"s{n}"
                    await seen.until(lambda f, ref=ref: f.get("type") == "subscribed"  # type: ignore[misc]
                                     and f.get("ref") == ref)
                alice, _ = conns["alice"]
                token = await _login(app, "alice", creds["alice"])
                case = await _case(app, token)
                # The pipeline's own loop wakes each second to renew its lease and run
                # timers, whatever else happens: stopped, so that a trace holds only what
                # its path does. Set-up's events are read first; the case update then
                # runs the pipeline itself, where the hub's loop would be woken by the
                # update's event (a chat message is not an event of the operation's log).
                await services.evaluator.tick()
                for task in asyncio.all_tasks():
                    if task.get_name() == "alert-pipeline":
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task

                async def publish() -> None:
                    await alice.handle(json.dumps({
                        "type": "publish", "channel": channels["general"], "text": "gauge 4",
                        "client_msg_id": "trace-1", "ref": "p1"}))
                    await seen.until(lambda f: f.get("type") == "message"
                                     and f.get("text") == "gauge 4")

                async def update() -> None:
                    await _patch(app, token, op.id, case)
                    await services.evaluator.tick()  # as the update's event wakes it
                    await seen.until(lambda f: f.get("type") == "op_event"
                                     and f.get("kind") == "alert")
                    await seen.until(lambda f: f.get("type") == "message"
                                     and f.get("channel") == channels["alerts"]
                                     and "Trace levee" in str(f.get("text")))

                out = {"chat publish": await _trace(publish, recorder),
                       "case update": await _trace(update, recorder)}
                for conn, _ in conns.values():
                    conn.close(CloseCode.NORMAL, "done")
                    await conn.finish()
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
    return out


async def _principal(app: Any, user: str, password: str) -> Any:
    token = await _login(app, user, password)
    return await app.state.hub.auth.authenticate_from(token, "trace", "ws")


async def _login(app: Any, user: str, password: str) -> str:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://trace") as http:
        r = await http.post("/api/auth/login", json={"username": user, "password": password,
                                                     "bearer": True})
        r.raise_for_status()
        return str(r.json()["token"])


async def _case(app: Any, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://trace") as http:
        r = await http.post("/api/operations/OP-DELTA/cases",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"title": "Trace levee", "severity": "major"})
        r.raise_for_status()
        return dict(r.json())


async def _patch(app: Any, token: str, op_id: str, case: dict[str, Any]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://trace") as http:
        r = await http.patch(f"/api/operations/{op_id}/cases/{case['id']}",
                             headers={"Authorization": f"Bearer {token}"},
                             json={"severity": "critical", "version": case["version"]})
        r.raise_for_status()


def render(out: dict[str, list[str]]) -> str:
    """The output docs/architecture.md quotes."""
    lines = []
    for path, files in out.items():
        lines.append(f"{path}: {len(files)} files")
        lines += [f"  {f}" for f in files]
    return "\n".join(lines) + "\n"


def main() -> None:
    print(render(asyncio.run(trace())), end="")


if __name__ == "__main__":
    main()
