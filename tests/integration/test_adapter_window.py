"""An adapter chosen for a conversation or an assistant, in the window: it is offered under
its model, reaches the engine host as `LoadOptions.adapter` (a private temporary file, gone
once another model loads), the status line says it is on, it is kept with the conversation,
and the built-in model's real answer changes with it. The adapter is made once per session:
a LoRA of random weights fitting the built-in model (what is checked is that it applies)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.chat.profiles import ChatProfiles
from desktop.core.adapter_keys import adapter_key
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import GenerationParams, LoadOptions
from desktop.inference.adapters import check_fits, write_lora_gguf
from desktop.inference.gguf_header import read_gguf_header
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.storage.adapters import AdapterStore
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.storage.conversations import ConversationStore
from desktop.storage.migrations import open_and_migrate
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.main_window import MainWindow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def builtin_adapter(tmp_path_factory: pytest.TempPathFactory, embedded_model: Path) -> Path:
    """A rank-4 LoRA on the built-in model's q and v projections, random but not tiny."""
    shapes = {t.name: t.shape for t in read_gguf_header(embedded_model).tensors}
    rng = np.random.default_rng(18)
    pairs = {}
    for name, shape in shapes.items():
        if name.endswith(("attn_q.weight", "attn_v.weight")):
            inputs, outputs = shape[0], shape[1]
            pairs[name] = (rng.normal(0, 0.3, (4, inputs)), rng.normal(0, 0.3, (outputs, 4)))
    path = write_lora_gguf(
        tmp_path_factory.mktemp("adapter") / "odd.gguf", "llama", 8.0, pairs, name="odd"
    )
    check_fits(path, embedded_model)
    return path


@pytest.fixture
def window_app(
    qtbot: QtBot, tmp_path: Path, embedded_model: Path, builtin_adapter: Path
) -> Iterator[tuple[ChatController, ChatProfiles, MainWindow, list[object]]]:
    db = open_and_migrate(tmp_path / "hearth.db", bytes(range(32)))
    store = ConversationStore(db)
    adapters = AdapterStore(db)
    adapters.add("odd", EMBEDDED_KEY, builtin_adapter.read_bytes(), 4, "imported from odd.gguf")
    profiles = ChatProfiles(
        ModelLibrary(tmp_path / "models", tmp_path / "models.json", embedded_model),
        AssistantStore(builtin_assistants_dir(), tmp_path / "assistants"),
        session_settings={"threads": 2, "context_length": 1024},
    )
    profiles.adapters = adapters
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(
        inference, system_prompt=DEFAULT_SYSTEM_PROMPT, store=store, profiles=profiles
    )
    sent: list[object] = []
    controller.load_requested.connect(lambda _id, _path, options: sent.append(options))
    window = build_main_window(controller)
    qtbot.addWidget(window)
    yield controller, profiles, window, sent
    controller.stop()
    assert inference.stop()
    assert inference.qthread.wait(5000)
    controller.close()
    db.close()


def reply(qtbot: QtBot, controller: ChatController, action: Callable[[], bool]) -> str:
    with qtbot.waitSignal(controller.generation_ended, timeout=120_000):
        assert action()
    return controller.items[-1].content


def test_a_conversation_answers_with_its_adapter(
    qtbot: QtBot, window_app: tuple[ChatController, ChatProfiles, MainWindow, list[object]]
) -> None:
    controller, profiles, window, sent = window_app
    key = adapter_key("odd")
    labels = dict(profiles.model_choices())
    assert labels[key] == "SmolLM2-135M-Instruct.Q4_1 · with adapter odd"
    assert list(labels).index(key) == list(labels).index(EMBEDDED_KEY) + 1  # under its model

    with qtbot.waitSignal(controller.model_ready_changed, timeout=60_000):
        controller.apply_profile()
    controller.params = GenerationParams(max_tokens=12, temperature=0.0)
    plain = reply(qtbot, controller, lambda: controller.send("What is the capital of France?"))
    assert "Paris" in plain
    conversation = controller.conversation_id
    assert conversation is not None and controller.store is not None

    controller.choose_model(key)
    qtbot.waitUntil(lambda: controller.model_ready, timeout=60_000)
    options = sent[-1]
    assert isinstance(options, LoadOptions) and options.adapter is not None
    file = Path(options.adapter)
    assert file.is_file() and file.stat().st_mode & 0o777 == 0o600  # private, while loaded
    assert options.adapter_scale == 1.0
    assert window.model_label.text().endswith(" · with adapter odd")
    controller.params = GenerationParams(max_tokens=12, temperature=0.0)
    adapted = reply(qtbot, controller, lambda: controller.regenerate(1))
    assert adapted != plain  # the same question, greedy: the adapter changed the answer
    # Kept with the conversation: it opens with the adapter again.
    assert controller.store.get_conversation(conversation).model_path == key  # type: ignore[union-attr]

    controller.choose_model(EMBEDDED_KEY)
    qtbot.waitUntil(lambda: controller.model_ready, timeout=60_000)
    assert not file.exists()  # the decrypted copy went with the model that used it
    assert isinstance(sent[-1], LoadOptions) and sent[-1].adapter is None
    controller.params = GenerationParams(max_tokens=12, temperature=0.0)
    assert reply(qtbot, controller, lambda: controller.regenerate(1)) == plain
