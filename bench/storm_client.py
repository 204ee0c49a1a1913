"""A phone in a storm (issue 25, item 2): the main thread's longest tasks while 1,000
critical alerts arrive live and while For me and Alerts show them.

Starts the hub as a real process (`liaison serve`) on a fresh operation, opens the
web client in Chromium as a phone (390x844, touch) with its CPU slowed 4x through
the DevTools protocol (``Emulation.setCPUThrottlingRate``), logs in as the
responder, and then reports ``--alerts`` critical cases assigned to them (each
raises an alert that names them). The page's Long Tasks API observer records every
main-thread task over 50 ms; the report gives, per phase, the count over 50 ms and
over 200 ms and the longest:

- ``storm``: from the first case to the moment the page shows every alert;
- ``for_me`` / ``alerts``: a tap on the tab until its list is drawn;
- ``more``: the Alerts list scrolled to its "Show more" row, which adds the next rows.

    .venv/bin/python bench/storm_client.py
    .venv/bin/python bench/storm_client.py --alerts 200 --throttle 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from channels.admin_bodies import NewChannel
from hub.bodies import convert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.common import PASSWORD, bench_operation, free_port
from hub.config import Settings

#: Every main-thread task over 50 ms, as the page sees it (the Long Tasks API).
OBSERVE = """
window.__long = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__long.push(e.duration);
}).observe({ type: "longtask", buffered: true });
"""


async def seed(settings: Settings) -> str:
    async with bench_operation(settings, ("lead", "responder")) as (services, admin, op):
        await services.channels.set_member(admin, op.id, "lead", "coordinator", "bench")
        await services.channels.create_channel(admin, op.id,
                                               convert({"name": "general"}, NewChannel), "bench")
        return str(op.id)


def phase(durations: list[float]) -> dict[str, Any]:
    return {"over_50ms": len(durations), "over_200ms": sum(1 for d in durations if d > 200),
            "longest_ms": round(max(durations, default=0.0), 1)}


async def taken(page: Any) -> list[float]:
    """The long tasks recorded since the last call."""
    return list(await page.evaluate("window.__long.splice(0)"))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    chromium = os.environ.get("LIAISON_CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium not found: apt-get install chromium")
    tmp = Path(tempfile.mkdtemp(prefix="liaison-storm-"))
    settings = Settings(data_dir=tmp / "data")
    op = await seed(settings)
    port = free_port()
    env = {**os.environ, "LIAISON_DATA_DIR": str(settings.data_dir), "LIAISON_PORT": str(port),
           "LIAISON_LOG_LEVEL": "WARNING"}
    log = (tmp / "hub.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "liaison"), "serve"],  # noqa: ASYNC220 - started once
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://localhost:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http, \
                async_playwright() as p:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            r = await http.post("/api/auth/login", json={"username": "lead",
                                                         "password": PASSWORD, "bearer": True})
            r.raise_for_status()
            lead = {"Authorization": f"Bearer {r.json()['token']}"}
            r = await http.post(f"/api/operations/{op}/rules", headers=lead, json={
                "id": "storm", "when": 'severity == "critical"', "severity": "critical",
                "summary": "{title} is critical", "route": ["assignees"]})
            r.raise_for_status()

            browser = await p.chromium.launch(executable_path=chromium, headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
            context = await browser.new_context(viewport={"width": 390, "height": 844},
                                                is_mobile=True, has_touch=True)
            page = await context.new_page()
            await page.add_init_script(OBSERVE)
            cdp = await context.new_cdp_session(page)
            await cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
            await page.goto(base + "/")
            await page.fill("#login input[name=username]", "responder")
            await page.fill("#login input[name=password]", PASSWORD)
            await page.tap("#login button[type=submit]")
            await page.wait_for_selector("#conn.live", timeout=60_000)
            await page.tap("#tab-chat")  # the lists are drawn when their tab shows
            await taken(page)

            sem = asyncio.Semaphore(8)

            async def report(i: int) -> None:
                async with sem:
                    r = await http.post(f"/api/operations/{op}/cases", headers=lead, json={
                        "title": f"House {i} flooded", "severity": "critical",
                        "assignees": ["responder"]})
                    r.raise_for_status()

            await asyncio.gather(*(report(i) for i in range(args.alerts)))
            await page.wait_for_function(
                "(n) => document.getElementById('alert-count').textContent === String(n)",
                arg=args.alerts, timeout=300_000, polling=500)
            phases = {"storm": phase(await taken(page))}
            for tab, row in (("mine", "#my-alerts li[data-alert]"),
                             ("alerts", "#alert-list li[data-alert]")):
                await page.tap(f"#tab-{tab}")
                await page.wait_for_selector(row, timeout=60_000)
                await page.evaluate(
                    "new Promise((r) => requestAnimationFrame(() => setTimeout(r)))")
                phases["for_me" if tab == "mine" else tab] = phase(await taken(page))
            drawn = await page.locator("#alert-list li[data-alert]").count()
            more = page.locator("#alert-list button.more-rows")
            if await more.count():  # scrolled into view, it adds the next rows by itself
                await more.scroll_into_view_if_needed()
                await page.wait_for_function(
                    "(n) => document.querySelectorAll('#alert-list li[data-alert]').length > n",
                    arg=drawn, timeout=60_000)
                phases["more"] = phase(await taken(page))
            shown = {"alert_count": int(await page.text_content("#alert-count") or 0),
                     "rows_first_drawn": drawn}
            await browser.close()
        return {"alerts": args.alerts, "cpu_throttle": args.throttle, **shown,
                "phases": phases}
    except BaseException:
        log.flush()
        print((tmp / "hub.log").read_text()[-6000:], file=sys.stderr)
        raise
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--throttle", type=float, default=4.0, help="CPU slow-down factor")
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
