"""Backup and restore of the Redis engine's keyspace.

Backup: ``redis-cli --rdb`` asks the server for a snapshot over the replication
protocol (the server forks: the snapshot is the whole dataset at one instant,
every acknowledged write in it, while the hub goes on). The snapshot is loaded
into a scratch ``redis-server`` of our own, which proves it loads, keeps only
the hub's keys (its prefix, its database) and saves them again: the archive
holds the hub's data and nothing of other tenants of the same server.

Restore: the archived snapshot is loaded into a scratch server again and every
key is copied to the configured Redis with DUMP / RESTORE (expiry kept), the
``layout`` key last, into a keyspace that must hold nothing under the prefix.
The scratch server is this machine's ``redis-server``: it must be as new as the
server the backup came from (an RDB file only loads into the same or a newer
Redis), and the target as new as it.

A password is passed to redis-cli through its environment, never its command
line. A Redis Cluster is backed up master by master with the same commands;
``liaison backup`` does not do that yet and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import redis
from redis.connection import SSLConnection, UnixDomainSocketConnection

from hub.engine.port import Snapshot
from hub.engine.redis_keys import RedisKeys
from hub.errors import BackupError

__all__ = ["PART", "has_data", "restore", "snapshot"]

PART = "data/redis.rdb"
TOOLS_HINT = "install Redis's tools (Debian: apt-get install redis-server redis-tools)"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"the Redis engine's backup needs {name}: {TOOLS_HINT}")
    return path


def _target(url: str) -> dict[str, Any]:
    if "cluster" in url.split("://", 1)[0]:
        raise BackupError("liaison backup and restore do not handle a Redis Cluster yet: "
                          "back up each master with redis-cli --rdb (README, \"Backup\")")
    pool = redis.ConnectionPool.from_url(url)
    return {**pool.connection_kwargs, "connection_class": pool.connection_class}


def _cli_args(conn: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """redis-cli's connection options, and its environment (the password)."""
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    if conn.get("connection_class") is UnixDomainSocketConnection:
        args = ["-s", str(conn["path"])]
    else:
        args = ["-h", str(conn.get("host", "127.0.0.1")), "-p", str(conn.get("port", 6379))]
    if conn.get("connection_class") is SSLConnection:
        args.append("--tls")
    if conn.get("username"):
        args += ["--user", str(conn["username"])]
    if conn.get("password"):
        env["REDISCLI_AUTH"] = str(conn["password"])
    return args, env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _scratch(rdb: Path, db: int) -> Iterator[redis.Redis]:
    """A redis-server of our own on 127.0.0.1, loaded from ``rdb`` (saved back to it);
    a client of its database ``db``."""
    port = _free_port()
    log = rdb.with_suffix(".log")
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
             "--dir", str(rdb.parent), "--dbfilename", rdb.name, "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=out, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port, db=db, socket_timeout=300)
    try:
        deadline = time.monotonic() + 300  # a large dataset takes a while to load
        while True:
            if proc.poll() is not None:
                raise BackupError("a scratch redis-server could not load the snapshot "
                                  f"(is this machine's Redis older than the source?): "
                                  f"{log.read_text(errors='replace')[-400:]}")
            try:
                client.ping()
                break
            except redis.BusyLoadingError:
                pass
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise BackupError("a scratch redis-server did not start") from None
            time.sleep(0.05)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def _keyspace_dbs(client: redis.Redis) -> list[int]:
    info: dict[str, Any] = client.info("keyspace")
    return [int(name[2:]) for name in info if name.startswith("db")]


def snapshot(url: str, prefix: str, workdir: Path) -> Snapshot:
    conn = _target(url)
    args, env = _cli_args(conn)
    rdb = workdir / "redis.rdb"
    done = subprocess.run([_tool("redis-cli"), *args, "--rdb", str(rdb)],  # noqa: S603
                          env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0 or not rdb.is_file():
        raise BackupError(f"redis-cli --rdb failed: {(done.stderr or done.stdout).strip()}")
    db = int(conn.get("db", 0))
    keys = RedisKeys(prefix)
    pattern = prefix.replace("[", "\\[") + "*"
    with _scratch(rdb, db) as scratch:
        for other in _keyspace_dbs(scratch):
            if other != db:  # another database of the server: not the hub's
                with redis.Redis(port=scratch.connection_pool.connection_kwargs["port"],
                                 db=other) as elsewhere:
                    elsewhere.flushdb()
        dropped = 0
        batch: list[bytes] = []
        for key in scratch.scan_iter(count=1000):
            if not key.decode("utf-8", "replace").startswith(prefix):
                batch.append(key)
            if len(batch) >= 1000:
                dropped += scratch.unlink(*batch)
                batch = []
        if batch:
            dropped += scratch.unlink(*batch)
        kept = sum(1 for _ in scratch.scan_iter(match=pattern, count=1000))
        layout = scratch.get(keys.layout())
        head_raw = scratch.get(keys.audit_head())
        scratch.save()
    head = None
    if head_raw:
        seq, digest = json.loads(head_raw)
        head = (int(seq), str(digest))
    return Snapshot(parts={PART: rdb}, schema=int(layout or 0), audit_head=head,
                    counts={"keys": kept},
                    source={"db": db, "prefix": prefix, "keys_of_others_left_out": dropped})


def _client(url: str) -> redis.Redis:
    _target(url)
    return redis.Redis.from_url(url, socket_timeout=60)


def has_data(url: str, prefix: str) -> bool:
    client = _client(url)
    try:
        return any(True for _ in client.scan_iter(match=prefix.replace("[", "\\[") + "*",
                                                  count=1000))
    except redis.RedisError as exc:
        raise BackupError(f"cannot reach the Redis to restore into: {exc}") from None
    finally:
        client.close()


def restore(part: Path, url: str, prefix: str, source: Mapping[str, object],
            workdir: Path) -> int:
    """Copy the archived keyspace into the configured Redis under ``prefix`` (the
    source's prefix replaced by it); the number of keys copied."""
    rdb = workdir / "restore.rdb"
    shutil.copyfile(part, rdb)
    old = str(source.get("prefix", prefix)).encode()
    layout = RedisKeys(old.decode()).layout().encode()
    target = _client(url)
    copied = 0
    try:
        db = source.get("db", 0)
        with _scratch(rdb, db if isinstance(db, int) else 0) as scratch:
            names = [k for k in scratch.scan_iter(match=old.replace(b"[", b"\\[") + b"*",
                                                  count=1000) if k != layout]
            if scratch.exists(layout):
                names.append(layout)  # last: a keyspace with a layout is a whole one
            for start in range(0, len(names), 500):
                chunk = names[start:start + 500]
                read = scratch.pipeline(transaction=False)
                for key in chunk:
                    read.dump(key)
                    read.pttl(key)
                replies = read.execute()
                write = target.pipeline(transaction=False)
                for i, key in enumerate(chunk):
                    payload, ttl = replies[2 * i], replies[2 * i + 1]
                    if payload is None or ttl == -2:  # expired meanwhile
                        continue
                    write.restore(prefix.encode() + key[len(old):], max(int(ttl), 0),
                                  payload)
                    copied += 1
                write.execute()
    except redis.RedisError as exc:
        raise BackupError(f"copying the keys into Redis failed: {exc}") from None
    finally:
        target.close()
    return copied
