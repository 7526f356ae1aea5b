"""Small user preferences kept as JSON in the config dir (never message text or keys).

`Preferences.load(path)` reads `privacy.json`; a missing or damaged file gives the
defaults (the network off) and is never overwritten until the user changes a setting.
Writes are atomic (temporary file, fsync, rename).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from desktop.core.network import NetworkPolicy

log = logging.getLogger(__name__)

FILE_NAME = "privacy.json"


@dataclass(frozen=True)
class Preferences:
    """The privacy settings; `network_allowed` is off by default."""

    network_allowed: bool = False

    @property
    def network(self) -> NetworkPolicy:
        return NetworkPolicy(self.network_allowed)

    @classmethod
    def load(cls, config_dir: Path) -> Preferences:
        path = Path(config_dir) / FILE_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as error:
            log.warning("ignoring unreadable preferences %s: %s", path, error)
            return cls()
        allowed = data.get("network_allowed") if isinstance(data, dict) else None
        return cls(network_allowed=allowed is True)

    def save(self, config_dir: Path) -> None:
        directory = Path(config_dir)
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".privacy-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(asdict(self), file, indent=2)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, directory / FILE_NAME)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
