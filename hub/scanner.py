"""An outside scanner's word on a file before anyone may see it (``file_scanner``).

The setting is a command line; the hub runs it (no shell) with the path of the file
as received appended, once the last byte is in and before the file is kept or shown.
Exit status 0 means clean; anything else, or no answer within
``file_scanner_timeout_seconds``, refuses the file (fail closed) and the first line
the scanner printed says why. ClamAV's ``clamdscan --no-summary`` and ``clamscan``
follow that convention (1: found, 2: error), and an ICAP server (RFC 3507) is
reached the same way through its command-line client, such as c-icap's
``c-icap-client -s srv_clamav -f``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from dataclasses import dataclass
from pathlib import Path

from hub.config import Settings

__all__ = ["CommandScanner", "Verdict", "scanner_for"]

#: What of a scanner's output is kept for the refusal (its first line, this long).
SAID = 200


@dataclass(frozen=True, slots=True)
class Verdict:
    clean: bool
    said: str = ""  # why not, in the scanner's words


class CommandScanner:
    def __init__(self, command: str, timeout: float) -> None:
        self._argv = shlex.split(command)
        self._timeout = timeout

    async def scan(self, path: Path) -> Verdict:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._argv, str(path), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        except OSError as exc:
            return Verdict(False, f"the file scanner could not be started ({exc.strerror})")
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self._timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return Verdict(False, f"the file scanner gave no answer in {self._timeout:g} s")
        if proc.returncode == 0:
            return Verdict(True)
        said = out.decode("utf-8", "replace").replace(str(path), "file")  # not our layout
        first = next((line.strip() for line in said.splitlines() if line.strip()), "")
        return Verdict(False, first[:SAID] or f"the file scanner refused it "
                                              f"(exit status {proc.returncode})")


def scanner_for(settings: Settings) -> CommandScanner | None:
    """The scanner ``file_scanner`` names, if any."""
    return CommandScanner(settings.file_scanner, settings.file_scanner_timeout_seconds) \
        if settings.file_scanner.strip() else None
