"""JSON logs escape control characters so a hostile value cannot forge lines."""

from __future__ import annotations

import json
import logging

from hub.logs import JsonFormatter


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
