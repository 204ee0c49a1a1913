"""Structured JSON logs, one object per line.

JSON encoding escapes CR, LF, ESC and every other control character, so a
hostile username or header cannot forge log lines or drive a terminal.
Secrets never reach here: callers log ids, never tokens or passwords.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

__all__ = ["DropFrameTraces", "JsonFormatter", "RedactHookPaths", "configure_logging",
           "redact_path", "silence_frame_traces"]

_HOOK_PATH = re.compile(r"^(/hooks/[^/]*/[^/]*/)[^/?#]+")


def redact_path(path: str) -> str:
    """A request path fit for a log: an incoming webhook's secret becomes ``***``."""
    return _HOOK_PATH.sub(r"\1***", path)

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName",
                                                     "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True)


class DropFrameTraces(logging.Filter):
    """Drops the WebSocket library's per-frame debug traces.

    At DEBUG, the websockets protocol (which uvicorn runs with its
    ``uvicorn.error`` logger) logs every frame it sends and receives, which
    would put hello tokens and message bodies in the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg[:2] in ("< ", "> "))


class RedactHookPaths(logging.Filter):
    """Takes incoming webhooks' secrets out of uvicorn's access log lines.

    The hub runs uvicorn without an access log; a deployment that turns it
    on still never writes a webhook's secret (it is in the path, by the
    convention of the scripts that post to it).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "/hooks/" in a
                                                  for a in record.args):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def silence_frame_traces() -> None:
    """Install the filters that keep secrets out of the web server's own log lines."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DropFrameTraces) for f in logger.filters):
        logger.addFilter(DropFrameTraces())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactHookPaths) for f in access.filters):
        access.addFilter(RedactHookPaths())


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
