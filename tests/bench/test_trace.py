"""bench/trace.py follows a chat publish and a case update through the running code; the
files it prints are quoted in docs/architecture.md, and this test fails when the quote is
stale (issue 27, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

from bench.trace import render, trace

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


async def test_the_documented_trace_is_the_tools_output() -> None:
    out = await trace()
    # Both paths reach their end: the message, then the alert frame and the notice.
    assert {"channels/frames.py", "hub/node.py", "hub/gateway.py"} <= set(out["chat publish"])
    assert {"alerting/pipeline/operation.py", "alerting/routes.py"} <= set(out["case update"])
    quoted = re.search(r"<!-- trace:begin -->\n```\n(.*?)```\n<!-- trace:end -->",
                       DOC.read_text(encoding="utf-8"), re.S)
    assert quoted is not None, "docs/architecture.md lost its trace markers"
    now, then = render(out).splitlines(), quoted.group(1).splitlines()
    assert now == then, (
        "docs/architecture.md quotes a stale trace: run .venv/bin/python -m bench.trace "
        f"and paste its output between the trace markers (new: {sorted(set(now) - set(then))},"
        f" gone: {sorted(set(then) - set(now))})")
