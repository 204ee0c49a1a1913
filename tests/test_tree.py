"""The shape of the code, checked like behaviour: small modules, tests that keep up.

docs/architecture.md states both rules; the import direction is checked by
the import-linter contracts in pyproject.toml (run by .ci/run).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("liaison", "hub", "channels", "alerting", "liaison_client")
MAX_MODULE_LINES = 400


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_no_module_is_over_400_lines() -> None:
    big = {str(p.relative_to(ROOT)): lines(p) for p in sources()
           if lines(p) > MAX_MODULE_LINES}
    assert big == {}


def test_test_lines_are_at_least_source_lines() -> None:
    source = sum(lines(p) for p in sources())
    tests = sum(lines(p) for p in (ROOT / "tests").rglob("*.py"))
    assert source > 5_000  # the tree was found
    assert tests >= source, f"tests {tests} lines, source {source}: {tests / source:.2f}x"


def test_no_two_classes_share_a_name() -> None:
    """A name means one thing: two classes called the same (two ``Policy``, two
    ``Session``) make every import and every conversation about them ambiguous. The bot
    SDK is left out: its ``Message`` is the hub's message as a bot reads it."""
    seen: dict[str, list[str]] = {}
    for path in (p for p in sources() if not p.relative_to(ROOT).parts[0] == "liaison_client"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("class "):
                name = line[6:].split("(")[0].split(":")[0].strip()
                seen.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}
