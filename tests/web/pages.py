"""Helpers for the browser tests: a logged-in page, a bot with a token."""

from __future__ import annotations

from typing import Any

import httpx

from hub.errors import CloseCode
from hub.principal import Principal
from hub.tus import metadata_header
from tests.conftest import PASSWORD, RunningHub


async def login(browser: Any, hub: RunningHub, username: str, *, password: str = PASSWORD,
                **context: Any) -> Any:
    """A new browser context logged in as ``username`` on the main client, once live."""
    page = await (await browser.new_context(**context)).new_page()
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", password)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    await page.wait_for_selector("#channels button[aria-current=true]", state="attached")
    return page


async def bot_token(hub: RunningHub, username: str = "sensor") -> str:
    """A bot member of operation A with an API token scoped to it."""
    op = hub.ops["A"].id
    bot = await hub.hub.auth.create_user(username=username, display_name=username.title(),
                                         agency="POLICE", password=None, is_bot=True,
                                         actor="test")
    root = await hub.hub.engine.store.get_user_by_name("root")
    await hub.services.channels.set_member(Principal(root, "t", "session", None, None), op,  # type: ignore[arg-type]
                                      username, "member", "t")
    token, _ = await hub.hub.auth.create_api_token(bot, name=username, scope=(op,),
                                                   actor="test")
    return token


async def upload(hub: RunningHub, user: str, data: bytes, *, name: str,
                 **scope: str) -> tuple[str, httpx.Response]:
    """``data`` sent by ``user`` in one tus PATCH for the ``channel`` (a message's file)
    or the ``operation`` (a case's) in ``scope``: the upload's id and the answer to the
    PATCH (204 once kept, 415 when refused)."""
    made = await hub.api("POST", "/api/uploads", user, headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata_header({**scope, "filename": name})})
    assert made.status_code == 201, made.text
    where = made.headers["location"]
    sent = await hub.api("PATCH", where, user, content=data, headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    return where.rsplit("/", 1)[1], sent


async def drop_network(page: Any, hub: RunningHub, username: str) -> None:
    """The phone loses its network: no request leaves ``page``'s browser context, and the
    hub closes ``username``'s sockets as a dropped network would (offline emulation does
    not end a socket that is already open). Closed again until the page says it is not
    live: a socket still in its handshake when the first close ran is closed too."""
    await page.context.set_offline(True)
    for _ in range(10):
        for conn in list(hub.hub.node.connections):
            if conn.principal.username == username:
                conn.close(CloseCode.GOING_AWAY, "network gone")
        try:
            await page.wait_for_selector("#conn:not(.live)", timeout=5_000)
            return
        except Exception:  # still live: a socket opened while the first ones closed
            continue
    raise AssertionError(f"{username}'s page stayed live with its network gone")
