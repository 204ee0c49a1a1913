"""Shared fixtures: a real hub (uvicorn on an ephemeral port) and real clients.

``running_hub`` starts the app in this event loop on 127.0.0.1:<free port>
with its own data directory, and seeds a small world of two operations:

* operation A (agencies POLICE, ARMY): alice (POLICE, coordinator), bruno
  (ARMY, member), olga (POLICE, observer); channels ``general`` (everyone) and
  ``police`` (POLICE only);
* operation B: xavier (POLICE, member); channel ``general``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest

from channels.admin_bodies import NewChannel, NewOperation
from hub import internals

# Before anything imports the server: a uvicorn or websockets whose internals moved
# stops the run here with the dependency's name, not an ImportError in every module.
if _moved := internals.problems():
    pytest.exit("a dependency's internals changed shape:\n" + "\n".join(_moved), returncode=3)

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from hub.auth import Passwords
from hub.clock import ManualClock
from hub.config import Settings
from hub.context import Hub
from hub.labels import Label
from hub.models import Channel, Operation
from hub.principal import Principal
from liaison.app import Services, build_services, create_app, server_config
from tests.redis_support import cleanup, new_prefix, redis_url

PASSWORD = "correct horse battery"
STRICT = os.environ.get("LIAISON_TEST_STRICT") == "1"


#: argon2 work done once per distinct input for the whole test session (see below).
_HASHED: dict[tuple[int, int, int, str], str] = {}
_VERIFIED: dict[tuple[str, str], bool] = {}


@pytest.fixture(autouse=True, scope="session")
def _argon2_once_per_input() -> Iterator[None]:
    """Every in-process test hub seeds five users and logs people in: at the OWASP
    minimum each argon2id hash or check costs 55-70 ms of a core, minutes over the
    suite. The real hasher still runs, once per distinct input: a password hashed
    with the same parameters again gets the hash made the first time (salted once,
    still verifiable), and a (hash, password) pair checked again gets the same
    answer. Hubs in subprocesses hash as in production."""
    real_hash, real_verify = Passwords.hash, Passwords.verify

    async def hash_once(self: Passwords, password: str) -> str:
        h = self._hasher
        key = (h.time_cost, h.memory_cost, h.parallelism, password)
        if key not in _HASHED:
            _HASHED[key] = await real_hash(self, password)
        return _HASHED[key]

    async def verify_once(self: Passwords, stored: str | None, password: str) -> bool:
        if stored is None:  # the unknown-user path: its dummy hash is random anyway
            return await real_verify(self, stored, password)
        if (stored, password) not in _VERIFIED:
            _VERIFIED[(stored, password)] = await real_verify(self, stored, password)
        return _VERIFIED[(stored, password)]

    patch = pytest.MonkeyPatch()
    patch.setattr(Passwords, "hash", hash_once)
    patch.setattr(Passwords, "verify", verify_once)
    yield
    patch.undo()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WsClient:
    """A real `websockets` client speaking the hub's JSON or msgpack frames."""

    def __init__(self, ws: ClientConnection, fmt: str) -> None:
        self.ws = ws
        self.fmt = fmt
        self.pending: list[dict[str, Any]] = []  # frames read while waiting for an ack

    async def send(self, frame: dict[str, Any]) -> None:
        if self.fmt == "json":
            await self.ws.send(json.dumps(frame))
        else:
            await self.ws.send(msgpack.packb(frame))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.pending:
            return self.pending.pop(0)
        return await self._recv_wire(timeout)

    async def _recv_wire(self, timeout: float) -> dict[str, Any]:
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(data, bytes):
            assert self.fmt == "msgpack", "binary frame on a JSON connection"
            return msgpack.unpackb(data)
        assert self.fmt == "json", "text frame on a msgpack connection"
        return json.loads(data)

    async def recv_type(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """Receive until a frame of ``kind`` arrives (skipping presence/typing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] == kind:
                return frame
            if frame["type"] not in ("presence", "typing"):
                raise AssertionError(f"expected {kind}, got {frame}")

    async def messages(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(out) < count:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] == "message":
                out.append(frame)
            elif frame["type"] not in ("presence", "typing", "ack", "subscribed"):
                raise AssertionError(f"unexpected frame {frame}")
        return out

    async def subscribe(self, channel: str, since_seq: int | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "channel": channel, "ref": "s-" + channel}
        if since_seq is not None:
            frame["since_seq"] = since_seq
        await self.send(frame)
        return await self.recv_type("subscribed")

    async def publish(self, channel: str, text: str, cmid: str | None = None,
                      **extra: Any) -> dict[str, Any]:
        cmid = cmid or uuid.uuid4().hex
        await self.send({"type": "publish", "channel": channel, "text": text,
                         "client_msg_id": cmid, "ref": cmid, **extra})
        while True:
            frame = await self._recv_wire(5.0)
            if frame["type"] in ("ack", "error") and frame.get("ref") == cmid:
                return frame
            self.pending.append(frame)

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class RunningHub:
    url: str
    ws_url: str
    hub: Hub
    services: Services
    settings: Settings
    ops: dict[str, Operation] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None
    #: The Starlette app (the server runs it behind hub.wsserver.WebSocketFirst).
    app: Any = None
    _clients: list[WsClient] = field(default_factory=list)
    _bots: list[Any] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        """Shut this hub down as a restart would (the test fixture also does it at the end)."""
        for c in self._clients:
            await c.ws.close()
        self._clients.clear()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(asyncio.shield(self._task), 15)

    async def clear(self, **levels: str) -> None:
        """Clear users to levels of the label policy (``alice="SECRET"``), as ``liaison
        user clearance`` does: their sessions end, so the next call logs in again."""
        policy = self.settings.labels
        for username, level in levels.items():
            user = await self.hub.engine.store.get_user_by_name(username)
            assert user is not None, username
            before = policy.clearance_of(user.clearance, user.agency)
            await self.hub.auth.set_clearance(user, policy.label(level),
                                              Label(before.level, before.granted),
                                              actor="test")
            self._tokens.pop(username, None)

    async def settle(self) -> None:
        """Wait until the alert pipeline has taken in everything stored so far.

        Writes return when stored and alerts follow from the log in the
        background; a test that asserts what the pipeline did (or did not do)
        after a write runs it to the head of every operation's log first.
        """
        await self.services.evaluator.tick()

    async def login(self, username: str, password: str = PASSWORD) -> str:
        if username not in self._tokens:
            assert self.http is not None
            r = await self.http.post("/api/auth/login", json={
                "username": username, "password": password, "bearer": True})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    async def api(self, method: str, path: str, user: str | None = None,
                  **kwargs: Any) -> httpx.Response:
        assert self.http is not None
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {await self.login(user)}"
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def raw_ws(self, fmt: str = "json", **kwargs: Any) -> ClientConnection:
        sub = "liaison.v1.json" if fmt == "json" else "liaison.v1.msgpack"
        return await connect(self.ws_url, subprotocols=[sub], **kwargs)  # type: ignore[list-item]

    async def client(self, username: str, fmt: str = "json", *, lang: str | None = None,
                     **kwargs: Any) -> WsClient:
        token = await self.login(username)
        c = WsClient(await self.raw_ws(fmt, **kwargs), fmt)
        await c.send({"type": "hello", "token": token, "ref": "h",
                      **({"lang": lang} if lang else {})})
        welcome = await c.recv()
        assert welcome["type"] == "welcome", welcome
        self._clients.append(c)
        return c

    async def bot(self, username: str, fmt: str = "msgpack") -> Any:
        """A ``liaison_client.Client`` logged in as ``username``, closed at teardown.

        For tests that act as a bot would; tests of the protocol's edges (raw,
        malformed or duplicated frames) use :meth:`client`, which hides nothing.
        """
        from liaison_client import Client

        bot = Client(self.ws_url, await self.login(username), fmt=fmt, name="test")
        await bot.start()
        self._bots.append(bot)
        return bot

    def ch(self, key: str) -> str:
        return self.channels[key].id


async def seed(services: Services) -> tuple[dict[str, Operation], dict[str, Channel]]:
    auth, svc = services.hub.auth, services.channels
    top = services.hub.settings.labels.levels[-1]  # the administrator is cleared to the top
    admin = await auth.create_user(username="root", display_name="Root", agency="HUB",
                                   password=PASSWORD, is_admin=True, actor="test",
                                   clearance=services.hub.settings.labels.label(top).dumps())
    root = Principal(admin, "test", "session", None, None)
    people = {"alice": ("POLICE", "coordinator", "A"), "bruno": ("ARMY", "member", "A"),
              "olga": ("POLICE", "observer", "A"), "xavier": ("POLICE", "member", "B")}
    op_a = await svc.create_operation(
        root, NewOperation(code="OP-A", name="Alpha", agencies=["POLICE", "ARMY"]), "test")
    op_b = await svc.create_operation(root, NewOperation(code="OP-B", name="Bravo"), "test")
    ops = {"A": op_a, "B": op_b}
    for name, (agency, role, op) in people.items():
        await auth.create_user(username=name, display_name=name.title(), agency=agency,
                               password=PASSWORD, actor="test")
        await svc.set_member(root, ops[op].id, name, role, "test")
    chans = {
        "A/general": await svc.create_channel(root, op_a.id, NewChannel(name="general"), "test"),
        "A/police": await svc.create_channel(
            root, op_a.id, NewChannel(name="police", agencies=["POLICE"]), "test"),
        "B/general": await svc.create_channel(root, op_b.id, NewChannel(name="general"), "test"),
    }
    return ops, chans


def embedded_settings(tmp_path: Path) -> Settings:
    """A test hub on the embedded engine: limits high enough that tests never hit them."""
    return Settings(data_dir=tmp_path / "data", port=0, publish_rate=10_000.0,
                    publish_burst=10_000, revocation_poll_seconds=0.2)


@pytest.fixture(params=["embedded", "redis"])
def hub_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a test hub; every functional test runs once per engine."""
    base = embedded_settings(tmp_path)
    if request.param == "embedded":
        yield base
        return
    url, prefix = redis_url(), new_prefix()
    yield base.replace(engine=url, redis_prefix=prefix)
    cleanup(url, prefix)


