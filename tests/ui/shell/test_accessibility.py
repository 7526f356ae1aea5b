"""Every window and dialog, walked as a screen reader and a keyboard user meet it: each
interactive widget has an accessible name, each tool button a tooltip; Tab follows the
screen; Esc cancels an edit; focus comes back to the composer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QTextEdit,
    QToolButton,
    QWidget,
)
from PySide6.QtWidgets import QLabel as QLabelType
from PySide6.QtWidgets import QTabWidget as QTabWidgetType
from pytestqt.qtbot import QtBot

from desktop.inference.bench_results import BenchResults
from desktop.inference.library import ModelLibrary
from desktop.inference.probe import ModelProber
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.ui.assistants.page import AssistantsPage
from desktop.ui.models.page import ModelsPage
from desktop.ui.privacy.unlock_dialogs import (
    PassphraseDialog,
    RecoveryDialog,
    RecoveryKeyDialog,
    SetupDialog,
)
from desktop.ui.shell.main_window import MainWindow
from tests import tinymodels
from tests.ui.chat.test_chat_window import ask
from tests.ui.fakes import ChatApp
from tests.ui.privacy.test_privacy_dialog import make_dialog

INTERACTIVE = (
    QAbstractButton,
    QComboBox,
    QLineEdit,
    QAbstractSpinBox,
    QPlainTextEdit,
    QTextEdit,
    QAbstractItemView,
    QSlider,
)


def describe(widget: QWidget) -> str:
    parent = widget.parentWidget()
    where = parent.objectName() or type(parent).__name__ if parent is not None else "-"
    return f"{type(widget).__name__} {widget.objectName()!r} in {where}"


def accessibility_problems(window: QWidget) -> list[str]:
    """Unnamed interactive widgets and tool buttons without a tooltip, shown in `window`."""
    problems = []
    for widget in [window, *window.findChildren(QWidget)]:
        if not isinstance(widget, INTERACTIVE) or not widget.isVisibleTo(window):
            continue
        parent = widget.parentWidget()
        if isinstance(parent, QAbstractSpinBox | QComboBox):
            continue  # the editor inside a spin box or combo box: named with it
        interface = QAccessible.queryAccessibleInterface(widget)
        name = interface.text(QAccessible.Text.Name) if interface is not None else ""
        if isinstance(widget, QComboBox):
            name = widget.accessibleName()  # its current value is not a name
        if not name.strip():
            problems.append(f"{describe(widget)} has no accessible name")
        if isinstance(widget, QToolButton) and not widget.toolTip():
            problems.append(f"{describe(widget)} ({widget.text()!r}) has no tooltip")
    return problems


def walk(qtbot: QtBot, window: QWidget) -> list[str]:
    window.show()
    qtbot.waitExposed(window)
    return accessibility_problems(window)


@pytest.fixture
def conversation(stored_app: ChatApp) -> Iterator[ChatApp]:
    """The window with two exchanges: code, a table, a regenerated answer (versions)."""
    stored_app.load()
    stored_app.factory.tokens = ["```python\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |"]
    ask(stored_app, "Show me code")
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        stored_app.window.regenerate_requested.emit(1)
    ask(stored_app, "And again")
    yield stored_app


def test_the_main_window_and_its_dialogs_name_every_control(
    conversation: ChatApp, qtbot: QtBot
) -> None:
    window = conversation.window
    problems = walk(qtbot, window)
    bubble = window.chat_view.bubble_at(0)
    assert bubble is not None
    bubble.start_editing()
    problems += accessibility_problems(window)
    window.toggle_sidebar()
    problems += accessibility_problems(window)
    window.toggle_sidebar()
    assert window.search_dialog is not None
    window.search_requested.emit()
    qtbot.waitExposed(window.search_dialog)
    problems += accessibility_problems(window.search_dialog)
    window.search_dialog.close()
    sidebar = window.sidebar
    assert sidebar is not None
    problems += walk(qtbot, sidebar.open_trash())  # type: ignore[attr-defined]
    window.show_shortcuts()
    assert window.shortcuts_dialog is not None
    problems += walk(qtbot, window.shortcuts_dialog)
    assert problems == []


def test_the_window_without_a_store_names_every_control(chat_app: ChatApp, qtbot: QtBot) -> None:
    assert walk(qtbot, chat_app.window) == []


def test_privacy_and_unlock_dialogs_name_every_control(qtbot: QtBot, tmp_path: Path) -> None:
    privacy = make_dialog(qtbot, tmp_path, "passphrase")
    problems = walk(qtbot, privacy)
    change = privacy.open_change_passphrase()
    qtbot.addWidget(change)
    problems += walk(qtbot, change)
    for dialog in (
        PassphraseDialog("Type your passphrase.", None),
        SetupDialog("No keychain here.", False, "Use at least 8 characters."),
        RecoveryDialog("The keychain lost the key.", True, None),
        RecoveryKeyDialog("ABCD EFGH IJKL"),
    ):
        qtbot.addWidget(dialog)
        problems += walk(qtbot, dialog)
    assert problems == []


def test_models_and_assistants_pages_name_every_control(qtbot: QtBot, tmp_path: Path) -> None:
    embedded = tinymodels.write_tiny_llama_gguf(tmp_path / "builtin.gguf", name="built-in")
    library = ModelLibrary(
        tmp_path / "models", tmp_path / "models.json", embedded, ModelProber(timeout_s=60)
    )
    models = ModelsPage(library, BenchResults(tmp_path / "bench.json"))
    qtbot.addWidget(models)
    problems = walk(qtbot, models)
    for tabs in models.findChildren(QTabWidgetType):
        for index in range(tabs.count()):
            tabs.setCurrentIndex(index)
            problems += accessibility_problems(models)
    store = AssistantStore(builtin_assistants_dir(), tmp_path / "assistants")
    assistants = AssistantsPage(store, lambda: [("tiny", "Tiny")])
    qtbot.addWidget(assistants)
    problems += walk(qtbot, assistants)
    assistants.duplicate_selected()  # a user's assistant: editable fields and example cards
    problems += accessibility_problems(assistants)
    assistants.editor.revert()
    assert problems == []


def focus_chain(window: MainWindow, start: QWidget) -> list[QWidget]:
    """The widgets Tab visits from `start`, in order, once round."""
    seen: list[QWidget] = [start]
    widget = start.nextInFocusChain()
    while widget is not start and len(seen) < 500:
        if (
            widget.isVisible()
            and widget.isEnabled()
            and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and widget.window() is window
        ):
            seen.append(widget)
        widget = widget.nextInFocusChain()
    return seen


def test_tab_follows_the_screen(conversation: ChatApp) -> None:
    window = conversation.window
    sidebar = window.sidebar
    assert sidebar is not None
    chain = focus_chain(window, sidebar.list_view)  # type: ignore[attr-defined]
    expected = [
        sidebar.list_view,  # type: ignore[attr-defined]
        sidebar.trash_button,  # type: ignore[attr-defined]
        window.assistant_picker,
        window.model_picker,
        window.privacy_button,
        window.search_button,
        window.new_chat_button,
        window.menu_button,
        window.composer,
        window.send_button,
    ]
    expected = [widget for widget in expected if widget.isVisible()]  # pickers: no profiles
    assert len(expected) >= 8
    positions = [chain.index(widget) for widget in expected]
    assert positions == sorted(positions)


def test_esc_cancels_an_edit_and_focus_returns_to_the_composer(
    conversation: ChatApp, qtbot: QtBot
) -> None:
    window = conversation.window
    with qtbot.waitActive(window):
        window.activateWindow()
    bubble = window.chat_view.bubble_at(0)
    assert bubble is not None
    editor = bubble.start_editing()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not bubble.editing
    assert QApplication.focusWidget() is window.composer
    assert conversation.controller.items[0].content == "Show me code"  # nothing was sent
    window.assistant_picker.setFocus()
    window.assistant_picker.chosen.emit("writer")
    assert QApplication.focusWidget() is window.composer
    window.model_picker.setFocus()
    window.new_chat_action.trigger()
    assert QApplication.focusWidget() is window.composer


def test_the_shortcuts_window_opens_with_f1_and_ctrl_slash(
    conversation: ChatApp, qtbot: QtBot
) -> None:
    window = conversation.window
    with qtbot.waitActive(window):
        window.activateWindow()
    keys = {key.toString() for key in window.menu.shortcuts.shortcuts()}
    assert keys == {"F1", "Ctrl+/"}
    window.menu.shortcuts.trigger()
    dialog = window.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    texts = [label.text() for label in dialog.findChildren(QLabelType)]
    assert "Ctrl+B" in texts and "Show or hide the chat list" in texts
    dialog.reject()
    assert QApplication.focusWidget() is window.composer
