"""`BenchResults`: the last speed test of each model, kept between sessions.

One small JSON file (`{"schema_version": 1, "results": {key: result}}`) written atomically
(temporary file, fsync, replace), so a crash never leaves half a file. A missing,
unreadable or foreign file reads as empty: the figures are a convenience and never stop
the Models page from opening. Plain Python; one thread at a time.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from desktop.core.errors import ModelLibraryError
from desktop.core.files import atomic_write_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


class BenchResults:
    """Last benchmark per model key, in one small JSON file written atomically.

    Reading never raises (an unreadable file is empty); writing raises `ModelLibraryError`
    with a sentence for the user.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored `BenchResult.to_dict()` of `key` plus "measured_at", or None."""
        result = self._read().get(key)
        return dict(result) if isinstance(result, dict) else None

    def put(self, key: str, result: dict[str, Any]) -> None:
        """Keep `result` for `key` (stamped with "measured_at" unless it has one)."""
        stored = dict(result)
        stored.setdefault("measured_at", datetime.now(UTC).isoformat(timespec="seconds"))
        results = self._read()
        results[key] = stored
        self._write(results)

    def forget(self, key: str) -> None:
        results = self._read()
        if results.pop(key, None) is not None:
            self._write(results)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("speed results %s unreadable (%s); starting afresh", self.path, exc)
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
            log.warning("speed results %s not understood; starting afresh", self.path)
            return {}
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            log.warning("speed results %s come from a newer Hearth; ignored", self.path)
            return {}
        return {str(k): v for k, v in data["results"].items() if isinstance(v, dict)}

    def _write(self, results: dict[str, Any]) -> None:
        text = json.dumps({"schema_version": SCHEMA_VERSION, "results": results}, indent=2)
        try:
            atomic_write_text(self.path, text + "\n")
        except OSError as exc:
            raise ModelLibraryError(
                f"The speed test result could not be saved ({exc.strerror or exc})."
            ) from exc