@pytest.fixture
async def start_hub(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Factory: ``await start_hub(settings, clock=None)`` -> RunningHub."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None], RunningHub]] = []

    async def start(settings: Settings, *, clock: Any = None, seeded: bool = True,
                    port: int | None = None) -> RunningHub:
        port = port or free_port()
        settings = settings.replace(port=port)
        app = create_app(settings, clock=clock)
        server = uvicorn.Server(server_config(app, settings))
        task = asyncio.create_task(server.serve())
        for _ in range(500):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        services: Services = app.state.services
        running = RunningHub(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws",
                             services.hub, services, settings)
        running.http = httpx.AsyncClient(base_url=running.url, timeout=10)
        running._server, running._task, running.app = server, task, app
        if seeded:
            running.ops, running.channels = await seed(services)
        servers.append((server, task, running))
        return running

    yield start
    for server, task, running in servers:
        for bot in running._bots:
            await bot.close()
        for c in running._clients:
            await c.ws.close()
        if running.http is not None:
            await running.http.aclose()
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 15)
        except TimeoutError:
            for t in asyncio.all_tasks():
                t.print_stack(limit=6)
            raise


@pytest.fixture
async def running_hub(start_hub: Callable[..., Any], hub_settings: Settings) -> RunningHub:
    return await start_hub(hub_settings)  # type: ignore[no-any-return]


