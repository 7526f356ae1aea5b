"""The window's menu (the header's "⋯" button) and the shortcuts that go with it.

`WindowMenu` holds the actions that are not on screen all the time: Theme (follow the
system, light, dark), text size (Ctrl+= bigger, Ctrl+- smaller, Ctrl+0 the system's),
Show/Hide the conversation list (Ctrl+B), Keyboard shortcuts (F1, Ctrl+/), the header's
own buttons (Search, Privacy) for when a narrow window folds them away, and last (added by
`add_closing`) "Keep running in the tray when the window closes" (shown only where there
is a tray) and Quit Hearth (Ctrl+Q). The actions are added to the window too, so their
shortcuts work wherever the focus is.

Signals: theme_chosen(str) (a `ThemeMode` value), text_size_requested(int) (+1, -1, or 0
for the system's size), sidebar_toggled(), shortcuts_requested(),
keep_in_tray_chosen(bool) (the user ticked or unticked it), quit_requested().
Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from desktop.core.appearance import ThemeMode

THEME_NAMES = {
    ThemeMode.SYSTEM: "Follow the system",
    ThemeMode.LIGHT: "Light",
    ThemeMode.DARK: "Dark",
}


class WindowMenu(QMenu):
    """The header's menu; see the module docstring."""

    theme_chosen = Signal(str)
    text_size_requested = Signal(int)
    sidebar_toggled = Signal()
    shortcuts_requested = Signal()
    keep_in_tray_chosen = Signal(bool)
    quit_requested = Signal()

    def __init__(self, window: QWidget) -> None:
        super().__init__("Menu", window)
        self.setObjectName("windowMenu")
        theme_menu = self.addMenu("Theme")
        self._themes = QActionGroup(self)
        self.theme_actions: dict[ThemeMode, QAction] = {}
        for mode, name in THEME_NAMES.items():
            action = theme_menu.addAction(name)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, m=mode: self.theme_chosen.emit(m.value))
            self._themes.addAction(action)
            self.theme_actions[mode] = action
        self.addSeparator()
        self.bigger = self._action("Bigger text", ["Ctrl+=", "Ctrl++"], window)
        self.smaller = self._action("Smaller text", ["Ctrl+-"], window)
        self.reset_size = self._action("Default text size", ["Ctrl+0"], window)
        self.bigger.triggered.connect(lambda: self.text_size_requested.emit(1))
        self.smaller.triggered.connect(lambda: self.text_size_requested.emit(-1))
        self.reset_size.triggered.connect(lambda: self.text_size_requested.emit(0))
        self.addSeparator()
        self.toggle_sidebar = self._action("Hide the chat list", ["Ctrl+B"], window)
        self.toggle_sidebar.triggered.connect(self.sidebar_toggled)
        self.addSeparator()
        self.shortcuts = self._action("Keyboard shortcuts", ["F1", "Ctrl+/"], window)
        self.shortcuts.triggered.connect(self.shortcuts_requested)

    def add_page(self, text: str) -> QAction:
        """An action opening a feature's page, above the closing section (Quit stays last)."""
        action = QAction(text, self)
        closing = getattr(self, "_closing", None)
        if closing is None:
            self.addAction(action)
        else:
            self.insertAction(closing, action)
        return action

    def add_closing(self, window: QWidget) -> None:
        """The last section: keep running in the tray (hidden until there is a tray), Quit."""
        self._closing = self.addSeparator()
        self.keep_in_tray = QAction("Keep running in the tray when the window closes", self)
        self.keep_in_tray.setCheckable(True)
        self.keep_in_tray.setVisible(False)
        self.keep_in_tray.triggered.connect(self.keep_in_tray_chosen)
        self.addAction(self.keep_in_tray)
        self.quit = self._action("Quit Hearth", ["Ctrl+Q"], window)
        self.quit.triggered.connect(self.quit_requested)

    def _action(self, text: str, keys: list[str], window: QWidget) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(key) for key in keys])
        self.addAction(action)
        window.addAction(action)  # the shortcut works wherever the focus is in the window
        return action

    def show_theme(self, mode: ThemeMode) -> None:
        """Tick the theme in use."""
        self.theme_actions[mode].setChecked(True)

    def show_sidebar_visible(self, visible: bool) -> None:
        self.toggle_sidebar.setText("Hide the chat list" if visible else "Show the chat list")
