"""The real window, controller and worker thread, with a scripted engine, used as a person would."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.core.errors import GenerationError, ModelLoadError
from desktop.core.types import ChatMessage, GenerationStats
from desktop.ui.chat.composer import PLACEHOLDER
from tests.ui.fakes import MODEL_PATH, ChatApp


def type_and_press_enter(qtbot: QtBot, app: ChatApp, text: str) -> None:
    qtbot.keyClicks(app.window.composer, text)
    qtbot.keyClick(app.window.composer, Qt.Key.Key_Return)


def ask(app: ChatApp, text: str) -> GenerationStats:
    """Send `text` with the keyboard and wait for the whole reply."""
    with app.qtbot.waitSignal(app.controller.generation_ended, timeout=3000) as blocker:
        type_and_press_enter(app.qtbot, app, text)
    assert blocker.args is not None
    stats = blocker.args[0]
    assert isinstance(stats, GenerationStats)
    return stats


def start_long_reply(app: ChatApp, token: str = "word ") -> None:
    app.factory.tokens = [token] * 5000
    app.factory.token_delay_s = 0.005
    with app.qtbot.waitSignal(app.controller.assistant_text_changed, timeout=3000):
        type_and_press_enter(app.qtbot, app, "Tell me everything")
    assert app.window.stop_button.isEnabled()


def test_window_starts_empty_with_a_hint(chat_app: ChatApp) -> None:
    window = chat_app.window
    assert window.windowTitle() == "Hearth"
    assert window.chat_view.empty_state.isVisible()
    assert window.composer.placeholderText() == PLACEHOLDER
    assert not window.stop_button.isEnabled()
    chat_app.load()
    assert "tiny-chat-q4" in window.model_label.text()
    assert not window.progress_bar.isVisible()


def test_reply_streams_into_the_view_then_shows_stats(chat_app: ChatApp) -> None:
    chat_app.load()
    chat_app.factory.tokens = ["alpha ", "beta ", "gamma"]
    chat_app.factory.token_delay_s = 0.06
    window = chat_app.window
    with chat_app.qtbot.waitSignal(chat_app.controller.generation_ended, timeout=3000) as ended:
        type_and_press_enter(chat_app.qtbot, chat_app, "Hello there")
        assert window.composer.toPlainText() == ""
        assert not window.chat_view.empty_state.isVisible()
        chat_app.qtbot.waitUntil(lambda: chat_app.assistant_texts() == ["alpha "], timeout=2000)
        assert window.stop_button.isEnabled()
        assert not window.send_button.isEnabled()
    assert ended.args is not None
    stats = ended.args[0]
    assert stats.generated_tokens == 3 and not stats.cancelled
    assert window.chat_view.messages() == [
        ("user", "Hello there"),
        ("assistant", "alpha beta gamma"),
    ]
    assert "alpha beta gamma" in window.chat_view.bubbles[-1].label.text()
    assert window.stats_label.text().startswith("3 tokens · ")
    assert "tok/s · first token" in window.stats_label.text()
    assert not window.stop_button.isEnabled()
    assert window.send_button.isEnabled()


def test_markdown_reply_is_rendered_with_highlighted_code(chat_app: ChatApp) -> None:
    chat_app.load()
    chat_app.factory.tokens = ["Use **this**:\n\n", "```python\n", "print('hi')\n", "```\n"]
    ask(chat_app, "Show me code")
    html = chat_app.window.chat_view.bubbles[-1].label.text()
    assert "<strong>this</strong>" in html
    assert "print" in html and "<span style=" in html  # pygments colours
    assert "```" not in html


def test_enter_sends_and_shift_enter_inserts_a_newline(chat_app: ChatApp) -> None:
    chat_app.load()
    qtbot, composer = chat_app.qtbot, chat_app.window.composer
    qtbot.keyClicks(composer, "line one")
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "line two")
    assert composer.toPlainText() == "line one\nline two"
    assert chat_app.window.chat_view.messages() == []
    with qtbot.waitSignal(chat_app.controller.generation_ended, timeout=3000):
        qtbot.keyClick(composer, Qt.Key.Key_Enter)  # the keypad's Enter sends too
    assert composer.toPlainText() == ""
    assert chat_app.window.chat_view.messages()[0] == ("user", "line one\nline two")


def test_blank_messages_are_ignored(chat_app: ChatApp) -> None:
    chat_app.load()
    qtbot = chat_app.qtbot
    qtbot.keyClicks(chat_app.window.composer, "   ")
    qtbot.keyClick(chat_app.window.composer, Qt.Key.Key_Return)
    qtbot.mouseClick(chat_app.window.send_button, Qt.MouseButton.LeftButton)
    qtbot.wait(20)
    assert chat_app.window.chat_view.messages() == []
    assert chat_app.factory.requests == []


def test_send_button_sends(chat_app: ChatApp) -> None:
    chat_app.load()
    qtbot = chat_app.qtbot
    qtbot.keyClicks(chat_app.window.composer, "Clicked")
    with qtbot.waitSignal(chat_app.controller.generation_ended, timeout=3000):
        qtbot.mouseClick(chat_app.window.send_button, Qt.MouseButton.LeftButton)
    assert chat_app.window.chat_view.messages()[0] == ("user", "Clicked")


def check_stopped_quickly(app: ChatApp, stop: object) -> None:
    start_long_reply(app)
    with app.qtbot.waitSignal(app.controller.generation_ended, timeout=2000) as ended:
        started = time.monotonic()
        assert callable(stop)
        stop()
    elapsed = time.monotonic() - started
    assert elapsed < 0.2, f"stopping took {elapsed * 1000:.0f} ms"
    assert ended.args is not None
    stats = ended.args[0]
    assert stats.cancelled and 0 < stats.generated_tokens < 5000
    # The partial reply stays, in the view and in the history the next request sees.
    partial = app.controller.messages[-1]
    assert partial.role == "assistant" and partial.content.startswith("word word")
    assert app.assistant_texts() == [partial.content]
    assert not app.window.stop_button.isEnabled()
    assert app.window.stats_label.text().endswith("stopped")
    app.factory.tokens = ["Sure."]
    ask(app, "Shorter please")
    assert app.factory.requests[-1][-2] == partial


def test_stop_button_ends_a_long_reply_within_200_ms(chat_app: ChatApp) -> None:
    chat_app.load()
    button = chat_app.window.stop_button
    check_stopped_quickly(
        chat_app, lambda: chat_app.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    )


def test_escape_ends_a_long_reply_within_200_ms(chat_app: ChatApp) -> None:
    chat_app.load()
    composer = chat_app.window.composer
    check_stopped_quickly(chat_app, lambda: chat_app.qtbot.keyClick(composer, Qt.Key.Key_Escape))


def test_send_while_generating_is_refused_and_keeps_the_text(chat_app: ChatApp) -> None:
    chat_app.load()
    start_long_reply(chat_app)
    type_and_press_enter(chat_app.qtbot, chat_app, "Another question")
    assert chat_app.window.composer.toPlainText() == "Another question"
    assert [role for role, _ in chat_app.window.chat_view.messages()] == ["user", "assistant"]
    with chat_app.qtbot.waitSignal(chat_app.controller.generation_ended, timeout=2000):
        chat_app.controller.stop()


def test_load_error_is_shown_and_a_later_load_and_send_work(chat_app: ChatApp) -> None:
    chat_app.factory.load_error = ModelLoadError("This file is not a model Hearth can read.")
    window = chat_app.window
    with chat_app.qtbot.waitSignal(chat_app.controller.error_occurred, timeout=3000):
        chat_app.controller.load_model(MODEL_PATH)
    assert window.error_banner.isVisible()
    assert window.error_label.text() == "This file is not a model Hearth can read."
    assert window.model_label.text() == "tiny-chat-q4 did not load"
    assert window.model_label.toolTip() == "This file is not a model Hearth can read."
    assert not window.progress_bar.isVisible()

    chat_app.load()
    assert not window.error_banner.isVisible()
    ask(chat_app, "Are you there?")
    assert chat_app.assistant_texts() == ["Hello, world!"]


def test_generation_error_is_shown_and_the_next_send_works(chat_app: ChatApp) -> None:
    chat_app.load()
    chat_app.factory.generate_error = GenerationError("The model ran out of memory.")
    window = chat_app.window
    with chat_app.qtbot.waitSignal(chat_app.controller.generation_ended, timeout=3000) as ended:
        type_and_press_enter(chat_app.qtbot, chat_app, "First try")
    assert ended.args == [None]
    assert window.error_banner.isVisible()
    assert window.error_label.text() == "The model ran out of memory."
    assert window.chat_view.messages() == [("user", "First try")]  # nothing typed is lost
    assert window.send_button.isEnabled() and not window.stop_button.isEnabled()

    ask(chat_app, "Second try")
    assert not window.error_banner.isVisible()
    assert window.chat_view.messages() == [
        ("user", "First try"),
        ("user", "Second try"),
        ("assistant", "Hello, world!"),
    ]
    # Roles still alternate for the model: the unanswered message joins the next one.
    assert chat_app.factory.requests[-1][-1] == ChatMessage("user", "First try\n\nSecond try")


def test_message_typed_while_the_model_loads_is_sent_once_loaded(chat_app: ChatApp) -> None:
    chat_app.factory.load_delay_s = 0.3
    window = chat_app.window
    chat_app.controller.load_model(MODEL_PATH)
    assert window.progress_bar.isVisible()
    with chat_app.qtbot.waitSignal(chat_app.controller.generation_ended, timeout=3000):
        type_and_press_enter(chat_app.qtbot, chat_app, "Early bird")
        ready_when_sent = chat_app.controller.model_ready
        assert not ready_when_sent  # typed and sent before the model was ready
        assert window.chat_view.messages() == [("user", "Early bird")]
        assert window.composer.toPlainText() == ""
    assert chat_app.controller.model_ready
    assert chat_app.factory.requests[0][-1] == ChatMessage("user", "Early bird")
    assert chat_app.assistant_texts() == ["Hello, world!"]


def test_second_request_includes_the_first_exchange(chat_app: ChatApp) -> None:
    chat_app.load()
    chat_app.factory.tokens = ["Paris."]
    ask(chat_app, "Capital of France?")
    chat_app.factory.tokens = ["About 2 million."]
    ask(chat_app, "How many people live there?")
    assert chat_app.factory.requests[-1] == [
        ChatMessage("system", "You are a test."),
        ChatMessage("user", "Capital of France?"),
        ChatMessage("assistant", "Paris."),
        ChatMessage("user", "How many people live there?"),
    ]
    assert [role for role, _ in chat_app.window.chat_view.messages()] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]


def test_tokens_of_a_stale_request_are_ignored(chat_app: ChatApp) -> None:
    chat_app.load()
    ask(chat_app, "Hi")
    worker = chat_app.inference.worker
    # Late events of finished or unknown requests, as they would arrive from the worker.
    worker.token_generated.emit(1, " STALE")
    worker.token_generated.emit(999, " STALE")
    worker.generation_failed.emit(999, "stale failure")
    chat_app.qtbot.wait(80)
    assert chat_app.assistant_texts() == ["Hello, world!"]
    assert "STALE" not in chat_app.window.chat_view.bubbles[-1].label.text()
    assert not chat_app.window.error_banner.isVisible()
    assert chat_app.controller.messages[-1] == ChatMessage("assistant", "Hello, world!")


def test_new_chat_clears_the_conversation(chat_app: ChatApp) -> None:
    chat_app.load()
    ask(chat_app, "Remember me")
    chat_app.qtbot.mouseClick(chat_app.window.new_chat_button, Qt.MouseButton.LeftButton)
    assert chat_app.window.chat_view.messages() == []
    assert chat_app.window.chat_view.empty_state.isVisible()
    ask(chat_app, "Fresh start")
    assert chat_app.factory.requests[-1][1:] == [ChatMessage("user", "Fresh start")]


def test_view_follows_the_reply_unless_the_user_scrolls_up(chat_app: ChatApp) -> None:
    chat_app.window.resize(560, 440)
    chat_app.load()
    start_long_reply(chat_app, token="A paragraph of the reply.\n\n")
    qtbot, bar = chat_app.qtbot, chat_app.window.chat_view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 150 and bar.value() == bar.maximum(), timeout=3000)

    bar.setValue(0)  # the user scrolls up to read
    assert not chat_app.window.chat_view.following
    grown_from = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > grown_from + 100, timeout=3000)
    assert bar.value() == 0

    bar.setValue(bar.maximum())  # back at the bottom: follow again
    grown_from = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > grown_from + 100, timeout=3000)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=1000)
    with qtbot.waitSignal(chat_app.controller.generation_ended, timeout=2000):
        chat_app.controller.stop()


def test_streaming_text_updates_are_throttled(chat_app: ChatApp) -> None:
    chat_app.load()
    chat_app.factory.tokens = [f"t{i} " for i in range(150)]
    chat_app.factory.token_delay_s = 0.002
    updates: list[str] = []
    chat_app.controller.assistant_text_changed.connect(updates.append)
    started = time.monotonic()
    ask(chat_app, "Count")
    elapsed_ms = (time.monotonic() - started) * 1000
    assert updates[-1] == "".join(chat_app.factory.tokens)
    assert len(updates) <= elapsed_ms / 50 + 2
    assert chat_app.assistant_texts() == [updates[-1]]
