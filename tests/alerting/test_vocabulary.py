"""alerting/vocabulary.py and hub/vocabulary.py: one definition of the protocol's words,
each owned by who defines it, and the client agrees."""

from __future__ import annotations

import re
from pathlib import Path

from alerting import board
from alerting.cases import case as cases
from alerting.rules import expr
from alerting.vocabulary import CASE_STATUSES, SEVERITIES, SEVERITY_RANK, javascript
from hub.errors import CloseCode
from hub.vocabulary import CLOSE_RETRY, CLOSE_TERMINAL

WEB = Path(__file__).resolve().parents[2] / "web"

#: A list literal of two or more protocol words, or of close codes, spelled out in JS.
_SPELLED = re.compile(
    r"""\[\s*["'](info|minor|major|critical|open|in_progress|resolved|closed|firing|"""
    r"""acknowledged|planned|active|incident|request)["']\s*,"""
    r"""|new Set\(\[\s*(1\d{3}|4\d{3})\s*,""")


def test_the_generated_client_module_is_current() -> None:
    assert (WEB / "vocabulary.js").read_text(encoding="utf-8") == javascript(), (
        "web/vocabulary.js is stale: run `python -m alerting.vocabulary > web/vocabulary.js`")


def test_no_client_module_spells_the_vocabulary_itself() -> None:
    offenders = {path.name: m.group(0) for path in WEB.glob("*.js")
                 if path.name != "vocabulary.js"
                 for m in [_SPELLED.search(path.read_text(encoding="utf-8"))] if m}
    assert offenders == {}, "import these from /vocabulary.js instead"


def test_the_spelled_list_detector_finds_a_copy() -> None:
    assert _SPELLED.search('const S = ["info", "minor"];')
    assert _SPELLED.search("const R = new Set([1001, 1006]);")
    assert not _SPELLED.search('fillSelect($("x"), SEVERITIES, "sev")')


def test_python_modules_use_the_same_words() -> None:
    assert SEVERITIES == ("info", "minor", "major", "critical")
    assert [SEVERITY_RANK[s] for s in SEVERITIES] == [0, 1, 2, 3]
    assert expr.ENUMS["severity"] == SEVERITIES
    assert expr.ENUMS["status"] == CASE_STATUSES
    assert cases.parse_severity("MAJOR") == cases.Severity.MAJOR
    counts = board.view(board.empty("op"))["counts"]
    assert list(counts) == list(reversed(SEVERITIES))
    assert all(list(row) == list(CASE_STATUSES) for row in counts.values())


def test_close_classes_cover_every_code_the_hub_sends_exactly_once() -> None:
    assert not set(CLOSE_RETRY) & set(CLOSE_TERMINAL)
    for code in CloseCode:
        if code.retryable:
            assert int(code) in CLOSE_RETRY, code
        else:
            assert int(code) not in CLOSE_RETRY, code
    assert {1006, 1012} <= set(CLOSE_RETRY)  # seen by clients, never sent by the hub
    assert set(CLOSE_TERMINAL) == {1008, 4001, 4003}
