"""Point 1 of the window's design: a window that keeps nothing says so for as long as it
lasts, and protecting the conversations later keeps the chat on screen."""

from __future__ import annotations

from desktop.storage.conversations import ConversationStore
from desktop.ui.conversations.sidebar import Sidebar
from desktop.ui.conversations.unsaved import NOT_KEPT, UnsavedSidebar
from desktop.ui.shell.app_window import NO_STORE, keep_conversations
from tests.ui.chat.test_chat_window import ask
from tests.ui.fakes import ChatApp


def test_the_not_saving_badge_and_sidebar_stay_after_the_model_loads(chat_app: ChatApp) -> None:
    window = chat_app.window
    chat_app.load()  # a ready model used to clear the only sign that nothing was kept
    window.show_error("Something else went wrong.")
    window.hide_error()
    assert window.not_saving_badge.isVisible()
    assert NO_STORE in window.not_saving_badge.toolTip()
    sidebar = window.sidebar
    assert isinstance(sidebar, UnsavedSidebar) and sidebar.isVisible()
    assert sidebar.note.text() == NOT_KEPT
    assert sidebar.reason.text() == NO_STORE
    assert not window.search_action.isEnabled()


def test_a_new_reason_shows_in_badge_and_sidebar(chat_app: ChatApp) -> None:
    window = chat_app.window
    window.set_not_saving("The passphrase was refused.")
    sidebar = window.sidebar
    assert isinstance(sidebar, UnsavedSidebar)
    assert sidebar.reason.text() == "The passphrase was refused."
    assert window.not_saving_badge.accessibleDescription() == "The passphrase was refused."


def test_protecting_later_keeps_the_chat_on_screen(
    chat_app: ChatApp, store: ConversationStore
) -> None:
    window, controller = chat_app.window, chat_app.controller
    chat_app.load()
    ask(chat_app, "Remember this")
    assert store.count_conversations() == 0
    assert keep_conversations(window, controller, store)
    assert not window.not_saving_badge.isVisible()
    assert isinstance(window.sidebar, Sidebar)
    assert window.search_action.isEnabled()
    conversation_id = controller.conversation_id
    assert conversation_id is not None and store.count_conversations() == 1
    branch = store.branch(conversation_id)
    assert [(m.role, m.content) for m in branch if m.role != "system"] == [
        ("user", "Remember this"),
        ("assistant", "Hello, world!"),
    ]
    ask(chat_app, "And this")  # the next exchange goes to the same stored conversation
    assert len(store.branch(conversation_id)) == 4


def test_protecting_is_refused_while_a_reply_streams(
    chat_app: ChatApp, store: ConversationStore
) -> None:
    chat_app.load()
    chat_app.factory.tokens = ["word "] * 2000
    chat_app.factory.token_delay_s = 0.005
    with chat_app.qtbot.waitSignal(chat_app.controller.assistant_text_changed, timeout=3000):
        chat_app.window.send_requested.emit("Talk")
    assert not keep_conversations(chat_app.window, chat_app.controller, store)
    assert chat_app.window.not_saving_badge.isVisible()
    assert store.count_conversations() == 0
