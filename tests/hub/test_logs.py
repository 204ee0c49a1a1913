"""JSON logs escape control characters so a hostile value cannot forge lines."""

from __future__ import annotations

import json
import logging

import pytest

from hub.logs import JsonFormatter, RedactHookPaths, redact_path


def test_control_characters_are_escaped() -> None:
    hostile = "evil\n{\"level\":\"x\"}\x1b[31m"
    record = logging.makeLogRecord({"msg": "login for %s", "args": (hostile,),
                                    "levelname": "INFO", "name": "t",
                                    "actor": "a\r\nb"})
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    parsed = json.loads(line)
    assert parsed["msg"].startswith("login for evil\n")
    assert parsed["actor"] == "a\r\nb"


@pytest.mark.parametrize(("path", "shown"), [
    ("/hooks/op_1/hook_2/s3cr3t", "/hooks/op_1/hook_2/***"),
    ("/hooks/op_1/hook_2/s3cr3t?x=1", "/hooks/op_1/hook_2/***?x=1"),
    ("/api/operations/op_1/webhooks", "/api/operations/op_1/webhooks"),
    ("/hooks/op_1", "/hooks/op_1"),
])
def test_a_webhook_secret_never_reaches_a_log_line(path: str, shown: str) -> None:
    assert redact_path(path) == shown
    record = logging.makeLogRecord({"msg": '%s - "%s %s HTTP/%s" %d',
                                    "args": ("127.0.0.1:5", "POST", path, "1.1", 200)})
    assert RedactHookPaths().filter(record)
    assert shown in record.getMessage() and ("s3cr3t" not in record.getMessage())
