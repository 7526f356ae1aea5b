"""How the window looks (the theme: light, dark or the system's; the text size) and
behaves (`Behaviour`: keep running in the tray when the window closes).

Both are kept in `settings.json` in the config dir (`load` / `save`; each save keeps the
other's keys): a missing or damaged file, or a value out of range, gives the defaults,
never an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from desktop.core.files import atomic_write_text

log = logging.getLogger(__name__)

#: Text size steps from the system's size: each is 10 % bigger or smaller.
MIN_TEXT_STEP = -3
MAX_TEXT_STEP = 8
TEXT_STEP_FACTOR = 1.1
SCHEMA_VERSION = 1


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
        data = read_settings(path)
        theme = data.get("theme")
        step = data.get("text_step")
        chosen = cls(
            theme=ThemeMode(theme) if theme in {m.value for m in ThemeMode} else ThemeMode.SYSTEM
        )
        if isinstance(step, int) and not isinstance(step, bool):
            chosen = chosen.with_text_step(step)
        return chosen

    def save(self, path: Path) -> None:
        update_settings(path, {"theme": self.theme.value, "text_step": self.text_step})


@dataclass(frozen=True)
class Behaviour:
    """What closing the window does: with `keep_in_tray` (off by default) it only hides it,
    and Hearth keeps running in the system tray."""

    keep_in_tray: bool = False

    @classmethod
    def load(cls, path: Path) -> Behaviour:
        return cls(keep_in_tray=read_settings(path).get("keep_in_tray") is True)

    def save(self, path: Path) -> None:
        update_settings(path, {"keep_in_tray": self.keep_in_tray})


def read_settings(path: Path) -> dict[str, Any]:
    """The settings file as a dict (empty when it is missing or damaged)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable settings %s: %s", path, error)
        return {}
    return data if isinstance(data, dict) else {}


def update_settings(path: Path, values: dict[str, Any]) -> None:
    """Write `values` into the settings file, keeping its other keys."""
    data = {**read_settings(path), **values, "schema_version": SCHEMA_VERSION}
    atomic_write_text(Path(path), json.dumps(data, indent=2))
