"""Model files whose chat template is hostile, and a Gemma model (no system role), through
`hearth models import`, `hearth ask --model` and the window's model picker, with the real
engines: each ends within seconds with a sentence, and the Gemma model answers."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.chat.profiles import ChatProfiles
from desktop.cli import main as cli
from desktop.cli import models as cli_models
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken
from desktop.inference.library import ModelLibrary
from desktop.inference.llamacpp_engine import LlamaCppEngine
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.main_window import MainWindow
from tests import tinymodels
from tests.hostile_templates import HOSTILE
from tests.template_cases import TEMPLATES_DIR

pytestmark = pytest.mark.slow

LIMIT_S = 5.0
LIMIT_BYTES = 500 << 20
GEMMA = (TEMPLATES_DIR / "google-gemma-2-2b-it.jinja").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, (source, _) in HOSTILE.items():
        tinymodels.write_tiny_llama_gguf(folder / f"{name}.gguf", chat_template=source)
    return folder


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gemma") / "tiny-gemma.gguf"
    return tinymodels.write_tiny_llama_gguf(path, chat_template=GEMMA)


#: Runs `hearth ARGS...` and reports its peak memory, its children's (the trial-load probe,
#: the engine host) included, as the last line of stderr.
_MEASURED = """
import resource, sys
from desktop.__main__ import main
code = main(sys.argv[1:])
whom = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
peak = max(resource.getrusage(w).ru_maxrss for w in whom)
sys.stderr.write(f"\\npeak-kib {peak}\\n")
sys.exit(code)
"""


def _hearth(*args: str) -> tuple[int, str, str, float, int]:
    """(exit code, stdout, stderr without the peak line, seconds, peak bytes) of one run."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    elapsed = time.monotonic() - start
    err, _, peak = done.stderr.rstrip().rpartition("\npeak-kib ")
    return done.returncode, done.stdout, err, elapsed, int(peak) * 1024


def _import(path: Path, data: Path) -> tuple[str, float, int]:
    code, out, err, elapsed, peak = _hearth("--data-dir", str(data), "models", "import", str(path))
    assert code == 0, err
    return out, elapsed, peak


@pytest.fixture(scope="module")
def plain_import_s(tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long importing a file with a real (Qwen2.5) template takes on this machine now."""
    folder = tmp_path_factory.mktemp("plain")
    source = (TEMPLATES_DIR / "Qwen-Qwen2.5-7B-Instruct.jinja").read_text(encoding="utf-8")
    path = tinymodels.write_tiny_llama_gguf(folder / "plain.gguf", chat_template=source)
    return min(_import(path, folder / f"data{i}")[1] for i in range(2))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_import_notes_the_template_and_keeps_the_file(
    name: str, hostile_dir: Path, tmp_path: Path, plain_import_s: float
) -> None:
    text, elapsed, peak = _import(hostile_dir / f"{name}.gguf", tmp_path / "data")
    assert f'Imported "{name}.gguf"' in text
    note = text.splitlines()[-1]
    assert note.startswith("Note: The model's chat template ") and HOSTILE[name][1] in note
    assert note.endswith("so Hearth uses the ChatML format instead.")
    # A probe child starts here: on a machine so busy that importing a good file takes more
    # than 2 s, the bound grows with it (the template itself costs at most 0.75 s).
    assert elapsed < max(LIMIT_S, 2 * plain_import_s + 1.0), f"{name}: {elapsed:.1f} s"
    assert peak < LIMIT_BYTES  # Hearth and its trial-load child


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_ask_with_the_model_says_which_format_and_answers(
    name: str, hostile_dir: Path, tmp_path: Path
) -> None:
    argv = ["--data-dir", str(tmp_path), "ask", "--no-save", "--model"]
    argv += [str(hostile_dir / f"{name}.gguf"), "--max-tokens", "2", "--threads", "1", "hi"]
    code, _, err, elapsed, peak = _hearth(*argv)
    assert code == 0, err
    assert err.startswith("hearth: The model's chat template ") and HOSTILE[name][1] in err
    assert "so Hearth uses the ChatML format instead." in err
    assert elapsed < LIMIT_S, f"{name}: {elapsed:.1f} s"
    assert peak < LIMIT_BYTES  # Hearth and its engine host


def test_gemma_answers_through_the_default_assistant(
    gemma: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    argv = ["--data-dir", str(tmp_path), "ask", "--model", str(gemma), "--seed", "1"]
    # A random tiny model's sampled reply can be only the end token or white space; with a
    # fixed seed and one thread it is the same every run (and not empty).
    assert cli.main([*argv, "--max-tokens", "4", "--threads", "1", "hi"], out) == 0
    err = capsys.readouterr().err  # a new store also shows its recovery key once
    assert out.getvalue().strip() and "chat template" not in err  # used, not replaced

    engine = LlamaCppEngine()
    engine.load(gemma, LoadOptions(n_ctx=256, n_threads=1))
    try:
        assert engine.template.name == "model" and engine.template.fold_system
        messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "hi")]
        assert engine.template.render(messages) == (
            "<s><start_of_turn>user\nBe brief.\n\nhi<end_of_turn>\n<start_of_turn>model\n"
        )
        params = GenerationParams(max_tokens=3, temperature=0.0, seed=1)
        assert "".join(engine.stream(messages, params, CancelToken()))
    finally:
        engine.close()

    library = ModelLibrary(tmp_path / "models", tmp_path / "models.json", None)
    library.import_model(gemma)
    listed = io.StringIO()
    cli_models.cmd_list(library, listed, as_json=False, n_ctx=None)
    assert "its own chat template" in listed.getvalue()
    assert "note: The model's chat template has no system role" in listed.getvalue()


@pytest.fixture
def picker_app(
    qtbot: QtBot, hostile_dir: Path, gemma: Path, tmp_path: Path
) -> Iterator[tuple[ChatController, MainWindow, ChatProfiles]]:
    library = ModelLibrary(tmp_path / "models", tmp_path / "models.json", gemma)
    library.add_folder(hostile_dir)
    profiles = ChatProfiles(library, AssistantStore(builtin_assistants_dir(), tmp_path / "mine"))
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(inference, profiles=profiles)
    window = build_main_window(controller)
    qtbot.addWidget(window)
    window.show()
    controller.start()
    yield controller, window, profiles
    controller.stop()
    controller.close()
    assert inference.stop()
    assert inference.qthread.wait(5000)


def test_model_picker_loads_each_hostile_model_with_a_sentence(
    qtbot: QtBot,
    picker_app: tuple[ChatController, MainWindow, ChatProfiles],
    hostile_dir: Path,
) -> None:
    controller, window, profiles = picker_app
    qtbot.waitUntil(lambda: controller.model_ready, timeout=10_000)
    errors: list[str] = []
    controller.error_occurred.connect(errors.append)
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: beats.append(time.monotonic()))
    heartbeat.start(20)
    for name in sorted(HOSTILE):
        key = profiles.library.find(str(hostile_dir / f"{name}.gguf")).key
        errors.clear()
        start = time.monotonic()
        window.model_picker.choose(key)
        qtbot.waitUntil(lambda: controller.model_ready and bool(errors), timeout=10_000)
        elapsed = time.monotonic() - start
        assert elapsed < LIMIT_S, f"{name}: {elapsed:.1f} s"
        assert HOSTILE[name][1] in errors[-1]
        assert errors[-1].endswith("so Hearth uses the ChatML format instead.")
    heartbeat.stop()
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    assert max(gaps) < 1.0, f"the window stalled for {max(gaps):.2f} s"
    assert window.error_label.text() == errors[-1]