@dataclass
class Embedded:
    """The hub's services on the real embedded engine, with no server and no sockets.

    For unit tests of the node, the pipeline, records and the access gate: the
    store and broker are real (SQLite and the in-process broker), the clock is
    a :class:`ManualClock`, and the world is :func:`seed`'s.
    """

    services: Services
    clock: ManualClock
    ops: dict[str, Operation]
    channels: dict[str, Channel]

    @property
    def store(self) -> Any:
        return self.services.hub.engine.store

    async def principal(self, username: str) -> Principal:
        user = await self.store.get_user_by_name(username)
        assert user is not None, username
        return Principal(user, f"ses-{username}", "session", None, None)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    clock = ManualClock(1_800_000_000.0)
    services = build_services(Settings(data_dir=tmp_path / "data", publish_rate=10_000.0,
                                       publish_burst=10_000), clock=clock)
    await services.hub.engine.store.open()
    await services.hub.node.start()
    ops, chans = await seed(services)
    yield Embedded(services, clock, ops, chans)
    await asyncio.wait_for(services.evaluator.stop(), 10)
    await asyncio.wait_for(services.hub.node.stop(), 10)
    await asyncio.wait_for(services.hub.engine.store.close(), 10)


_LEAKS = {"previous": "the start of the session"}


def _collect_naming_leaks() -> list[str]:
    """Collect garbage now; what was left unclosed is returned, not raised."""
    import gc
    import sys
    import warnings

    leaked: list[str] = []

    def note(unraisable: Any) -> None:
        leaked.append(f"{type(unraisable.exc_value).__name__}: {unraisable.exc_value} "
                      f"({unraisable.object!r})"[:300])

    previous, sys.unraisablehook = sys.unraisablehook, note
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)  # raised in __del__: to note()
            gc.collect()
    finally:
        sys.unraisablehook = previous
    return leaked


@pytest.fixture(autouse=True, scope="module")
def _leaks_of_the_module_before(request: pytest.FixtureRequest) -> None:
    """A resource an earlier module left unclosed and that the collector reaches only
    later would fail whichever test runs then (a fuzz test, far from the cause). Each
    module starts by collecting what the one before left, and names it on the terminal
    with that module, so it is seen and fixed where it was made."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    for line in _collect_naming_leaks():
        if reporter is not None:
            reporter.write_line(f"leaked by {_LEAKS['previous']}: {line}", red=True)
    _LEAKS["previous"] = request.module.__name__


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Collect what is left before pytest does, and say what leaked instead of failing.

    A resource a test leaks fails that test (pytest reports unraisable warnings per
    test). What is only collected at the very end (an object some module still held)
    cannot be traced to a test; pytest would fail the whole run after every test had
    passed. Name it on the terminal instead, so it is seen and fixed, not flaky.
    """
    import sys

    for line in _collect_naming_leaks():
        print(f"\nleaked until the end of the session: {line}", file=sys.stderr)
