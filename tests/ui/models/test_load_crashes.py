"""A model whose engine crashes while loading: counted, flagged in the Models page after
three crashes, forgotten once it loads. The library is real; the engine is scripted to
crash the way `HostedEngine` reports it (an `EngineCrashedError` of phase "loading")."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.chat.profiles import ChatProfiles
from desktop.core.errors import EngineCrashedError
from desktop.inference.bench_results import BenchResults
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.pages import Pages
from tests.tinymodels import write_tiny_llama_gguf
from tests.ui.fakes import FakeEngineFactory

CRASH = "The model crashed while loading (SIGSEGV); your conversation is saved."


def test_three_crashes_at_load_flag_the_model_and_a_good_load_clears_it(
    qtbot: QtBot, tmp_path: Path, factory: FakeEngineFactory, inference: InferenceThread
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    embedded = write_tiny_llama_gguf(tmp_path / "built-in.gguf", name="built-in")
    library = ModelLibrary(models, tmp_path / "models.json", embedded)
    profiles = ChatProfiles(library, AssistantStore(builtin_assistants_dir(), tmp_path / "a"))
    controller = ChatController(inference, profiles=profiles)
    window = build_main_window(controller)
    qtbot.addWidget(window)
    pages = Pages(window, controller, profiles, BenchResults(tmp_path / "bench.json"))
    page = pages.open_models()
    for attempt in range(1, 4):
        factory.load_error = EngineCrashedError(CRASH, phase="loading")
        with qtbot.waitSignal(controller.error_occurred, timeout=5000) as failed:
            controller.load_model(embedded, key=EMBEDDED_KEY)
        assert failed.args[0] == CRASH
        assert library.find(EMBEDDED_KEY).load_crashes == attempt
        assert not controller.model_ready
    warning = library.find(EMBEDDED_KEY).crash_warning
    assert warning is not None and "crashed 3 times while loading" in warning
    assert (
        ModelLibrary(models, tmp_path / "models.json", embedded).find(EMBEDDED_KEY).load_crashes
        == 3
    )
    page.select(EMBEDDED_KEY)
    assert page.details.problem.text() == warning
    with qtbot.waitSignal(controller.model_ready_changed, timeout=5000):
        controller.load_model(embedded, key=EMBEDDED_KEY)  # the user tries again: it loads
    assert library.find(EMBEDDED_KEY).load_crashes == 0
    assert library.find(EMBEDDED_KEY).crash_warning is None
    controller.close()
