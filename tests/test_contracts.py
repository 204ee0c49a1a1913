"""The import contracts of pyproject.toml fail when broken: each is run against a copy of
the tree with one import that breaks it, so a contract that a rename or a move made
vacuous (a module path that no longer exists) is caught here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("liaison", "hub", "channels", "alerting", "liaison_client")
CONTRACTS = [c["name"] for c in tomllib.loads(
    (ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]]
#: (a word of the contract's name, the module that gets the import, the import)
BREAKS = [
    ("assembles", "hub/errors.py", "import alerting.kinds"),
    ("no I/O", "alerting/rules/expr.py", "import asyncio"),
    ("opaque to the engines", "hub/engine/legacy.py", "import channels.bodies"),
    ("bodies depend only on the core", "channels/bodies.py", "import channels.messages"),
    ("stands alone", "liaison_client/frames.py", "import hub.errors"),
    ("knows which engine", "channels/access.py", "import hub.engine.sqlite"),
]


def lint(tree: Path) -> str:
    tool = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(tool), "--no-cache"], cwd=tree, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(tree)})
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, where / name, ignore=shutil.ignore_patterns("__pycache__"))
    return where


def test_every_contract_is_named_here() -> None:
    assert len(BREAKS) == len(CONTRACTS)
    for word, _, _ in BREAKS:
        assert sum(word in name for name in CONTRACTS) == 1, word


def test_the_tree_as_it_is_keeps_every_contract(tree: Path) -> None:
    out = lint(tree)
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in out, out


@pytest.mark.parametrize(("word", "module", "line"), BREAKS, ids=[b[0] for b in BREAKS])
def test_one_import_breaks_its_contract(tree: Path, word: str, module: str,
                                        line: str) -> None:
    path = tree / module
    before = path.read_text(encoding="utf-8")
    path.write_text(before + f"\n{line}  # noqa\n", encoding="utf-8")
    try:
        out = lint(tree)
    finally:
        path.write_text(before, encoding="utf-8")
    assert f"Contracts: {len(CONTRACTS)} kept" not in out, out
    broken = " ".join(out[out.index("Broken contracts"):].split())
    assert word in broken, out  # (an import may break more than its own: hub -> alerting
    #                                 also takes the features' I/O into the pure modules)
