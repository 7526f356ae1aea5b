"""`hearth models default` and a model's saved settings rule both `hearth ask` and the window.

As a user: import a model and make it the default with the command line, save its settings
(what the Models page's Settings tab saves), then ask from the command line and start the
window without `--model`: both use that model, with those settings.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory, parse_args, window_profiles
from desktop.chat.profiles import make_profiles
from desktop.inference.registry import EngineRegistry
from desktop.paths import AppPaths
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from tests.integration.test_cli_models import hearth
from tests.tinymodels import write_tiny_llama_gguf

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder whose default model is an imported tiny model with saved settings."""
    data = tmp_path / "data"
    tiny = write_tiny_llama_gguf(tmp_path / "tiny.gguf", chat_template=None)
    imported = hearth(data, "models", "import", str(tiny))
    assert imported.returncode == 0, imported.stderr
    chosen = hearth(data, "models", "default", "tiny")
    assert chosen.returncode == 0 and "New conversations will use" in chosen.stdout
    library = make_profiles(AppPaths.resolve(data)).library
    entry = library.find("tiny")
    saved = replace(
        library.settings_for(entry), max_new_tokens=5, temperature=0.0, context_length=256
    )
    library.save_settings(entry, saved)
    return data


def test_hearth_ask_uses_the_default_model_with_its_saved_settings(data_dir: Path) -> None:
    asked = hearth(data_dir, "ask", "--no-save", "--stats", "Hello there")
    assert asked.returncode == 0, asked.stderr
    stats = asked.stderr.strip().splitlines()[-1]
    assert stats.startswith("model tiny on llama.cpp, load "), stats
    found = re.search(r"prompt \d+ tokens, (\d+) tokens, ", stats)
    assert found is not None, stats
    assert 1 <= int(found.group(1)) <= 5  # the saved limit, not Hearth's 512


def test_the_window_without_model_uses_the_default_model_with_its_saved_settings(
    qtbot: QtBot, data_dir: Path
) -> None:
    args = parse_args(["--data-dir", str(data_dir)])
    paths = AppPaths.resolve(args.data_dir)
    profiles = window_profiles(paths, args)
    factory, describer = make_engine_factory(EngineRegistry())
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(inference, profiles=profiles)
    window = build_main_window(controller)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(controller.model_ready_changed, timeout=60_000):
            controller.start(None)
        state = controller.model_state
        assert state.path == paths.models_dir / "tiny.gguf"
        assert state.options is not None and state.options.n_ctx == 256
        assert (controller.params.max_tokens, controller.params.temperature) == (5, 0.0)
        assert window.model_label.text().endswith("tiny")
    finally:
        controller.close()
        assert inference.stop()
