"""hub/scanner.py: the file_scanner command's verdict, failing closed."""

from __future__ import annotations

import sys
from pathlib import Path

from hub.config import Settings
from hub.scanner import CommandScanner, Verdict, scanner_for

PY = sys.executable


async def test_status_zero_is_clean_anything_else_refuses_in_the_scanner_s_words(
        tmp_path: Path) -> None:
    f = tmp_path / "incoming" / "op~up"
    f.parent.mkdir()
    f.write_bytes(b"x")
    said = "import sys; print('\\n  ' + sys.argv[1] + ': Bad FOUND'); sys.exit(1)"
    assert await CommandScanner(f'{PY} -c "import sys"', 30).scan(f) == Verdict(True)
    assert await CommandScanner(f'{PY} -c "{said}"', 30).scan(f) == \
        Verdict(False, "file: Bad FOUND")  # the first line said, without the hub's path
    silent = await CommandScanner(f'{PY} -c "raise SystemExit(2)"', 30).scan(f)
    assert silent == Verdict(False, "the file scanner refused it (exit status 2)")


async def test_a_scanner_that_hangs_or_is_missing_refuses(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x")
    hung = await CommandScanner(f'{PY} -c "import time; time.sleep(60)"', 0.5).scan(f)
    assert hung == Verdict(False, "the file scanner gave no answer in 0.5 s")
    missing = await CommandScanner(str(tmp_path / "no-such-scanner"), 5).scan(f)
    assert not missing.clean and "could not be started" in missing.said


def test_the_setting_names_a_scanner_or_none() -> None:
    assert scanner_for(Settings()) is None
    assert isinstance(scanner_for(Settings(file_scanner="clamdscan --no-summary")),
                      CommandScanner)
