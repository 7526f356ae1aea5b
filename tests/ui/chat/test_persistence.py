"""Conversations are saved as they happen and come back after a restart (real database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import open_store
from desktop.core.errors import GenerationError
from desktop.core.types import ChatMessage
from desktop.paths import AppPaths
from desktop.storage.conversations import ConversationStore, StoredMessage
from desktop.storage.migrations import open_and_migrate
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.main_window import MainWindow
from tests.ui.chat.test_chat_window import ask, start_long_reply
from tests.ui.fakes import ChatApp


def branch(app: ChatApp, store: ConversationStore) -> list[StoredMessage]:
    assert app.controller.conversation_id is not None
    return store.branch(app.controller.conversation_id)


def test_user_message_is_committed_before_the_reply_is_requested(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    seen: list[list[tuple[str, str, str]]] = []

    def on_generate_requested(*_args: object) -> None:
        seen.append([(m.role, m.content, m.status) for m in branch(stored_app, store)])

    stored_app.controller.generate_requested.connect(on_generate_requested)
    ask(stored_app, "Hello there")
    assert seen == [[("user", "Hello there", "complete"), ("assistant", "", "streaming")]]
    [conversation] = store.list_conversations()
    assert conversation.title == "Hello there"
    assert store.last_opened_conversation_id() == conversation.id


def test_reply_is_saved_complete_with_its_stats(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    stats = ask(stored_app, "Hi")
    user, reply = branch(stored_app, store)
    assert (reply.role, reply.content, reply.status) == ("assistant", "Hello, world!", "complete")
    assert reply.parent_id == user.id
    assert reply.stats is not None
    assert reply.stats["generated_tokens"] == stats.generated_tokens == 4
    assert reply.stats["cancelled"] is False
    ask(stored_app, "Again")
    assert [m.role for m in branch(stored_app, store)] == ["user", "assistant"] * 2


def test_streaming_reply_is_saved_throttled_not_per_token(
    stored_app: ChatApp, store: ConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_app.load()
    saved: list[str] = []
    original = store.update_message_content

    def counting(message_id: int, content: str, status: object = None) -> None:
        saved.append(content)
        original(message_id, content)

    monkeypatch.setattr(store, "update_message_content", counting)
    stored_app.factory.tokens = ["word "] * 150
    stored_app.factory.token_delay_s = 0.01
    ask(stored_app, "Talk")
    assert 1 <= len(saved) <= 3  # about once a second over ~1.5 s, not 150 times
    assert branch(stored_app, store)[-1].content == "word " * 150


def test_stop_saves_the_partial_reply_as_cancelled(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    start_long_reply(stored_app)
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        stored_app.window.stop_button.click()
    reply = branch(stored_app, store)[-1]
    assert reply.status == "cancelled"
    assert reply.content.startswith("word ") and len(reply.content) < len("word ") * 5000
    assert reply.content == stored_app.assistant_texts()[-1]
    assert reply.stats is not None and reply.stats["cancelled"] is True


def test_failed_reply_keeps_its_partial_text_as_error(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    stored_app.factory.generate_error = GenerationError("the engine broke")
    stored_app.factory.fail_after_tokens = 2
    with stored_app.qtbot.waitSignal(stored_app.controller.generation_ended, timeout=3000):
        stored_app.controller.send("Break please")
    reply = branch(stored_app, store)[-1]
    assert (reply.status, reply.content) == ("error", "Hello, ")


def start_again(
    qtbot: QtBot, inference: InferenceThread, db_path: Path
) -> tuple[ChatController, MainWindow, ConversationStore]:
    store = ConversationStore(open_and_migrate(db_path))
    controller = ChatController(inference, store=store)
    window = build_main_window(controller)
    controller.resume_last_conversation()
    qtbot.addWidget(window)
    window.show()
    return controller, window, store


def test_restart_reopens_the_last_conversation(
    stored_app: ChatApp, store: ConversationStore, db_path: Path
) -> None:
    stored_app.load()
    ask(stored_app, "First question")
    ask(stored_app, "Second question")
    shown = stored_app.window.chat_view.messages()
    controller, window, second = start_again(stored_app.qtbot, stored_app.inference, db_path)
    try:
        assert controller.conversation_id == stored_app.controller.conversation_id
        assert window.chat_view.messages() == shown
        assert controller.messages == [ChatMessage(role, text) for role, text in shown]
        assert not window.chat_view.empty_state.isVisible()
    finally:
        second.db.close()


def test_reply_cut_by_a_crash_is_shown_interrupted(
    stored_app: ChatApp, store: ConversationStore, db_path: Path
) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "Tell me a story")
    store.add_message(conversation.id, "assistant", "Once upon", status="streaming")
    store.set_last_opened(conversation.id)
    _controller, window, second = start_again(stored_app.qtbot, stored_app.inference, db_path)
    try:
        assert second.branch(conversation.id)[-1].status == "incomplete"
        bubble = window.chat_view.bubbles[-1]
        assert bubble.text == "Once upon"
        assert bubble.status_note is not None
        assert bubble.status_note.text() == "(interrupted)"
        assert bubble.status_note.isVisible()
    finally:
        second.db.close()


def test_new_chat_starts_a_conversation_on_first_send(
    stored_app: ChatApp, store: ConversationStore
) -> None:
    stored_app.load()
    ask(stored_app, "One")
    first = stored_app.controller.conversation_id
    stored_app.window.new_chat_action.trigger()
    assert stored_app.controller.conversation_id is None
    assert stored_app.window.chat_view.messages() == []
    assert store.count_conversations() == 1
    ask(stored_app, "Two")
    assert stored_app.controller.conversation_id not in (None, first)
    assert stored_app.factory.requests[-1][-1] == ChatMessage("user", "Two")
    assert len(stored_app.factory.requests[-1]) == 2  # system + "Two": a fresh history
    assert stored_app.controller.open_conversation(first or 0)
    assert [text for _role, text in stored_app.window.chat_view.messages()] == [
        "One",
        "Hello, world!",
    ]


def test_unreadable_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    paths = AppPaths.resolve(tmp_path).ensure()
    garbage = b"this is not a database" * 100
    paths.database_path.write_bytes(garbage)
    store, message = open_store(paths)
    assert store is None
    assert message is not None and "will not be saved" in message
    assert paths.database_path.read_bytes() == garbage


def test_app_opens_a_new_database(tmp_path: Path) -> None:
    paths = AppPaths.resolve(tmp_path).ensure()
    store, message = open_store(paths)
    assert store is not None and message is None
    try:
        assert store.count_conversations() == 0
    finally:
        store.db.close()
