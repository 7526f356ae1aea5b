"""How the window looks: the theme (light, dark or the system's) and the text size.

Kept in `settings.json` in the config dir (`Appearance.load` / `save`): a missing or
damaged file, or a value out of range, gives the defaults, never an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path

from desktop.core.files import atomic_write_text

log = logging.getLogger(__name__)

#: Text size steps from the system's size: each is 10 % bigger or smaller.
MIN_TEXT_STEP = -3
MAX_TEXT_STEP = 8
TEXT_STEP_FACTOR = 1.1


class ThemeMode(StrEnum):
    """The theme the user chose; SYSTEM follows the desktop's light or dark setting."""

    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True)
class Appearance:
    """The theme and the text size step (0: the system's size)."""

    theme: ThemeMode = ThemeMode.SYSTEM
    text_step: int = 0

    @property
    def text_scale(self) -> float:
        """The factor applied to the system font size."""
        return float(TEXT_STEP_FACTOR**self.text_step)

    def with_text_step(self, step: int) -> Appearance:
        return replace(self, text_step=max(MIN_TEXT_STEP, min(MAX_TEXT_STEP, step)))

    @classmethod
    def load(cls, path: Path) -> Appearance:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as error:
            log.warning("ignoring unreadable settings %s: %s", path, error)
            return cls()
        if not isinstance(data, dict):
            return cls()
        theme = data.get("theme")
        step = data.get("text_step")
        chosen = cls(
            theme=ThemeMode(theme) if theme in {m.value for m in ThemeMode} else ThemeMode.SYSTEM
        )
        if isinstance(step, int) and not isinstance(step, bool):
            chosen = chosen.with_text_step(step)
        return chosen

    def save(self, path: Path) -> None:
        data = {"schema_version": 1, **asdict(self)}
        data["theme"] = self.theme.value
        atomic_write_text(Path(path), json.dumps(data, indent=2))
