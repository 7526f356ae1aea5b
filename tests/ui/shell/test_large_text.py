"""With a 20 pt system font, at 600 and 1400 px wide, no text in the window is cut off:
every label and button has the room its text needs (or shortens it with "…", whole in
its tooltip), the example prompts wrap, the new chat's hint scrolls rather than being
squeezed, and the status bar's parts fit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QHelpEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QScrollArea,
    QToolTip,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.chat.session import MessageItem
from desktop.core.types import GenerationStats
from desktop.ui.common.fitting import ElidedLabel, WrappingButton
from desktop.ui.privacy.unlock_dialogs import (
    PassphraseDialog,
    RecoveryDialog,
    RecoveryKeyDialog,
    SetupDialog,
)
from desktop.ui.shell.main_window import MainWindow
from tests.ui.fakes import ChatApp
from tests.ui.privacy.test_privacy_dialog import make_dialog

LARGE_POINTS = 20.0
STATS = GenerationStats(
    prompt_tokens=41, generated_tokens=120, time_to_first_token_s=0.4, total_s=9.9
)


@pytest.fixture
def large_font(qapp: QApplication) -> Iterator[None]:
    before = QFont(qapp.font())
    font = QFont(before)
    font.setPointSizeF(LARGE_POINTS)
    qapp.setFont(font)
    yield
    qapp.setFont(before)


def shown(widget: QWidget, window: QWidget) -> bool:
    return widget.isVisibleTo(window) and widget.width() > 0 and widget.height() > 0


def clipped(window: QWidget) -> list[str]:
    """Labels and buttons shown smaller than their text needs."""
    problems = []
    for widget in window.findChildren(QWidget):
        if not shown(widget, window) or isinstance(widget, ElidedLabel):
            continue
        name = f"{type(widget).__name__} {widget.objectName()!r}"
        if isinstance(widget, QLabel) and widget.text():
            if widget.wordWrap() and widget.hasHeightForWidth():
                need = widget.heightForWidth(widget.width())
                if widget.height() < need:
                    problems.append(f"{name} {widget.text()[:30]!r}: {widget.height()} < {need}")
            elif widget.width() < widget.minimumSizeHint().width():
                problems.append(f"{name} {widget.text()[:30]!r} is too narrow")
        elif isinstance(widget, QAbstractButton) and widget.text():
            if isinstance(widget, WrappingButton):
                need = widget.heightForWidth(widget.width())
                if widget.height() < need:
                    problems.append(f"{name} {widget.text()[:30]!r}: {widget.height()} < {need}")
            elif widget.width() < widget.fontMetrics().horizontalAdvance(widget.text()):
                problems.append(f"{name} {widget.text()[:30]!r} is too narrow")
    return problems


def settle(qtbot: QtBot, window: MainWindow, width: int) -> None:
    window.resize(width, 860)
    qtbot.wait(50)  # layouts and the chat view's rows follow the new size
    QApplication.processEvents()


@pytest.mark.parametrize("width", [600, 1400])
def test_a_new_chat_and_a_conversation_fit_with_large_text(
    large_font: None, chat_app: ChatApp, qtbot: QtBot, width: int
) -> None:
    window = chat_app.window
    chat_app.load()
    window.welcome.set_builtin(True)  # the honest note and its button, as with the built-in
    settle(qtbot, window, width)
    assert clipped(window) == []
    note = window.welcome.builtin_note
    assert note.height() >= note.heightForWidth(note.width())  # scrolled to, never squeezed
    assert any(b.height() > b.fontMetrics().height() * 2 for b in window.welcome.examples) == (
        width == 600
    )  # at 600 px the longer prompts wrap onto a second line

    window.show_messages(
        [
            MessageItem(1, "user", "Write a haiku about tea"),
            MessageItem(2, "assistant", "In the morning, a cup of tea is brewed."),
        ]
    )
    window.on_generation_ended(STATS)
    window.set_status("Generating…")
    settle(qtbot, window, width)
    assert clipped(window) == []
    assert not window.status_label.cut  # what is happening now is never shortened


def test_a_cut_status_part_ends_with_an_ellipsis_and_shows_whole_in_its_tooltip(
    large_font: None, chat_app: ChatApp, qtbot: QtBot
) -> None:
    window = chat_app.window
    chat_app.load()
    window.on_generation_ended(STATS)
    window.set_status("Generating…")
    settle(qtbot, window, 480)  # the narrowest the window goes
    parts = [window.model_label, window.status_label, window.stats_label]
    assert all(isinstance(part, ElidedLabel) for part in parts)
    cut = [part for part in parts if isinstance(part, ElidedLabel) and part.cut]
    assert cut, "at 480 px with 20 pt text something must give"
    for part in cut:
        assert part.shown_text().endswith("…") and part.shown_text() != part.text()
        centre = part.rect().center()
        QApplication.sendEvent(
            part, QHelpEvent(QHelpEvent.Type.ToolTip, centre, part.mapToGlobal(centre))
        )
        assert QToolTip.text().startswith(part.text())
        QToolTip.hideText()


def test_the_privacy_page_fits_the_screen_with_large_text_and_scrolls(
    large_font: None, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = make_dialog(qtbot, tmp_path, "passphrase")
    dialog.show()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    screen = dialog.screen().availableGeometry()
    assert dialog.height() <= screen.height() and dialog.width() <= screen.width()
    assert clipped(dialog) == []
    scroll = dialog.findChild(QScrollArea)
    assert scroll is not None
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0  # 20 pt text is taller than the dialog: it scrolls
    with qtbot.waitActive(dialog):
        dialog.activateWindow()
    dialog.include_models.setFocus()
    qtbot.keyClick(dialog.include_models, Qt.Key.Key_Tab)  # on to the last section's field
    assert dialog.confirm_edit.hasFocus() and bar.value() > 0


def test_showing_the_chat_list_in_a_narrow_window_with_large_text_widens_it(
    large_font: None, stored_app: ChatApp, qtbot: QtBot
) -> None:
    window = stored_app.window
    stored_app.load()
    settle(qtbot, window, 600)
    sidebar = window.sidebar
    assert sidebar is not None and not sidebar.isVisible()  # narrow: hidden by itself
    assert clipped(window) == []
    window.toggle_sidebar()  # Ctrl+B
    settle(qtbot, window, window.width())
    assert sidebar.isVisible() and window.width() > 600
    assert clipped(window) == []
    window.toggle_sidebar()
    assert window.minimumWidth() < window.width()  # hidden again: it may be narrowed
    settle(qtbot, window, 600)
    assert window.width() == 600 and clipped(window) == []


def test_the_first_run_and_unlock_dialogs_fit_their_text_with_large_text(
    large_font: None, qtbot: QtBot
) -> None:
    for dialog in (
        SetupDialog("No keychain service is available on this system.", True, None),
        PassphraseDialog("Type the passphrase of your conversations.", None),
        RecoveryDialog("The keychain lost the key.", True, None),
        RecoveryKeyDialog("ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567-ABCD-EFGH-IJKL-MNOP"),
    ):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        QApplication.processEvents()
        screen = dialog.screen().availableGeometry()
        assert dialog.width() <= screen.width() and dialog.height() <= screen.height()
        assert clipped(dialog) == [], type(dialog).__name__
        if isinstance(dialog, SetupDialog):
            height = dialog.height()
            dialog.passphrase.setText("short")
            dialog.protect.click()  # refused: the message makes the dialog grow
            QApplication.processEvents()
            assert dialog.error.isVisible() and dialog.height() > height
            assert clipped(dialog) == []
        dialog.close()


def test_a_window_that_keeps_nothing_narrows_by_hiding_its_list_and_cuts_nothing(
    large_font: None, chat_app: ChatApp, qtbot: QtBot
) -> None:
    window = chat_app.window  # no store: the Not saving badge and the list's placeholder
    chat_app.load()
    settle(qtbot, window, 1400)
    sidebar = window.sidebar
    assert sidebar is not None and sidebar.isVisible() and window.not_saving_badge.isVisible()
    assert clipped(window) == []
    settle(qtbot, window, 600)
    assert not sidebar.isVisible()  # shown by width, so it gave way: narrowing not blocked
    assert window.width() < 1000
    assert clipped(window) == []
