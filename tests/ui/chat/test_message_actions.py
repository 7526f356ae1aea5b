"""Message actions in the real window with a real database: copy, edit into a new branch,
regenerate into a sibling version, move between versions, continue an interrupted reply."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from desktop.core.types import ChatMessage
from desktop.storage.conversations import ConversationStore
from desktop.ui.chat.bubble import MessageBubble
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from tests.ui.chat.test_chat_window import ask, start_long_reply
from tests.ui.fakes import ChatApp, FakeEngineFactory


def shown(app: ChatApp) -> list[tuple[str, str]]:
    return app.window.chat_view.messages()


def stored_branch(app: ChatApp, store: ConversationStore) -> list[tuple[str, str]]:
    assert app.controller.conversation_id is not None
    return [(m.role, m.content) for m in store.branch(app.controller.conversation_id)]


def bubble(app: ChatApp, index: int) -> MessageBubble:
    found = app.window.chat_view.bubble_at(index)
    assert found is not None, f"no bubble at {index}"
    return found


def click(app: ChatApp, index: int, action: str) -> None:
    button = bubble(app, index).buttons[action]
    app.qtbot.waitUntil(button.isVisible, timeout=1000)  # a rebuilt row shows on the next loop
    assert button.isEnabled(), f"{action} is not available"
    app.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_copy_puts_the_message_source_on_the_clipboard(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    stored_app.factory.tokens = ["**bold** ", "and `code`"]
    ask(stored_app, "Format something")
    click(stored_app, 1, "copy")
    assert QGuiApplication.clipboard().text() == "**bold** and `code`"
    assert "Copied" in stored_app.window.status_label.text()
    click(stored_app, 0, "copy")
    assert QGuiApplication.clipboard().text() == "Format something"


def test_regenerate_adds_a_version_and_the_arrows_move_between_them(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    stored_app.factory.tokens = ["first ", "answer"]
    ask(stored_app, "Question")
    assert not bubble(stored_app, 1).buttons["previous"].isVisible()  # one version only

    stored_app.factory.tokens = ["second ", "answer"]
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        click(stored_app, 1, "regenerate")
    assert shown(stored_app) == [("user", "Question"), ("assistant", "second answer")]
    assert bubble(stored_app, 1).version_label.text() == "2/2"
    # The model was asked the same question again, without the first answer.
    assert stored_app.factory.requests[-1][1:] == [ChatMessage("user", "Question")]

    click(stored_app, 1, "previous")
    assert shown(stored_app) == [("user", "Question"), ("assistant", "first answer")]
    assert bubble(stored_app, 1).version_label.text() == "1/2"
    assert stored_branch(stored_app, store)[-1] == ("assistant", "first answer")
    assert not bubble(stored_app, 1).buttons["previous"].isEnabled()
    click(stored_app, 1, "next")
    assert shown(stored_app)[-1] == ("assistant", "second answer")


def test_editing_a_question_starts_a_branch_and_keeps_the_old_one(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    stored_app.factory.tokens = ["answer ", "one"]
    ask(stored_app, "Tell me about cats")
    stored_app.factory.tokens = ["answer ", "two"]
    ask(stored_app, "And kittens?")

    click(stored_app, 0, "edit")
    editor = bubble(stored_app, 0).start_editing()
    assert editor.toPlainText() == "Tell me about cats"
    editor.clear()
    stored_app.factory.tokens = ["dogs ", "answer"]
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        stored_app.qtbot.keyClicks(editor, "Tell me about dogs")
        stored_app.qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert shown(stored_app) == [("user", "Tell me about dogs"), ("assistant", "dogs answer")]
    assert stored_app.factory.requests[-1][1:] == [ChatMessage("user", "Tell me about dogs")]
    assert bubble(stored_app, 0).version_label.text() == "2/2"

    # The old branch, with everything that followed it, is one click away.
    click(stored_app, 0, "previous")
    assert shown(stored_app) == [
        ("user", "Tell me about cats"),
        ("assistant", "answer one"),
        ("user", "And kittens?"),
        ("assistant", "answer two"),
    ]
    assert stored_branch(stored_app, store) == shown(stored_app)


def test_escape_cancels_an_edit_and_nothing_changes(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    ask(stored_app, "Keep me")
    editor = bubble(stored_app, 0).start_editing()
    stored_app.qtbot.keyClicks(editor, " changed")
    stored_app.qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not bubble(stored_app, 0).editing
    assert shown(stored_app)[0] == ("user", "Keep me")
    assert len(store.messages(stored_app.controller.conversation_id or 0)) == 2


def test_actions_are_disabled_while_a_reply_streams(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    ask(stored_app, "First")
    start_long_reply(stored_app)
    assert not bubble(stored_app, 1).buttons["regenerate"].isEnabled()
    assert not bubble(stored_app, 0).buttons["edit"].isEnabled()
    assert bubble(stored_app, 0).buttons["copy"].isEnabled()
    assert not stored_app.controller.regenerate(1)  # refused, not queued
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        stored_app.controller.stop()
    assert bubble(stored_app, 1).buttons["regenerate"].isEnabled()


def test_a_stopped_reply_can_be_continued(stored_app: ChatApp, store: ConversationStore) -> None:
    stored_app.load()
    start_long_reply(stored_app, token="word ")
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        stored_app.controller.stop()
    partial = stored_app.assistant_texts()[-1]
    assert partial.startswith("word ")
    last = bubble(stored_app, 1)
    assert last.status_note.text() == "(stopped)"

    stored_app.factory.tokens = ["and ", "the ", "end."]
    stored_app.factory.token_delay_s = 0.002
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        click(stored_app, 1, "continue")
    # The model saw the partial reply as the start of its answer, and went on from it.
    assert stored_app.factory.requests[-1][-1] == ChatMessage("assistant", partial)
    assert stored_app.assistant_texts() == [partial + "and the end."]
    assert stored_branch(stored_app, store)[-1] == ("assistant", partial + "and the end.")
    assert not bubble(stored_app, 1).buttons["continue"].isVisible()
    assert not bubble(stored_app, 1).status_note.isVisible()


def test_a_reply_interrupted_by_a_crash_offers_continue_and_regenerate(
    qtbot: QtBot,
    factory: FakeEngineFactory,
    inference: InferenceThread,
    store: ConversationStore,
) -> None:
    # What a crash leaves: a question and a reply still marked `streaming`.
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "Write a long story")
    reply = store.add_message(conversation.id, "assistant", "", status="streaming")
    store.update_message_content(reply.id, "Once upon a time")
    store.set_last_opened(conversation.id)

    controller = ChatController(inference, system_prompt="You are a test.", store=store)
    window = build_main_window(controller)
    qtbot.addWidget(window)
    assert controller.resume_last_conversation()
    window.show()
    app = ChatApp(factory, inference, controller, window, qtbot)
    last = bubble(app, 1)
    assert last.text == "Once upon a time"
    assert last.status_note.text() == "(interrupted)"
    assert last.buttons["continue"].isVisible() and last.buttons["regenerate"].isVisible()

    app.load()
    factory.tokens = [" there ", "was a cat."]
    with qtbot.waitSignal(controller.generation_ended, timeout=3000):
        click(app, 1, "continue")
    assert app.assistant_texts() == ["Once upon a time there was a cat."]
    assert store.get_message(reply.id) is not None
    final = store.get_message(reply.id)
    assert final is not None and final.status == "complete"

    factory.tokens = ["Another ", "story."]
    with qtbot.waitSignal(controller.generation_ended, timeout=3000):
        click(app, 1, "regenerate")
    assert app.assistant_texts() == ["Another story."]
    assert bubble(app, 1).version_label.text() == "2/2"


def test_opening_a_message_from_another_branch_shows_that_branch(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    stored_app.factory.tokens = ["zebra ", "facts"]
    ask(stored_app, "Tell me about zebras")
    conversation_id = stored_app.controller.conversation_id
    assert conversation_id is not None
    old_reply = store.branch(conversation_id)[-1]
    stored_app.factory.tokens = ["other ", "facts"]
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        stored_app.controller.regenerate(1)
    assert stored_app.assistant_texts() == ["other facts"]
    stored_app.controller.new_conversation()

    with stored_app.qtbot.waitSignal(stored_app.controller.message_focus_requested) as focus:
        assert stored_app.controller.open_conversation(conversation_id, old_reply.id)
    assert focus.args == [1]
    assert stored_app.assistant_texts() == ["zebra facts"]
    assert bubble(stored_app, 1).property("highlighted") is True


def test_ctrl_k_finds_a_word_and_opens_its_conversation_at_that_message(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    from desktop.ui.conversations.search import SearchDialog

    stored_app.load()
    stored_app.factory.tokens = ["Quokkas ", "live ", "on ", "Rottnest."]
    ask(stored_app, "Where do quokkas live?")
    wanted = stored_app.controller.conversation_id
    stored_app.factory.tokens = ["Something ", "else."]
    stored_app.controller.new_conversation()
    ask(stored_app, "Tell me about otters")
    window = stored_app.window
    assert stored_app.controller.conversation_id != wanted

    with stored_app.qtbot.waitActive(window):
        window.activateWindow()
    stored_app.qtbot.keyClick(window.composer, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    dialog = window.search_dialog
    assert isinstance(dialog, SearchDialog)
    stored_app.qtbot.waitUntil(dialog.isVisible, timeout=1000)
    stored_app.qtbot.keyClicks(dialog.query_edit, "rottn")
    stored_app.qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=2000)
    with stored_app.qtbot.waitSignal(stored_app.controller.message_focus_requested) as focus:
        stored_app.qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Return)
    assert stored_app.controller.conversation_id == wanted
    assert focus.args == [1]
    assert stored_app.assistant_texts() == ["Quokkas live on Rottnest."]
    assert not dialog.isVisible()
