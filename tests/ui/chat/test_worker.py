"""The inference worker on its own thread, driven through `InferenceThread`'s signals."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from pytestqt.qtbot import QtBot

from desktop.core.errors import GenerationError, ModelLoadError, ModelRefusedError
from desktop.core.types import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    LoadOptions,
    ModelDescription,
)
from desktop.ui.chat.worker import InferenceThread
from tests.ui.fakes import FakeEngineFactory, WorkerEvents

PATH = "/models/tiny-chat-q4.gguf"
MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")]


@pytest.fixture
def events(inference: InferenceThread) -> WorkerEvents:
    return WorkerEvents(inference.worker)


def load(
    qtbot: QtBot, inference: InferenceThread, events: WorkerEvents, request_id: int = 1
) -> ModelDescription:
    with qtbot.waitSignal(events.model_loaded, timeout=3000) as blocker:
        inference.load_requested.emit(request_id, PATH, LoadOptions())
    assert blocker.args is not None
    assert blocker.args[0] == request_id
    description = blocker.args[1]
    assert isinstance(description, ModelDescription)
    return description


def test_load_reports_progress_and_description(
    qtbot: QtBot, inference: InferenceThread, events: WorkerEvents, factory: FakeEngineFactory
) -> None:
    progress: list[float] = []
    events.load_progress.connect(progress.append)
    description = load(qtbot, inference, events, request_id=7)
    assert description.name == "tiny-chat-q4"
    assert description.path == PATH
    assert description.engine == "fake"
    assert description.n_ctx == factory.n_ctx
    assert description.load_time_s >= 0
    qtbot.waitUntil(lambda: len(progress) == 5, timeout=1000)
    assert progress == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert threading.get_ident() not in factory.last.threads


@pytest.mark.parametrize("where", ["factory", "load"])
def test_load_failure_is_reported_with_its_message(
    qtbot: QtBot,
    inference: InferenceThread,
    events: WorkerEvents,
    factory: FakeEngineFactory,
    where: str,
) -> None:
    if where == "factory":
        factory.create_error = ModelRefusedError("Not a model file.")
    else:
        factory.load_error = ModelLoadError("Not a model file.")
    with qtbot.waitSignal(events.model_load_failed, timeout=3000) as blocker:
        inference.load_requested.emit(3, PATH, LoadOptions())
    assert blocker.args == [3, "Not a model file."]
    assert all(engine.closed for engine in factory.engines)
    load(qtbot, inference, events, request_id=4)  # the worker keeps working


def test_generate_streams_tokens_then_stats(
    qtbot: QtBot, inference: InferenceThread, events: WorkerEvents, factory: FakeEngineFactory
) -> None:
    load(qtbot, inference, events)
    tokens: list[tuple[int, str]] = []
    events.token_generated.connect(lambda rid, text: tokens.append((rid, text)))
    with qtbot.waitSignal(events.generation_finished, timeout=3000) as blocker:
        inference.generate_requested.emit(2, MESSAGES, GenerationParams(), 0)
    assert blocker.args is not None
    request_id, stats = blocker.args
    assert request_id == 2
    assert tokens == [(2, t) for t in factory.tokens]
    assert isinstance(stats, GenerationStats)
    assert not stats.cancelled
    assert stats.generated_tokens == len(factory.tokens)
    assert threading.get_ident() not in factory.last.threads  # all calls on the worker thread
    assert stats.prompt_tokens == factory.last.count_prompt_tokens(MESSAGES)
    assert 0 < stats.time_to_first_token_s <= stats.total_s
    assert factory.last.requests == [MESSAGES]  # everything fits a large window


def test_cancel_stops_a_long_generation_quickly(
    qtbot: QtBot, inference: InferenceThread, events: WorkerEvents, factory: FakeEngineFactory
) -> None:
    load(qtbot, inference, events)
    factory.tokens = ["word "] * 5000
    factory.token_delay_s = 0.01
    with qtbot.waitSignal(events.token_generated, timeout=3000):
        inference.generate_requested.emit(5, MESSAGES, GenerationParams(), 0)
    with qtbot.waitSignal(events.generation_finished, timeout=1000) as blocker:
        started = time.monotonic()
        inference.cancel()  # a plain call: the worker thread is busy streaming
    assert time.monotonic() - started < 0.2
    assert blocker.args is not None
    stats = blocker.args[1]
    assert stats.cancelled
    assert 0 < stats.generated_tokens < 5000

    # The token is reset for the next request.
    factory.tokens = ["again"]
    with qtbot.waitSignal(events.generation_finished, timeout=3000) as blocker:
        inference.generate_requested.emit(6, MESSAGES, GenerationParams(), 0)
    assert blocker.args is not None
    assert not blocker.args[1].cancelled
    assert blocker.args[1].generated_tokens == 1


def test_generate_without_model_fails_readably(
    qtbot: QtBot, inference: InferenceThread, events: WorkerEvents
) -> None:
    with qtbot.waitSignal(events.generation_failed, timeout=3000) as blocker:
        inference.generate_requested.emit(1, MESSAGES, GenerationParams(), 0)
    assert blocker.args is not None
    assert blocker.args[0] == 1
    assert "No model is loaded" in blocker.args[1]


def test_known_engine_error_is_reported_as_is(
    qtbot: QtBot, inference: InferenceThread, events: WorkerEvents, factory: FakeEngineFactory
) -> None:
    load(qtbot, inference, events)
    factory.generate_error = GenerationError("The engine ran out of memory.")
    factory.fail_after_tokens = 2
    with qtbot.waitSignal(events.generation_failed, timeout=3000) as blocker:
        inference.generate_requested.emit(9, MESSAGES, GenerationParams(), 0)
    assert blocker.args == [9, "The engine ran out of memory."]


def test_unexpected_error_is_logged_and_reported_as_internal(
    qtbot: QtBot,
    inference: InferenceThread,
    events: WorkerEvents,
    factory: FakeEngineFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    load(qtbot, inference, events)
    factory.generate_error = ZeroDivisionError("division by zero")
    with (
        caplog.at_level(logging.ERROR, logger="desktop.ui.chat.worker"),
        qtbot.waitSignal(events.generation_failed, timeout=3000) as blocker,
    ):
        inference.generate_requested.emit(4, MESSAGES, GenerationParams(), 0)
    assert blocker.args == [4, "Internal error: division by zero"]
    assert any(record.exc_info for record in caplog.records)
    with qtbot.waitSignal(events.generation_finished, timeout=3000):
        inference.generate_requested.emit(5, MESSAGES, GenerationParams(), 0)


def test_unload_and_stop_close_the_engine(
    qtbot: QtBot, factory: FakeEngineFactory, inference: InferenceThread, events: WorkerEvents
) -> None:
    load(qtbot, inference, events)
    first = factory.last
    with qtbot.waitSignal(events.model_unloaded, timeout=3000):
        inference.unload_requested.emit()
    assert first.closed
    load(qtbot, inference, events, request_id=2)
    assert [engine.closed for engine in factory.engines] == [True, False]
    assert inference.stop()
    assert not inference.is_running()
    assert [engine.closed for engine in factory.engines] == [True, True]
    assert inference.stop()  # twice is fine


def test_stop_during_generation_joins_quickly(
    qtbot: QtBot, factory: FakeEngineFactory, inference: InferenceThread, events: WorkerEvents
) -> None:
    load(qtbot, inference, events)
    factory.tokens = ["word "] * 5000
    factory.token_delay_s = 0.01
    with qtbot.waitSignal(events.token_generated, timeout=3000):
        inference.generate_requested.emit(1, MESSAGES, GenerationParams(), 0)
    started = time.monotonic()
    assert inference.stop()
    assert time.monotonic() - started < 1.0
    assert factory.last.closed
