"""Each chat's assistant and model, and the context budget, in the real window.

The model library and assistant store are real (tiny GGUF files, the built-in assistants);
the engine is the scripted one, so the tests can set its context window and count tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.chat.profiles import ChatProfiles
from desktop.chat.request import ContextBudget
from desktop.core.types import ChatMessage
from desktop.inference.bench_results import BenchResults
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.storage.conversations import ConversationStore
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.main_window import MainWindow
from desktop.ui.shell.pages import Pages
from tests.tinymodels import write_tiny_llama_gguf
from tests.ui.fakes import FakeEngineFactory


class Profiled:
    def __init__(
        self,
        qtbot: QtBot,
        controller: ChatController,
        window: MainWindow,
        profiles: ChatProfiles,
        factory: FakeEngineFactory,
    ) -> None:
        self.qtbot = qtbot
        self.controller = controller
        self.window = window
        self.profiles = profiles
        self.factory = factory

    def wait_ready(self) -> None:
        self.qtbot.waitUntil(lambda: self.controller.model_ready, timeout=5000)

    def ask(self, text: str) -> None:
        self.window.composer.setPlainText(text)
        with self.qtbot.waitSignal(self.controller.generation_ended, timeout=5000):
            self.window.send_button.click()

    def budget(self) -> ContextBudget:
        with self.qtbot.waitSignal(self.controller.budget_changed, timeout=3000) as blocker:
            self.controller.set_draft(self.window.composer.toPlainText())
        budget = blocker.args[0]
        assert isinstance(budget, ContextBudget)
        return budget


@pytest.fixture
def profiles(tmp_path: Path) -> ChatProfiles:
    models = tmp_path / "models"
    models.mkdir()
    embedded = write_tiny_llama_gguf(tmp_path / "built-in.gguf", name="built-in")
    write_tiny_llama_gguf(models / "other.gguf", name="other")
    library = ModelLibrary(models, tmp_path / "models.json", embedded)
    return ChatProfiles(library, AssistantStore(builtin_assistants_dir(), tmp_path / "mine"))


@pytest.fixture
def app(
    qtbot: QtBot,
    factory: FakeEngineFactory,
    inference: InferenceThread,
    store: ConversationStore,
    profiles: ChatProfiles,
) -> Iterator[Profiled]:
    controller = ChatController(inference, store=store, profiles=profiles)
    window = build_main_window(controller)
    qtbot.addWidget(window)
    window.show()
    controller.start()
    yield Profiled(qtbot, controller, window, profiles, factory)
    controller.stop()
    controller.close()


def test_new_chat_records_its_assistant_and_model(app: Profiled, store: ConversationStore) -> None:
    app.wait_ready()
    window = app.window
    assert window.assistant_picker.isVisible() and window.model_picker.isVisible()
    assert window.assistant_picker.current_key() == "general"
    assert window.model_picker.current_key() == EMBEDDED_KEY
    assert set(window.assistant_picker.keys()) >= {"general", "writer", "coder", "summariser"}
    app.ask("Hello there")
    conversation = store.get_conversation(app.controller.conversation_id or -1)
    assert conversation is not None
    assert (conversation.assistant_id, conversation.model_path) == ("general", EMBEDDED_KEY)


def test_assistant_prompt_and_examples_reach_the_engine_and_are_remembered(
    app: Profiled, store: ConversationStore
) -> None:
    app.wait_ready()
    app.ask("First question")
    chat = app.controller.conversation_id
    app.window.assistant_picker.choose("coder")
    assert store.get_conversation(chat or -1).assistant_id == "coder"  # type: ignore[union-attr]
    assert app.controller.params.temperature == pytest.approx(0.2)  # the coder's override
    app.ask("Sort a list")
    sent = app.factory.requests[-1]
    coder = app.profiles.assistants.get("coder")
    assert sent[0] == ChatMessage("system", coder.system_prompt)
    example = coder.examples[0]
    assert sent[1:3] == [
        ChatMessage("user", example.user),
        ChatMessage("assistant", example.assistant),
    ]
    assert sent[-1] == ChatMessage("user", "Sort a list")

    app.controller.new_conversation()  # a new chat keeps the assistant
    assert app.window.assistant_picker.current_key() == "coder"
    app.window.assistant_picker.choose("writer")
    app.controller.open_conversation(chat or -1)  # reopening brings its own assistant back
    assert app.window.assistant_picker.current_key() == "coder"


def test_choosing_a_model_loads_it_and_each_chat_reloads_its_own(
    app: Profiled, store: ConversationStore, profiles: ChatProfiles
) -> None:
    app.wait_ready()
    app.ask("On the built-in model")
    first = app.controller.conversation_id
    other = profiles.library.find("other.gguf").key
    with app.qtbot.waitSignal(app.controller.model_ready_changed, timeout=5000):
        app.window.model_picker.choose(other)
    app.wait_ready()
    assert app.controller.model_key == other
    assert app.factory.last.loaded_path == Path(other)
    assert store.get_conversation(first or -1).model_path == other  # type: ignore[union-attr]

    app.controller.new_conversation()
    app.ask("A second chat")
    second = app.controller.conversation_id
    app.window.model_picker.choose(EMBEDDED_KEY)
    app.wait_ready()
    loads = len(app.factory.engines)
    app.controller.open_conversation(first or -1)
    app.wait_ready()
    assert app.controller.model_key == other and len(app.factory.engines) == loads + 1
    app.controller.open_conversation(second or -1)
    app.wait_ready()
    assert app.controller.model_key == EMBEDDED_KEY


def test_deleted_model_falls_back_to_the_default_with_a_message(
    app: Profiled, store: ConversationStore, profiles: ChatProfiles
) -> None:
    app.wait_ready()
    other = profiles.library.find("other.gguf").key
    app.window.model_picker.choose(other)
    app.wait_ready()
    app.ask("Remember me")
    chat = app.controller.conversation_id
    app.controller.new_conversation()
    profiles.library.delete(other)
    app.controller.open_conversation(chat or -1)
    app.wait_ready()
    assert app.controller.model_key == EMBEDDED_KEY
    assert app.window.error_banner.isVisible()
    assert "no longer available" in app.window.error_label.text()


def test_unloaded_model_is_loaded_again_when_a_message_is_sent(app: Profiled) -> None:
    app.wait_ready()
    app.controller.unload_model()
    assert not app.controller.model_ready
    app.ask("Still there?")
    assert app.window.chat_view.messages()[-1] == ("assistant", "Hello, world!")


def test_meter_counts_the_draft_and_marks_left_out_messages(app: Profiled) -> None:
    app.wait_ready()
    app.window.composer.setPlainText("one two three")
    first = app.budget()
    assert first.prompt_tokens > 0 and first.left_out == 0 and first.error is None
    assert "tokens" in app.window.context_meter.text()
    app.window.composer.setPlainText("one two three four five six seven eight nine ten")
    assert app.budget().prompt_tokens == first.prompt_tokens + 7  # the fake counts words

    for number in range(6):
        app.ask(f"question {number} " + "word " * 20)
    app.factory.n_ctx = 200  # the history no longer fits: the oldest turns go
    app.window.composer.setPlainText("and now?")
    budget = app.budget()
    view = app.window.chat_view
    assert budget.left_out > 0 and budget.left_out % 2 == 0
    assert view.left_out == budget.left_out
    assert view.is_left_out(0) and not view.is_left_out(budget.left_out)
    assert view.left_out_note.isVisible()
    assert f"{budget.left_out} earlier left out" in app.window.context_meter.text()
    assert app.window.context_meter.level() == "full"

    app.ask("and now?")  # it still answers, from the turns that fit, examples kept
    sent = app.factory.requests[-1]
    assert sent[0].role == "system" and sent[-1] == ChatMessage("user", "and now?")
    assert all("question 0" not in m.content for m in sent)
    assert app.window.chat_view.messages()[-1] == ("assistant", "Hello, world!")
    assert view.is_left_out(0)


def test_a_draft_too_long_for_the_window_is_flagged(app: Profiled) -> None:
    app.wait_ready()
    app.factory.n_ctx = 100
    app.window.composer.setPlainText("word " * 300)
    budget = app.budget()
    assert budget.error is not None and "too long" in budget.error
    assert app.window.context_meter.level() == "error"
    assert "Too long" in app.window.context_meter.text()
    app.window.composer.setPlainText("short")
    assert app.budget().error is None
    assert app.window.context_meter.level() == "ok"


def test_a_tiny_window_shortens_the_system_prompt_and_the_meter_says_so(app: Profiled) -> None:
    app.wait_ready()
    app.factory.n_ctx = 40  # 24 tokens for the prompt: the general helper's prompt takes 41
    app.window.composer.setPlainText("hi")
    budget = app.budget()
    assert budget.error is None and budget.note is not None
    assert "the system prompt is shortened" in budget.note
    meter = app.window.context_meter
    assert meter.text().endswith("· prompt shortened") and budget.note in meter.toolTip()
    assert meter.level() == "full"
    app.ask("hi")
    first = "You are a helpful AI assistant named Hearth."
    assert app.factory.requests[-1] == [ChatMessage("system", first), ChatMessage("user", "hi")]
    assert app.window.chat_view.messages()[-1] == ("assistant", "Hello, world!")


def test_models_page_uses_unloads_and_reloads_on_new_threads(
    app: Profiled, profiles: ChatProfiles
) -> None:
    """The Models page as the window opens it ("Manage models…" in the model picker)."""
    pages = Pages(
        app.window,
        app.controller,
        profiles,
        BenchResults(profiles.library.state_path.parent / "b.json"),
    )
    app.window.models_requested.connect(pages.open_models)
    app.wait_ready()
    app.window.model_picker.open_manager()
    page = pages.models
    assert page is not None and page.isVisible()
    assert page.selected_entry() is not None and page.selected_entry().key == EMBEDDED_KEY  # type: ignore[union-attr]

    other = profiles.library.find("other.gguf").key
    page.select(other)
    with app.qtbot.waitSignal(app.controller.model_ready_changed, timeout=5000):
        page.details.use_button.click()
    app.wait_ready()
    assert app.controller.model_key == other
    assert app.window.model_picker.current_key() == other

    engines = len(app.factory.engines)
    entry = profiles.library.find(other)
    current = profiles.library.settings_for(entry)
    page.details.form.set_settings(
        replace(current, threads=1, temperature=0.3),
        profiles.library.default_settings(entry),
        256,
    )
    page.details.save_settings()
    app.wait_ready()
    assert len(app.factory.engines) == engines + 1  # reloaded with the new thread count
    assert app.controller.profile is not None
    assert app.controller.profile.load_options.n_threads == 1
    assert app.controller.params.temperature == pytest.approx(0.3)

    page.details.unload_button.click()
    assert not app.controller.model_ready and app.controller.model_key is None
    app.qtbot.waitUntil(
        lambda: (
            not page.details.unload_button.isVisible() or not page.details.unload_button.isEnabled()
        )
    )


def test_assistants_page_new_assistant_reaches_the_picker_and_the_chat(
    app: Profiled, profiles: ChatProfiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = Pages(
        app.window,
        app.controller,
        profiles,
        BenchResults(profiles.library.state_path.parent / "b.json"),
    )
    app.window.assistants_requested.connect(pages.open_assistants)
    app.wait_ready()
    app.window.assistant_picker.open_manager()
    page = pages.assistants
    assert page is not None and page.isVisible()
    page.new_assistant()
    editor = page.editor
    editor.name_edit.setText("Pirate")
    editor.prompt_edit.setPlainText("You answer like a pirate.")
    assert page.save()
    created = [a for a in profiles.assistants.assistants() if a.name == "Pirate"]
    assert len(created) == 1
    pirate = created[0].id
    assert pirate in list(app.window.assistant_picker.keys())  # the picker was refreshed
    page.select(pirate)
    page.editor.use_requested.emit()
    assert app.controller.profile is not None and app.controller.profile.assistant_id == pirate
    assert app.window.assistant_picker.current_key() == pirate
    app.ask("Where is the treasure?")
    assert app.factory.requests[-1][0] == ChatMessage("system", "You answer like a pirate.")


def test_files_dropped_on_the_window_are_checked_in_the_models_page(
    app: Profiled, profiles: ChatProfiles, tmp_path: Path
) -> None:
    pages = Pages(app.window, app.controller, profiles, BenchResults(tmp_path / "bench.json"))
    app.window.files_dropped.connect(pages.import_models)
    broken = tmp_path / "half.gguf"
    whole = profiles.library.find("other.gguf").path.read_bytes()
    broken.write_bytes(whole[: len(whole) // 2])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(broken))])
    point = QPoint(200, 200)
    no_button, no_key = Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, no_button, no_key)
    QApplication.sendEvent(app.window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(point), Qt.DropAction.CopyAction, mime, no_button, no_key)
    QApplication.sendEvent(app.window, drop)
    page = pages.models
    assert page is not None and page.isVisible()
    app.qtbot.waitUntil(lambda: not page.is_importing(), timeout=10_000)
    assert "incomplete" in page.message.text()
    assert not (profiles.library.models_dir / "half.gguf").exists()
