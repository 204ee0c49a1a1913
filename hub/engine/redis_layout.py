"""The Redis engine's key layout upgrades (``D layout``, :data:`redis_keys.LAYOUT`).

1 -> 2 named the directory keys under the ``{dir}`` tag (renamed once, when a hub
opens a layout-1 keyspace). 2 -> 3 stores a message as an envelope and an opaque
body: every channel log's entries are rewritten in that layout, one stream at a time,
atomically; what a node appended after the step read the stream stays as it was. A
node of an older release may still write old entries during a rolling upgrade; they
are read through :mod:`hub.engine.legacy` until the next start converts them. A
keyspace whose layout is newer is refused before anything moves.
"""

from __future__ import annotations

import contextlib
import logging

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from hub.engine.redis_connect import CommandClient
from hub.engine.redis_db import entries, load_script, text, texts
from hub.engine.redis_keys import LAYOUT, RedisKeys
from hub.engine.redis_messages import ENTRY_FIELDS, entry_args, from_entry
from hub.errors import DataTooNew

__all__ = ["upgrade"]

log = logging.getLogger("hub.engine.redis")

#: Entries read per call while converting a channel log.
_PAGE = 1000


async def upgrade(r: CommandClient, keys: RedisKeys) -> None:
    """Bring the keyspace to the current layout (nothing to do when it is there)."""
    found = await r.get(keys.layout())
    version = int(text(found)) if found else 0
    if version > LAYOUT:
        raise DataTooNew(f"the Redis keyspace {keys.prefix!r}", version, LAYOUT)
    if version == LAYOUT:
        return
    if version < 2 and not isinstance(r, RedisCluster):  # layout 1 never ran on a cluster
        await _tag_directory(r, keys)
    converted = await _envelope_messages(r, keys)
    await r.set(keys.layout(), LAYOUT)
    if converted:
        log.warning("converted %d channel logs to key layout %d", converted, LAYOUT)


async def _tag_directory(r: CommandClient, keys: RedisKeys) -> None:
    moved = 0
    pattern = keys.prefix.replace("[", "\\[") + "*"
    async for key in r.scan_iter(match=pattern, count=1000):
        new = keys.upgraded(text(key))
        if new is not None:
            with contextlib.suppress(ResponseError):  # another hub moved it first
                moved += bool(await r.renamenx(text(key), new))
    if moved:
        log.warning("moved %d directory keys under the directory tag", moved)


async def _envelope_messages(r: CommandClient, keys: RedisKeys) -> int:
    rewrite = r.register_script(load_script("rewrite_stream"))
    converted = 0
    for op_id in texts(await r.smembers(keys.op_ids())):
        for ch_id in texts(await r.smembers(keys.op_channels(op_id))):
            log_key = keys.channel_log(ch_id)
            rows, after = [], "-"
            while page := entries(await r.xrange(log_key, min=after, max="+", count=_PAGE)):
                rows += page
                after = "(" + page[-1][0]
            if all("body" in fields for _, fields in rows):
                continue
            args: list[str] = [rows[-1][0], str(len(ENTRY_FIELDS))]
            for entry_id, fields in rows:
                args += [entry_id, *entry_args(from_entry(ch_id, entry_id.split("-")[0],
                                                          fields))]
            await rewrite(keys=[log_key], args=args)  # what was appended since: kept
            converted += 1
    return converted
