"""`Theme`: the palette and text size the window uses now, and style sheets made from them.

The theme is the user's choice (`Appearance`: light, dark, or the system's, followed live
through `QStyleHints.colorSchemeChanged`) and a text size relative to the system font
(Ctrl+= / Ctrl+- / Ctrl+0 step it by 10 %). Style sheets are templates naming the
palette's colours (`$text`, `$window`, ...) and relative font sizes (`$fs` the body size,
`$fs_small`, `$fs_title`, `$fs_large`, `$fs_huge`); `render()` fills them in, in points,
so every size follows the system font and the zoom.

Signals: changed() after the user's choice or the system's colour scheme changed.
Thread: GUI thread only.
"""

from __future__ import annotations

from dataclasses import replace
from string import Template

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from desktop.chat.palette import DARK, LIGHT, Palette
from desktop.core.appearance import Appearance, ThemeMode

#: Font sizes of the style sheets, relative to the body text.
FONT_SCALES = {"fs": 1.0, "fs_small": 0.88, "fs_title": 1.15, "fs_large": 1.3, "fs_huge": 1.75}
#: Used when the platform reports no point size (a pixel-sized system font).
FALLBACK_POINT_SIZE = 10.0


class Theme(QObject):
    """The palette and sizes in use; see the module docstring."""

    changed = Signal()

    def __init__(
        self,
        appearance: Appearance | None = None,
        base_point_size: float | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._appearance = appearance or Appearance()
        hints = QGuiApplication.styleHints()
        self._system = hints.colorScheme()
        hints.colorSchemeChanged.connect(self.on_system_scheme_changed)
        size = base_point_size or QGuiApplication.font().pointSizeF()
        self._base = size if size > 0 else FALLBACK_POINT_SIZE

    # --- what is in use ------------------------------------------------------------------

    @property
    def appearance(self) -> Appearance:
        return self._appearance

    @property
    def palette(self) -> Palette:
        mode = self._appearance.theme
        if mode is ThemeMode.SYSTEM:
            return DARK if self._system == Qt.ColorScheme.Dark else LIGHT
        return DARK if mode is ThemeMode.DARK else LIGHT

    @property
    def base_point_size(self) -> float:
        """The system's body text size (before the user's zoom)."""
        return self._base

    def point_size(self, scale: float = 1.0) -> float:
        """A font size in points: `scale` times the body text at the user's zoom."""
        return round(self._base * self._appearance.text_scale * scale, 1)

    # --- changes -------------------------------------------------------------------------

    def set_appearance(self, appearance: Appearance) -> None:
        if appearance != self._appearance:
            self._appearance = appearance
            self.changed.emit()

    def set_mode(self, mode: ThemeMode) -> None:
        self.set_appearance(replace(self._appearance, theme=mode))

    def step_text(self, steps: int) -> None:
        """Bigger (+1) or smaller (-1) text; 0 goes back to the system's size."""
        step = 0 if steps == 0 else self._appearance.text_step + steps
        self.set_appearance(self._appearance.with_text_step(step))

    @Slot(Qt.ColorScheme)
    def on_system_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        """The desktop switched light/dark (`QStyleHints.colorSchemeChanged`)."""
        before = self.palette
        self._system = scheme
        if self.palette != before:
            self.changed.emit()

    # --- applying it ---------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """The style sheet placeholders: colours and font sizes."""
        sizes = {name: f"{self.point_size(scale)}pt" for name, scale in FONT_SCALES.items()}
        return {**self.palette.colours(), **sizes}

    def render(self, template: str, **extra: str) -> str:
        """`template` with its `$name` placeholders (and `extra`) filled in; an unknown
        name raises `KeyError`."""
        return Template(template).substitute({**self.values(), **extra})

    def qpalette(self) -> QPalette:
        """Qt's palette from ours, for what style sheets do not reach (message boxes, menus)."""
        colours = self.palette
        palette = QPalette()
        roles = {
            QPalette.ColorRole.Window: colours.window,
            QPalette.ColorRole.WindowText: colours.text,
            QPalette.ColorRole.Base: colours.surface,
            QPalette.ColorRole.AlternateBase: colours.sidebar,
            QPalette.ColorRole.Text: colours.text,
            QPalette.ColorRole.Button: colours.surface,
            QPalette.ColorRole.ButtonText: colours.text,
            QPalette.ColorRole.ToolTipBase: colours.surface,
            QPalette.ColorRole.ToolTipText: colours.text,
            QPalette.ColorRole.PlaceholderText: colours.placeholder,
            QPalette.ColorRole.Highlight: colours.accent,
            QPalette.ColorRole.HighlightedText: colours.on_accent,
            QPalette.ColorRole.Link: colours.link,
            QPalette.ColorRole.BrightText: colours.error_text,
        }
        for role, colour in roles.items():
            palette.setColor(role, QColor(colour))
        for role in (
            QPalette.ColorRole.WindowText,
            QPalette.ColorRole.Text,
            QPalette.ColorRole.ButtonText,
        ):
            palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colours.disabled))
        return palette
