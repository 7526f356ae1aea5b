"""Logging: a rotating file in the log dir and terse errors on stderr. Never message text.

Hearth logs events (model loaded, generation finished with token counts, errors),
never what the user or the model wrote.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

LOG_FILE = "hearth.log"


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; a record that cannot be written (a full disk) is dropped silently.

    logging's default prints a traceback to stderr for every such record, which would bury
    the one sentence the user needs ("the disk is full") under pages of them.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        return


def setup_logging(log_dir: Path | None, console_level: int = logging.ERROR) -> Path | None:
    """Configure the root logger; returns the log file path (None when no dir was given)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        if getattr(handler, "_hearth", False):
            root.removeHandler(handler)
            handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter("hearth: %(levelname)s: %(message)s"))
    console._hearth = True  # type: ignore[attr-defined]
    root.addHandler(console)
    if log_dir is None:
        return None
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    handler = _LogFile(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    handler._hearth = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return path
