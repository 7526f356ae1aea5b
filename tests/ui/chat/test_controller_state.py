"""The controller's state made explicit: one model state, one reply phase, truthful errors.

Real window, controller, worker thread and (encrypted) store; a fake engine.
"""

from __future__ import annotations

import logging

import pytest

from desktop.chat.model_state import ModelPhase, ModelState
from desktop.chat.reply import ReplyPhase
from desktop.chat.session import ConversationSession
from tests.ui.chat.test_chat_window import ask, start_long_reply
from tests.ui.fakes import MODEL_PATH, ChatApp


def test_the_model_slot_goes_loading_then_ready_and_the_status_bar_follows(
    chat_app: ChatApp,
) -> None:
    seen: list[ModelState] = []
    chat_app.controller.model_slot.changed.connect(seen.append)
    chat_app.load()
    phases = [state.phase for state in seen]
    assert phases[0] is ModelPhase.LOADING and phases[-1] is ModelPhase.READY
    ready = chat_app.controller.model_state
    assert ready.key == MODEL_PATH and ready.description is not None
    assert chat_app.window.model_label.text().endswith(ready.description.name)
    chat_app.controller.unload_model()
    assert chat_app.controller.model_state == ModelState()
    assert chat_app.window.model_label.text() == "No model loaded"


def test_the_reply_phase_streams_stops_and_returns_to_idle(chat_app: ChatApp) -> None:
    chat_app.load()
    phases: list[ReplyPhase] = []
    chat_app.controller.reply_phase_changed.connect(phases.append)
    start_long_reply(chat_app)
    assert chat_app.controller.reply_phase is ReplyPhase.STREAMING
    with chat_app.qtbot.waitSignal(chat_app.controller.generation_ended, timeout=3000):
        chat_app.controller.stop()
    assert phases == [ReplyPhase.STREAMING, ReplyPhase.STOPPING, ReplyPhase.IDLE]


def test_a_message_sent_while_loading_waits_then_streams(chat_app: ChatApp) -> None:
    chat_app.factory.load_delay_s = 0.3
    phases: list[ReplyPhase] = []
    chat_app.controller.reply_phase_changed.connect(phases.append)
    chat_app.controller.load_model(MODEL_PATH)
    with chat_app.qtbot.waitSignal(chat_app.controller.generation_ended, timeout=5000):
        assert chat_app.controller.send("Hello?")
        assert chat_app.controller.reply_phase is ReplyPhase.WAITING
    assert phases == [ReplyPhase.WAITING, ReplyPhase.IDLE, ReplyPhase.STREAMING, ReplyPhase.IDLE]


def test_an_unexpected_error_is_logged_with_its_traceback_and_said(
    stored_app: ChatApp, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_app.load()
    ask(stored_app, "Hello")

    def broken(self: ConversationSession, text: str) -> object:
        raise RuntimeError("the unexpected")

    monkeypatch.setattr(ConversationSession, "add_question", broken)
    errors: list[str] = []
    stored_app.controller.error_occurred.connect(errors.append)
    with caplog.at_level(logging.ERROR):
        assert not stored_app.controller.send("Again")
    assert errors == [
        "Something went wrong (RuntimeError: the unexpected); the conversation is saved as "
        "it was. Details are in the log."
    ]
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None and "the unexpected" in str(record.exc_info[1])
    assert not stored_app.controller.busy
    assert [m.content for m in stored_app.controller.messages] == ["Hello", "Hello, world!"]


def test_a_message_that_is_gone_is_said_as_such(stored_app: ChatApp) -> None:
    stored_app.load()
    ask(stored_app, "Hello")
    statuses: list[str] = []
    stored_app.controller.status_changed.connect(statuses.append)
    assert not stored_app.controller.regenerate(7)
    assert statuses == ["That message is no longer shown; choose it again."]
