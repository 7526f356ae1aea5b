"""The tray icon: New chat, Show/Hide and Quit; "Keep running in the tray when the window
closes" (off by default, remembered) hides the window on close while a reply goes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.core.appearance import Behaviour
from desktop.ui.shell.tray import Tray, install_tray
from tests.ui.chat.test_chat_window import ask, start_long_reply
from tests.ui.fakes import ChatApp

#: Offscreen Qt has no tray; showing the icon anyway logs this.
pytestmark = pytest.mark.qt_log_ignore("systemTrayWindowChanged")


@pytest.fixture
def app() -> Iterator[QApplication]:
    instance = QApplication.instance()
    assert isinstance(instance, QApplication)
    yield instance
    instance.setQuitOnLastWindowClosed(True)  # shared by every test


def test_without_a_tray_the_choice_is_not_offered_and_closing_closes(
    chat_app: ChatApp, app: QApplication
) -> None:
    window = chat_app.window
    saved: list[Behaviour] = []
    assert install_tray(app, window, Behaviour(keep_in_tray=True), saved.append, False) is None
    assert not window.menu.keep_in_tray.isVisible()
    assert not window.keep_in_tray and app.quitOnLastWindowClosed()
    assert window.close() and not window.isVisible()


def test_keep_in_tray_is_off_by_default_then_chosen_remembered_and_applied(
    chat_app: ChatApp, app: QApplication
) -> None:
    window = chat_app.window
    saved: list[Behaviour] = []
    tray = install_tray(app, window, Behaviour(), saved.append, True)
    assert isinstance(tray, Tray)
    choice = window.menu.keep_in_tray
    assert choice.isVisible() and not choice.isChecked()
    assert window.close() and not window.isVisible()  # off: closing closes
    window.show()

    choice.trigger()  # the user ticks it in the ⋯ menu
    assert saved == [Behaviour(keep_in_tray=True)]
    assert window.keep_in_tray and not app.quitOnLastWindowClosed()
    choice.trigger()
    assert saved[-1] == Behaviour(keep_in_tray=False) and app.quitOnLastWindowClosed()


def test_closing_hides_into_the_tray_and_the_reply_goes_on_until_quit(
    chat_app: ChatApp, app: QApplication, qtbot: QtBot
) -> None:
    window = chat_app.window
    tray = install_tray(app, window, Behaviour(keep_in_tray=True), lambda _b: None, True)
    assert tray is not None and window.menu.keep_in_tray.isChecked()
    chat_app.load()
    start_long_reply(chat_app)
    chat_app.factory.tokens = ["word "] * 300  # a shorter script for the next replies
    with qtbot.waitSignal(window.hidden_to_tray, timeout=1000):
        assert not window.close()  # refused: the window only hides
    assert not window.isVisible()
    assert chat_app.controller.generating
    text = chat_app.controller.items[-1].content
    with qtbot.waitSignal(chat_app.controller.assistant_text_changed, timeout=3000):
        pass
    qtbot.waitUntil(lambda: len(window.chat_view.messages()[-1][1]) > len(text), timeout=3000)

    tray.toggle_window()  # the icon clicked: back, with the reply still streaming
    assert window.isVisible() and tray.toggle_action.text() == "Hide Hearth"
    assert chat_app.controller.generating
    chat_app.controller.stop()
    qtbot.waitUntil(lambda: not chat_app.controller.generating, timeout=3000)
    tray.toggle_window()
    assert not window.isVisible()
    tray.menu.aboutToShow.emit()
    assert tray.toggle_action.text() == "Show Hearth"

    tray.new_chat_action.trigger()  # New chat from the tray: the window, with an empty chat
    assert window.isVisible() and chat_app.controller.items == []
    ask(chat_app, "Still there?")

    with qtbot.waitSignal(window.quit_requested, timeout=1000):
        tray.quit_action.trigger()
    window.set_quitting()  # what the app does before it quits: the close is real now
    assert window.close() and not window.isVisible()
