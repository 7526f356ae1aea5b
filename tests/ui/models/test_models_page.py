"""The Models page over a real `ModelLibrary` of tiny generated models: listing, memory,
import through the real trial load (good and bad files), delete, default, settings, and the
speed test as a separate process."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.core.errors import ModelRefusedError
from desktop.inference.bench_results import BenchResults
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.inference.probe import ModelProber
from desktop.ui.common.tasks import BackgroundTask
from desktop.ui.models.model_list import KEY_ROLE
from desktop.ui.models.page import ModelsPage, default_bench_command
from tests import tinymodels
from tests.hostile_templates import HOSTILE
from tests.integration import badmodels
from tests.template_cases import TEMPLATES_DIR

PLENTY = 8 << 30
BENCH_JSON = (
    '{"model": "m", "engine": "llama.cpp", "threads": 2, "n_ctx": 256, "max_tokens": 8, '
    '"runs": 1, "load_s": 0.25, "time_to_first_token_s": 0.118, "prompt_tokens_per_s": 412.3, '
    '"generation_tokens_per_s": 101.4, "prompt_tokens": 48, "generated_tokens": 8}'
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("incoming")
    good = tinymodels.write_tiny_llama_gguf(d / "good.gguf", chat_template="{{ messages }}")
    return {
        "builtin": tinymodels.write_tiny_llama_gguf(d / "builtin.gguf", name="built-in"),
        "good": good,
        "truncated": tinymodels.write_truncated_copy(good, d / "truncated.gguf", 0.6),
        "wrong_magic": tinymodels.write_not_a_model(d / "notes.gguf", "text"),
        "crash": badmodels.write_llama_cpp_crash(d / "heads.gguf"),
    }


class Env:
    def __init__(self, tmp: Path, embedded: Path, free: int | None) -> None:
        self.tmp, self.embedded, self.free = tmp, embedded, free
        self.bench = BenchResults(tmp / "config" / "bench.json")

    def library(self) -> ModelLibrary:
        return ModelLibrary(
            self.tmp / "models",
            self.tmp / "config" / "models.json",
            self.embedded,
            ModelProber(timeout_s=60),
            free_memory=lambda: self.free,
        )

    def put(self, source: Path) -> str:
        """A model already in the models folder (no trial load needed to list it)."""
        (self.tmp / "models").mkdir(parents=True, exist_ok=True)
        target = self.tmp / "models" / source.name
        shutil.copyfile(source, target)
        return str(target)


@pytest.fixture
def env(tmp_path: Path, files: dict[str, Path]) -> Env:
    return Env(tmp_path, files["builtin"], PLENTY)


def open_page(
    qtbot: QtBot, env: Env, bench_command: Callable[[Path], list[str]] = default_bench_command
) -> ModelsPage:
    page = ModelsPage(env.library(), env.bench, bench_command=bench_command)
    qtbot.addWidget(page)
    page.show()
    return page


def test_details_say_how_the_chat_template_is_used(qtbot: QtBot, env: Env, tmp_path: Path) -> None:
    gemma_source = (TEMPLATES_DIR / "google-gemma-2-2b-it.jinja").read_text(encoding="utf-8")
    gemma = env.put(
        tinymodels.write_tiny_llama_gguf(tmp_path / "gemma.gguf", chat_template=gemma_source)
    )
    hostile = env.put(
        tinymodels.write_tiny_llama_gguf(
            tmp_path / "loops.gguf", chat_template=HOSTILE["nested_loops"][0]
        )
    )
    page = open_page(qtbot, env)
    page.select(gemma)
    assert page.details.values["template"].text() == (
        "Yes, from the file. The model's chat template has no system role, so Hearth puts the "
        "system prompt at the start of the first user message."
    )
    page.select(hostile)
    replaced = page.details.values["template"].text()
    # The loop cap or the deadline, whichever a busy machine meets first.
    assert replaced.startswith("No: The model's chat template takes too long to render (")
    assert replaced.endswith("), so Hearth uses the ChatML format instead.")


def rows(page: ModelsPage) -> list[str]:
    """Each row's text: its labels joined, or the item's own text for busy rows."""
    found = []
    for i in range(page.list.count()):
        item = page.list.item(i)
        widget = page.list.itemWidget(item)
        if widget is None:
            found.append(item.text())
        else:
            found.append(" | ".join(label.text() for label in widget.findChildren(QLabel)))
    return found


def test_lists_every_kind_of_entry_with_what_the_inspector_read(
    qtbot: QtBot, env: Env, files: dict[str, Path]
) -> None:
    imported = env.put(files["good"])
    folder = env.tmp / "mine"
    folder.mkdir()
    tinymodels.write_tiny_llama_gguf(folder / "mine.gguf")
    tinymodels.write_truncated_copy(files["good"], folder / "broken.gguf", 0.5)
    env.library().add_folder(folder)
    page = open_page(qtbot, env)
    listed = rows(page)
    assert len(listed) == 4 and page.list.item(1).data(KEY_ROLE) == imported
    assert listed[0].startswith("builtin | Built-in · ") and "F32" in listed[0]
    assert "Default" in listed[0]
    assert listed[1].startswith("good | Imported · ")
    assert listed[2].startswith("broken | Cannot be used: ") and "incomplete" in listed[2]
    assert listed[3].startswith("mine | In your folder")

    page.select(imported)
    values = {k: label.text() for k, label in page.details.values.items()}
    assert values["architecture"] == "llama" and values["quantization"] == "F32"
    assert values["context"] == "256 tokens" and values["engine"] == "llama.cpp"
    assert values["template"] == "Yes, from the file" and values["format"] == "GGUF v3"
    assert "a copy in Hearth's models folder" in values["source"]
    assert values["path"] == imported and values["parameters"].endswith("K")
    assert page.details.delete_button.isEnabled()

    page.select(EMBEDDED_KEY)
    assert not page.details.delete_button.isEnabled()
    assert "built-in model cannot be deleted" in page.details.delete_button.toolTip()
    assert page.details.values["template"].text().startswith("No: ")
    page.select(str(folder / "mine.gguf"))
    assert "only reads" in page.details.delete_button.toolTip()
    assert page.remove_folder_button.isVisibleTo(page)
    page.select(str(folder / "broken.gguf"))
    assert page.details.problem.isVisibleTo(page)
    assert not page.details.use_button.isEnabled()
    assert not page.details.tabs.isTabEnabled(1)  # no settings for a file that cannot run

    with qtbot.waitSignal(page.library_changed):
        page.remove_selected_folder()
    assert len(rows(page)) == 2 and (folder / "mine.gguf").exists()


def test_memory_estimate_follows_the_context_and_warns_when_it_will_not_fit(
    qtbot: QtBot, env: Env
) -> None:
    env.free = 1024
    page = open_page(qtbot, env)
    details = page.details
    assert details.warning.isVisibleTo(page)
    assert "only 1.0 KB of memory is free" in details.warning.text()
    assert "at 256 tokens" in details.memory.text()  # the tiny model's trained context
    env.free = PLENTY
    details.update_memory()
    assert not details.warning.isVisibleTo(page)
    assert "8.0 GB free" in details.memory.text()


def test_memory_text_changes_live_with_the_context_box(qtbot: QtBot, env: Env) -> None:
    with badmodels.tiny_constants(N_CTX=8192):
        env.embedded = tinymodels.write_tiny_llama_gguf(env.tmp / "long.gguf")
    page = open_page(qtbot, env)
    assert "at 4,096 tokens" in page.details.memory.text()
    page.details.form.boxes["context_length"].setValue(1024)
    assert "at 1,024 tokens" in page.details.memory.text()
    assert page.details.save_button.isEnabled()


def test_importing_a_good_file_keeps_the_window_responsive(
    qtbot: QtBot, env: Env, files: dict[str, Path]
) -> None:
    page = open_page(qtbot, env)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    with qtbot.waitSignal(page.library_changed, timeout=60_000):
        page.import_files([files["good"]])
        assert page.is_importing()
        assert any("Checking good.gguf" in r for r in rows(page))
        assert page.progress.isVisibleTo(page)
    timer.stop()
    assert len(ticks) >= 10  # the event loop kept running through the trial load
    qtbot.waitUntil(lambda: not page.is_importing())
    target = env.tmp / "models" / "good.gguf"
    assert target.read_bytes() == files["good"].read_bytes()
    assert page.selected_entry() is not None and page.selected_entry().key == str(target)
    assert "passed its trial load" in page.message.text()
    assert not page.progress.isVisibleTo(page)
    assert len(rows(page)) == 2


def test_bad_files_are_refused_one_after_another_with_reasons(
    qtbot: QtBot, env: Env, files: dict[str, Path]
) -> None:
    page = open_page(qtbot, env)
    changed = []
    page.library_changed.connect(lambda: changed.append(1))
    page.import_files([files["truncated"], files["wrong_magic"], files["crash"]])
    page.import_files([files["crash"]])  # already waiting: not queued twice
    assert sum("Waiting to import" in r for r in rows(page)) == 2
    qtbot.waitUntil(lambda: not page.is_importing(), timeout=60_000)
    text = page.message.text()
    assert '"truncated.gguf" is incomplete' in text
    assert "is not a model at all (it is a text file)" in text
    assert 'The engine crashed (SIGABRT) while trying "heads.gguf"' in text
    assert page.message.property("error") is True
    assert changed == [] and len(rows(page)) == 1
    assert not (env.tmp / "models").exists() or not any((env.tmp / "models").iterdir())


def test_a_dropped_file_is_imported(qtbot: QtBot, env: Env, files: dict[str, Path]) -> None:
    page = open_page(qtbot, env)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(files["wrong_magic"]))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    page.dropEvent(event)
    qtbot.waitUntil(lambda: "not a model at all" in page.message.text())


def test_delete_asks_first_and_removes_the_file(
    qtbot: QtBot, env: Env, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = env.put(files["good"])
    env.bench.put(key, {"load_s": 1.0})
    page = open_page(qtbot, env)
    page.select(key)
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    page.details.delete_button.click()
    assert Path(key).exists()
    with qtbot.waitSignal(page.library_changed):
        page.details.delete_button.click()
    assert not Path(key).exists() and env.bench.get(key) is None
    assert len(rows(page)) == 1 and 'Deleted "good.gguf"' in page.message.text()
    page.select(EMBEDDED_KEY)
    page.delete_selected()  # refused quietly: the button is disabled
    assert env.embedded.exists()


def test_make_default_is_remembered(qtbot: QtBot, env: Env, files: dict[str, Path]) -> None:
    key = env.put(files["good"])
    page = open_page(qtbot, env)
    page.select(key)
    with qtbot.waitSignal(page.library_changed):
        page.details.default_button.click()
    default = env.library().default_entry()
    assert default is not None and default.key == key
    assert "Default" in rows(page)[1] and "Default" not in rows(page)[0]
    assert not page.details.default_button.isEnabled()


def test_settings_save_and_reset_round_trip(qtbot: QtBot, env: Env, files: dict[str, Path]) -> None:
    key = env.put(files["good"])
    page = open_page(qtbot, env)
    page.select(key)
    form = page.details.form
    assert form.boxes["context_length"].maximum() == 256
    assert form.hints["context_length"].text() == "model default: 256"
    assert not page.details.save_button.isEnabled()
    form.boxes["temperature"].setValue(0.3)
    form.boxes["seed"].setValue(42)
    with qtbot.waitSignal(page.settings_saved) as saved:
        page.details.save_button.click()
    assert saved.args == [key]
    stored = env.library().settings_for(env.library().find(key))
    assert (stored.temperature, stored.seed) == (0.3, 42)
    with qtbot.waitSignal(page.settings_saved):
        page.details.reset_button.click()
    stored = env.library().settings_for(env.library().find(key))
    assert (stored.temperature, stored.seed) == (0.7, None)
    assert form.settings() == stored


def test_use_unload_and_the_loaded_badge(qtbot: QtBot, env: Env) -> None:
    page = open_page(qtbot, env)
    with qtbot.waitSignal(page.use_requested) as used:
        page.details.use_button.click()
    assert used.args == [EMBEDDED_KEY]
    page.set_loaded(EMBEDDED_KEY, loading=True)
    assert "Loading…" in rows(page)[0] and not page.details.unload_button.isVisibleTo(page)
    page.set_loaded(EMBEDDED_KEY)
    assert "Loaded" in rows(page)[0] and not page.details.use_button.isEnabled()
    with qtbot.waitSignal(page.unload_requested):
        page.details.unload_button.click()
    page.set_loaded(None)
    assert "Loaded" not in rows(page)[0] and page.details.use_button.isEnabled()


def script(tmp: Path, body: str) -> Callable[[Path], list[str]]:
    path = tmp / "fake_bench.py"
    path.write_text(body, encoding="utf-8")
    return lambda model: [sys.executable, str(path), str(model)]


def test_measure_speed_parses_and_stores_the_result(qtbot: QtBot, env: Env) -> None:
    body = f"print('loading...')\nprint({BENCH_JSON!r})\n"
    page = open_page(qtbot, env, script(env.tmp, body))
    speed = page.details.speed
    assert speed.figures["when"].text() == "never"
    with qtbot.waitSignal(speed.measured, timeout=20_000):
        speed.measure_button.click()
        assert speed.is_running() and not speed.cancel_button.isHidden()
        assert not speed.measure_button.isEnabled()
    assert speed.figures["load"].text() == "0.25 s"
    assert speed.figures["ttft"].text() == "118 ms"
    assert speed.figures["generation"].text() == "101.4 tokens/s"
    stored = env.bench.get(EMBEDDED_KEY)
    assert stored is not None and stored["prompt_tokens_per_s"] == 412.3
    assert "measured_at" in stored


def test_a_failing_speed_test_shows_its_last_error_lines(qtbot: QtBot, env: Env) -> None:
    body = "import sys\nprint('noise', file=sys.stderr)\nsys.exit('hearth: no such engine')\n"
    page = open_page(qtbot, env, script(env.tmp, body))
    speed = page.details.speed
    speed.measure()
    qtbot.waitUntil(lambda: not speed.is_running(), timeout=20_000)
    assert "failed (exit code 1)" in speed.status.text()
    assert "hearth: no such engine" in speed.status.text()
    assert env.bench.get(EMBEDDED_KEY) is None


def test_a_speed_test_can_be_cancelled(qtbot: QtBot, env: Env) -> None:
    page = open_page(qtbot, env, script(env.tmp, "import time\ntime.sleep(60)\n"))
    speed = page.details.speed
    speed.measure()
    qtbot.waitUntil(lambda: "Measuring" in speed.status.text())
    speed.cancel_button.click()
    qtbot.waitUntil(lambda: not speed.is_running(), timeout=10_000)
    assert speed.status.text() == "The speed test was cancelled."
    assert speed.measure_button.isEnabled()


@pytest.mark.slow
def test_the_real_speed_test_on_the_embedded_model(
    qtbot: QtBot, env: Env, embedded_model: Path
) -> None:
    env.embedded = embedded_model

    def command(path: Path) -> list[str]:  # one short run on one thread: a few seconds
        extra = ["--runs", "1", "--tokens", "8", "--threads", "1", "--ctx", "256"]
        return [*default_bench_command(path), *extra]

    page = open_page(qtbot, env, command)
    speed = page.details.speed
    with qtbot.waitSignal(speed.measured, timeout=60_000):
        speed.measure_button.click()
    stored = env.bench.get(EMBEDDED_KEY)
    assert stored is not None and stored["generation_tokens_per_s"] > 0
    assert stored["model"] == str(embedded_model) and stored["runs"] == 1
    assert speed.figures["generation"].text().endswith("tokens/s")


def test_background_task_delivers_on_the_gui_thread(qtbot: QtBot) -> None:
    threads = []

    def work() -> int:
        threads.append(threading.current_thread())
        return 42

    task = BackgroundTask(work)
    seen: list[object] = []
    task.succeeded.connect(lambda value: seen.append((value, threading.current_thread())))
    with qtbot.waitSignal(task.finished):
        task.start()
        assert task.is_running()
    assert seen == [(42, threading.main_thread())] and threads[0] is not threading.main_thread()
    assert not task.is_running()

    def refuse() -> None:
        raise ModelRefusedError("no")

    failing = BackgroundTask(refuse)
    with qtbot.waitSignal(failing.failed) as failed:
        failing.start()
    assert isinstance(failed.args[0], ModelRefusedError)
