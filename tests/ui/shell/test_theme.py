"""Themes as the user meets them: the app follows the system's light/dark switch live,
every window and dialog takes the same palette (nothing leaks from the main window into
a dialog), code is highlighted in the theme's style, and the text size follows Ctrl+=."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from desktop.chat.palette import DARK, LIGHT, contrast_ratio
from desktop.core.appearance import Appearance, ThemeMode
from desktop.storage.conversations import ConversationStore
from desktop.ui.common.theme import Theme
from desktop.ui.conversations.trash import TrashDialog
from desktop.ui.shell.app_window import connect_theme
from desktop.ui.shell.style import APP_STYLE, resource_path, style_sheet
from tests.ui.chat.test_chat_window import ask
from tests.ui.fakes import ChatApp


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[Theme]:
    """A theme applied to the whole application; the application restored afterwards."""
    from desktop.ui.shell.style import apply_theme

    font, palette = qapp.font(), qapp.palette()
    flush_deleted_widgets()
    theme = Theme(Appearance(ThemeMode.LIGHT), base_point_size=10.0)
    apply_theme(qapp, theme)
    yield theme
    theme.changed.disconnect()
    flush_deleted_widgets()
    qapp.setStyleSheet("")
    qapp.setPalette(palette)
    qapp.setFont(font)


def flush_deleted_widgets() -> None:
    """Delete the widgets earlier tests closed: restyling the application repolishes every
    widget, and one half-way through `deleteLater` crashes it."""
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


def text_on_background(widget: QWidget) -> float:
    """The contrast of `widget`'s text against the window it sits in, as Qt resolved it."""
    widget.ensurePolished()
    window = widget.window()
    window.ensurePolished()
    text = widget.palette().color(QPalette.ColorRole.WindowText)
    back = window.palette().color(QPalette.ColorRole.Window)
    return contrast_ratio(text.name(), back.name())


def test_every_template_renders_in_both_themes(themed: Theme) -> None:
    for mode in (ThemeMode.LIGHT, ThemeMode.DARK):
        themed.set_mode(mode)
        sheet = style_sheet(themed)
        assert "$" not in sheet
        assert themed.palette.text in sheet and themed.palette.focus in sheet
    for name in ("chevron-down.png", "chevron-up.png", "check.png"):  # PNG: no image plugin
        image = resource_path("icons", name)
        assert not QImage(str(image)).isNull() and image.as_posix() in sheet
    assert "#1f2328" not in APP_STYLE  # colours come from the palette, by name


def test_follows_the_system_colour_scheme_live(themed: Theme, qapp: QApplication) -> None:
    themed.set_mode(ThemeMode.SYSTEM)
    hints = qapp.styleHints()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what the desktop's switch sends
    assert themed.palette is DARK
    assert qapp.palette().color(QPalette.ColorRole.Window) == QColor(DARK.window)
    assert DARK.window in qapp.styleSheet()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert themed.palette is LIGHT
    themed.set_mode(ThemeMode.DARK)  # an explicit choice wins over the system's
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert themed.palette is DARK


@pytest.mark.parametrize("mode", [ThemeMode.LIGHT, ThemeMode.DARK])
def test_dialogs_over_the_window_are_readable_in_both_themes(
    themed: Theme, stored_app: ChatApp, store: ConversationStore, mode: ThemeMode
) -> None:
    themed.set_mode(mode)
    window = stored_app.window
    trash = TrashDialog(store, window)
    stored_app.qtbot.addWidget(trash)
    trash.show()
    labels = [w for w in (window, trash) for w in w.findChildren(QLabel) if w.text()]
    assert labels
    for label in labels:
        assert text_on_background(label) >= 4.5, label.text()
    expected = QColor(themed.palette.window)
    assert trash.palette().color(QPalette.ColorRole.Window) == expected
    assert window.palette().color(QPalette.ColorRole.Window) == expected


def test_code_follows_the_theme_and_the_menu_switches_it(
    themed: Theme, chat_app: ChatApp, qtbot: QtBot
) -> None:
    connect_theme(chat_app.window, themed)
    chat_app.load()
    chat_app.factory.tokens = ["```python\n", "x = 1\n", "```"]
    ask(chat_app, "Code please")
    assert LIGHT.code in chat_app.window.renderer.render("```\nx\n```")
    chat_app.window.menu.theme_actions[ThemeMode.DARK].trigger()
    assert themed.appearance.theme is ThemeMode.DARK
    assert chat_app.window.menu.theme_actions[ThemeMode.DARK].isChecked()
    bubble = chat_app.window.chat_view.bubbles[-1]
    assert DARK.code in bubble.label.text() and LIGHT.code not in bubble.label.text()


def test_text_size_steps_with_the_keyboard_and_back(
    themed: Theme, chat_app: ChatApp, qapp: QApplication
) -> None:
    connect_theme(chat_app.window, themed)
    window = chat_app.window
    base = qapp.font().pointSizeF()
    window.menu.bigger.trigger()
    window.menu.bigger.trigger()
    assert themed.appearance.text_step == 2
    assert qapp.font().pointSizeF() == pytest.approx(base * 1.21, abs=0.1)
    assert f"font-size: {themed.point_size()}pt" in qapp.styleSheet()
    window.menu.reset_size.trigger()
    assert qapp.font().pointSizeF() == pytest.approx(base, abs=0.05)
    window.menu.smaller.trigger()
    assert qapp.font().pointSizeF() < base
    shortcuts = {key.toString() for key in window.menu.bigger.shortcuts()}
    assert shortcuts == {"Ctrl+=", "Ctrl++"}


@pytest.mark.parametrize("mode", [ThemeMode.LIGHT, ThemeMode.DARK])
def test_the_focused_control_shows_a_ring_in_the_focus_colour(
    themed: Theme, chat_app: ChatApp, qtbot: QtBot, mode: ThemeMode
) -> None:
    themed.set_mode(mode)
    window = chat_app.window
    with qtbot.waitActive(window):
        window.activateWindow()
    ring = QColor(themed.palette.focus)

    def ring_pixels(widget: QWidget) -> int:
        image = widget.grab().toImage()
        return sum(
            image.pixelColor(x, y) == ring
            for x in range(image.width())
            for y in (0, 1, image.height() // 2, image.height() - 2, image.height() - 1)
        )

    for widget in (window.new_chat_button, window.menu_button):
        before = ring_pixels(widget)
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(widget.hasFocus)
        assert ring_pixels(widget) > before + 10, widget.objectName()
