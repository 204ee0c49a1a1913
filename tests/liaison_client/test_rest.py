"""liaison_client/rest.py against a real hub: the calls a bot makes, retried safely."""

from __future__ import annotations

import httpx
import pytest

from liaison_client import ApiError, Rest
from tests.conftest import RunningHub
from tests.web.pages import bot_token


async def test_a_bot_reports_cases_and_raises_alerts(running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].code  # the code works where an id does
    async with Rest(hub.url, await bot_token(hub)) as rest:
        case = await rest.create_case(op, {"title": "Pump 3 down", "severity": "major"})
        updated = await rest.update_case(op, case["id"], case["version"], {"status": "in_progress"})
        assert updated["version"] == 2 and updated["status"] == "in_progress"
        await rest.comment(op, case["id"], "Crew on site")
        assert (await rest.get_case(op, case["id"]))["comments"] == 1
        assert [c["id"] for c in await rest.list_cases(op)] == [case["id"]]
        first = await rest.push_alert(op, "Gauge 7 high", fingerprint="gauge-7")
        again = await rest.push_alert(op, "Gauge 7 high", fingerprint="gauge-7")
        assert again["id"] == first["id"] and again["occurrences"] == 2
        assert [a["id"] for a in await rest.list_alerts(op, "firing")] == [first["id"]]
        assert (await rest.ack_alert(op, first["id"]))["state"] == "acknowledged"
        assert (await rest.resolve_alert(op, first["id"]))["state"] == "resolved"
        posted = await rest.post_message(hub.ch("A/general"), "hello", client_msg_id="m1")
        repeated = await rest.post_message(hub.ch("A/general"), "hello", client_msg_id="m1")
        assert repeated["seq"] == posted["seq"]
        assert [m["text"] for m in await rest.messages(hub.ch("A/general"), after_seq=0)] == \
            ["hello"]
        with pytest.raises(ApiError) as conflict:
            await rest.update_case(op, case["id"], 1, {"severity": "minor"})
        assert conflict.value.status == 409 and conflict.value.code == "conflict"
        assert conflict.value.body["current"]["version"] == 3


async def test_a_retryable_failure_is_retried_with_the_same_key() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        if len(seen) < 3:
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "x",
                                                       "retryable": True}},
                                  headers={"retry-after": "0"})
        return httpx.Response(201, json={"id": "case_1", "version": 1})

    async with Rest("http://hub.test", "t", transport=httpx.MockTransport(answer)) as rest:
        assert (await rest.create_case("OP", {"title": "x"}))["id"] == "case_1"
    assert len(seen) == 3 and len(set(seen)) == 1  # the same body: the same idempotency key

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": {"code": "forbidden", "message": "no",
                                                   "retryable": False}})

    async with Rest("http://hub.test", "t", transport=httpx.MockTransport(refuse)) as rest:
        with pytest.raises(ApiError) as refused:
            await rest.list_cases("OP")
    assert (refused.value.status, refused.value.code, refused.value.retryable) == \
        (403, "forbidden", False)
