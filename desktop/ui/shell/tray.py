"""Hearth in the system tray: an icon with New chat, Show/Hide Hearth and Quit, and the
choice to keep running there when the window closes.

`Tray` owns the icon and its menu. `install_tray` adds it where the platform has a tray
(`QSystemTrayIcon.isSystemTrayAvailable()`), shows "Keep running in the tray when the
window closes" in the window's menu, and applies that choice (off by default, remembered
by the caller's `save`): closing the window then only hides it, so a reply being written
goes on; the first time, the icon says so in a notification. Clicking the icon shows or
hides the window.

Signals of `Tray`: new_chat_requested(), quit_requested().
Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMenu, QStyle, QSystemTrayIcon

from desktop.core.appearance import Behaviour
from desktop.ui.shell.main_window import MainWindow
from desktop.ui.shell.single_instance import bring_to_front

STILL_RUNNING = (
    "Hearth is still running",
    "A reply being written goes on. Click this icon to open the window again, or choose "
    "Quit from its menu.",
)


class Tray(QObject):
    """The tray icon and its menu for `window`; see the module docstring."""

    new_chat_requested = Signal()
    quit_requested = Signal()

    def __init__(self, window: MainWindow, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.new_chat_action = self.menu.addAction("New chat")
        self.toggle_action = self.menu.addAction("Hide Hearth")
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("Quit Hearth")
        self.new_chat_action.triggered.connect(self._new_chat)
        self.toggle_action.triggered.connect(self.toggle_window)
        self.quit_action.triggered.connect(self.quit_requested)
        self.menu.aboutToShow.connect(self._name_toggle)
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip("Hearth")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self._told = False

    @property
    def window_shown(self) -> bool:
        window = self._window
        return window.isVisible() and not window.isMinimized()

    @Slot()
    def toggle_window(self) -> None:
        """Hide the window if it is shown, else bring it forward."""
        if self.window_shown:
            self._window.hide()
        else:
            bring_to_front(self._window)
        self._name_toggle()

    def tell_still_running(self) -> None:
        """Say once, when the window first hides, that Hearth goes on in the tray."""
        if not self._told and self.icon.isVisible():
            self._told = True
            self.icon.showMessage(*STILL_RUNNING)

    def _new_chat(self) -> None:
        bring_to_front(self._window)
        self.new_chat_requested.emit()
        self._name_toggle()

    def _name_toggle(self) -> None:
        self.toggle_action.setText("Hide Hearth" if self.window_shown else "Show Hearth")

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window()


def install_tray(
    app: QApplication,
    window: MainWindow,
    behaviour: Behaviour,
    save: Callable[[Behaviour], None],
    available: bool | None = None,
) -> Tray | None:
    """The tray icon for `window` where the platform has a tray (`available`: what
    `QSystemTrayIcon.isSystemTrayAvailable()` says unless given); else None and the window
    closes as usual."""
    if available is None:
        available = QSystemTrayIcon.isSystemTrayAvailable()
    if not available:
        return None
    icon = app.windowIcon()
    if icon.isNull():  # no icon files (a bare checkout): a stock one rather than none
        icon = window.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
    tray = Tray(window, icon, parent=window)
    tray.new_chat_requested.connect(window.new_chat_requested)
    tray.quit_requested.connect(window.quit_requested)
    window.hidden_to_tray.connect(tray.tell_still_running)
    choice = window.menu.keep_in_tray
    choice.setVisible(True)

    def keep(on: bool, remember: bool = True) -> None:
        window.keep_in_tray = on
        choice.setChecked(on)
        # Closing the last window must not end Hearth while it lives on in the tray.
        app.setQuitOnLastWindowClosed(not on)
        if remember:
            save(Behaviour(keep_in_tray=on))

    window.menu.keep_in_tray_chosen.connect(keep)
    keep(behaviour.keep_in_tray, remember=False)
    tray.icon.show()
    return tray
