"""Finding (or starting) a real Redis for the tests, and cleaning up after them.

Order: ``LIAISON_TEST_REDIS_URL`` if set; else the server on 127.0.0.1:6379 if
it answers; else a ``redis-server`` started from PATH on a free port. With
none of these the Redis tests skip with a hint, or fail when
``LIAISON_TEST_STRICT=1`` (as in CI).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis

STRICT = os.environ.get("LIAISON_TEST_STRICT") == "1"
INSTALL_HINT = ("no Redis: set LIAISON_TEST_REDIS_URL, run one on 127.0.0.1:6379, or "
                "install redis-server ('apt-get install redis-server')")
CLUSTER_HINT = ("the Redis Cluster tests start their own nodes: install redis-server and "
                "redis-cli ('apt-get install redis-server redis-tools')")


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerDidNotStart(RuntimeError):
    pass


class RedisServer:
    """A redis-server process of our own, for tests that kill or restart it."""

    def __init__(self, *, appendonly: bool = True, fsync: str = "always",
                 port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if STRICT:
                pytest.fail(INSTALL_HINT)
            pytest.skip(INSTALL_HINT)
        self.binary = binary
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="liaison-redis-"))
        self.args = [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                     "--dir", str(self.dir), "--save", "",
                     "--appendonly", "yes" if appendonly else "no",
                     "--appendfsync", fsync]
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.dir / "server.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _answers(self.url):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        tail = log.read_text(errors="replace")[-600:]
        raise ServerDidNotStart(f"redis-server on port {self.port} did not start:\n{tail}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


_shared: RedisServer | None = None


def redis_url() -> str:
    """A Redis to use for tests that do not need to kill it."""
    global _shared
    url = os.environ.get("LIAISON_TEST_REDIS_URL")
    if url:
        return url
    if _answers("redis://127.0.0.1:6379/0"):
        return "redis://127.0.0.1:6379/0"
    if _shared is None:
        _shared = RedisServer(appendonly=False).start()
    return _shared.url


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class RedisClusterServers:
    """A Redis Cluster of our own: three masters, each with a replica, started from
    ``redis-server --cluster-enabled yes`` and joined with ``redis-cli --cluster create``."""

    def __init__(self, masters: int = 3) -> None:
        cli = shutil.which("redis-cli")
        if cli is None or shutil.which("redis-server") is None:
            if STRICT:
                pytest.fail(CLUSTER_HINT)
            pytest.skip(CLUSTER_HINT)
        self.cli = cli
        self.nodes = [self._node() for _ in range(masters * 2)]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    @staticmethod
    def _node() -> RedisServer:
        node = RedisServer(port=_free_cluster_port())
        node.args += ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
                      "--cluster-config-file", str(node.dir / "nodes.conf")]
        return node

    def start(self) -> RedisClusterServers:
        try:
            return self._start()
        except BaseException:
            self.stop()  # no node outlives a failed start
            raise

    def _start(self) -> RedisClusterServers:
        for i, node in enumerate(self.nodes):
            for attempt in range(3):
                try:
                    node.start()
                    break
                except ServerDidNotStart:
                    # Another process took the port (or its bus port) after we
                    # picked it: pick again.
                    if attempt == 2:
                        raise
                    node.stop()
                    node = self.nodes[i] = self._node()
        subprocess.run([self.cli, "--cluster", "create",
                        *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", "1", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        self.wait_ok()
        return self

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.nodes[0].port)

    def wait_ok(self, timeout: float = 60.0) -> None:
        """Until every node reports the cluster ok: three masters, each followed by its replica."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(self._ok(n) for n in self.nodes if n.proc and n.proc.poll() is None):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the test Redis Cluster did not become ok")

    def _ok(self, node: RedisServer) -> bool:
        r = redis.Redis(port=node.port, socket_timeout=2, decode_responses=True)
        try:
            info = str(r.execute_command("CLUSTER", "INFO"))
            nodes = str(r.execute_command("CLUSTER", "NODES")).splitlines()
            fields = [line.split() for line in nodes]
            masters = {f[0] for f in fields if "master" in f[2] and "fail" not in f[2]}
            followed = {f[3] for f in fields if "slave" in f[2] and "fail" not in f[2]}
            # Three masters, each with its replica already known to this node.
            return ("cluster_state:ok" in info and len(masters) == len(self.nodes) // 2
                    and followed == masters)
        finally:
            r.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


_cluster: RedisClusterServers | None = None


def cluster_url() -> str:
    """A Redis Cluster for the tests (started once per test session)."""
    global _cluster
    if _cluster is None:
        _cluster = RedisClusterServers().start()
        atexit.register(_cluster.stop)
    return _cluster.url


def new_prefix() -> str:
    return f"liaison-test:{uuid.uuid4().hex[:12]}:"


def cleanup(url: str, prefix: str) -> None:
    if url.startswith("redis+cluster://"):
        host, port = url.removeprefix("redis+cluster://").split(",")[0].split(":")
        r: redis.Redis | redis.RedisCluster = redis.RedisCluster(host=host, port=int(port))
    else:
        r = redis.Redis.from_url(url)
    try:
        for key in r.scan_iter(match=prefix.replace("[", "\\[") + "*", count=1000):
            r.delete(key)
    except redis.RedisError:
        pass
    finally:
        r.close()


def server_clients(url: str) -> list[redis.Redis]:
    """A client to each server behind an engine URL (every node of a cluster)."""
    if not url.startswith("redis+cluster://"):
        return [redis.Redis.from_url(url)]
    return [redis.Redis(host=host, port=int(port))
            for host, port in (node.split(":") for node in
                               url.removeprefix("redis+cluster://").split(","))]


def kill_pubsub(url: str) -> int:
    """Kill every pub/sub connection on the servers behind ``url``; how many died."""
    killed = 0
    for r in server_clients(url):
        try:
            killed += int(r.execute_command("CLIENT", "KILL", "TYPE", "pubsub"))
        finally:
            r.close()
    return killed


def require_redis_tools() -> None:
    """The Redis engine's backup and restore run redis-cli and a redis-server of their own."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        if STRICT:
            pytest.fail(CLUSTER_HINT)
        pytest.skip("backup and restore on Redis run redis-cli and redis-server: install "
                    "them ('apt-get install redis-server redis-tools')")
