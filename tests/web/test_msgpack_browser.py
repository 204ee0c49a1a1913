"""web/msgpack.js in the browser agrees with the hub's msgpack, and the client speaks it.

Values come from hypothesis; each is packed by Python's msgpack, decoded and
re-encoded by the page, and unpacked again by Python. Numbers follow JSON's
rules in JavaScript (one number type), so 1.0 comes back as 1.
"""

from __future__ import annotations

import base64
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, RunningHub

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=5),
    max_leaves=30)

ROUND_TRIP = """async (packed) => {
    const m = await import("/msgpack.js");
    const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
    const back = m.encode(m.decode(bytes));
    return btoa(String.fromCharCode(...back));
}"""


async def test_every_value_round_trips_through_the_page(browser: Any,
                                                        page_hub: RunningHub) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(page_hub.url + "/")
    samples: list[Any] = []

    @settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck))
    @given(VALUES)
    def collect(value: Any) -> None:
        samples.append(value)

    collect()
    samples += [[-1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, 127, 128,
                 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53 - 1],
                {"text": "é" * 40 + "🚒" * 40, "long": "x" * 70_000, "list": list(range(20))}]
    for value in samples:
        packed = base64.b64encode(msgpack.packb(value)).decode()
        back = msgpack.unpackb(base64.b64decode(await page.evaluate(ROUND_TRIP, packed)))
        assert back == value


async def test_the_page_refuses_what_it_cannot_read(browser: Any,
                                                    page_hub: RunningHub) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(page_hub.url + "/")
    refused = await page.evaluate("""async () => {
        const m = await import("/msgpack.js");
        const tries = {
            truncated: [0x92, 0x01],
            ext: [0xd4, 0x01, 0x02],
            badUtf8: [0xa2, 0xc3, 0x28],
            hugeArray: [0xdd, 0xff, 0xff, 0xff, 0xff],
            extra: [0x01, 0x02],
            intKey: [0x81, 0x01, 0x02],
            beyond53: [0xcf, 0x00, 0x40, 0, 0, 0, 0, 0, 0],
        };
        const out = {};
        for (const [name, bytes] of Object.entries(tries)) {
            try { m.decode(new Uint8Array(bytes)); out[name] = "accepted"; }
            catch (e) { out[name] = e instanceof m.MsgpackError ? "refused" : String(e); }
        }
        for (const [name, value] of Object.entries({nan: NaN, lone: "a\\ud800b", fn: () => 1})) {
            try { m.encode(value); out[name] = "accepted"; }
            catch (e) { out[name] = e instanceof m.MsgpackError ? "refused" : String(e); }
        }
        return out;
    }""")
    assert refused == dict.fromkeys(
        ["truncated", "ext", "badUtf8", "hugeArray", "extra", "intKey", "beyond53", "nan",
         "lone", "fn"], "refused")


async def test_the_web_client_speaks_msgpack_by_default(
        browser: Any, page_hub: RunningHub) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    received: list[str | bytes] = []
    sent: list[str | bytes] = []
    def watch(ws: Any) -> None:
        ws.on("framereceived", lambda payload: received.append(payload))
        ws.on("framesent", lambda payload: sent.append(payload))

    page.on("websocket", watch)
    await page.goto(page_hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.fill("#login input[name=username]", "alice")
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    await page.wait_for_selector("#channels button[aria-current=true]")
    await page.fill("#text", "binary hello")
    await page.keyboard.press("Enter")
    # The stored message (not its pending line), then its ack, which may come after it.
    await page.wait_for_selector("#messages li[data-seq]:has-text('binary hello')",
                                 timeout=10_000)
    await page.wait_for_function("() => !document.querySelector('#messages li.pending')",
                                 timeout=10_000)
    assert sent and all(isinstance(f, bytes) for f in sent)
    assert received and all(isinstance(f, bytes) for f in received)
    decoded = [msgpack.unpackb(f) for f in received]
    assert {"welcome", "subscribed", "ack", "message"} <= {d["type"] for d in decoded}
