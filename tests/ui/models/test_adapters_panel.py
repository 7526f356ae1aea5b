"""The Models page lists each adapter under its base model, imports adapter files (checked
off the GUI thread against the model: good and hostile files), changes the scale and
removes, over a real `ModelLibrary` of a tiny generated model and the real encrypted store."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.inference.bench_results import BenchResults
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.storage.adapters import AdapterStore
from desktop.storage.conversations import ConversationStore
from desktop.ui.models.page import ModelsPage
from tests import tinymodels
from tests.integration.test_adapters import tiny_adapter


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("adapters")
    model = tinymodels.write_tiny_llama_gguf(d / "tiny.gguf")
    good = tiny_adapter(d / "sea.gguf")
    cut = d / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:60])
    notes = d / "notes.gguf"
    notes.write_text("not an adapter at all", encoding="utf-8")
    return {
        "model": model,
        "good": good,
        "other": tiny_adapter(d / "other.gguf", n_embd=tinymodels.N_EMBD * 2),
        "cut": cut,
        "notes": notes,
    }


def open_page(
    qtbot: QtBot, tmp_path: Path, files: dict[str, Path], adapters: AdapterStore
) -> ModelsPage:
    library = ModelLibrary(tmp_path / "models", tmp_path / "models.json", files["model"])
    page = ModelsPage(library, BenchResults(tmp_path / "bench.json"), adapters=adapters)
    qtbot.addWidget(page)
    page.show()
    page.select(EMBEDDED_KEY)
    return page


def imported(qtbot: QtBot, page: ModelsPage, path: Path) -> str:
    panel = page.adapters
    assert panel is not None
    task = panel.import_file(path)
    assert task is not None
    qtbot.waitUntil(lambda: panel.task is None, timeout=20_000)
    return panel.message.text()


def test_adapters_are_imported_listed_under_their_model_rescaled_and_removed(
    qtbot: QtBot,
    tmp_path: Path,
    files: dict[str, Path],
    store: ConversationStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapters = AdapterStore(store.db)
    page = open_page(qtbot, tmp_path, files, adapters)
    panel = page.adapters
    assert panel is not None
    tabs = page.details.tabs
    assert tabs.tabText(tabs.indexOf(panel)) == "Adapters" and tabs.isTabEnabled(
        tabs.indexOf(panel)
    )
    assert panel.empty.text().startswith("No adapters for this model yet.")
    changes: list[bool] = []
    page.library_changed.connect(lambda: changes.append(True))

    said = imported(qtbot, page, files["good"])
    assert said.startswith("Imported the adapter “sea-style” (LoRA rank 4 on 6 weights")
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == [
        "sea-style — rank 4 · 0.0 MB · scale 1 · imported from sea.gguf"
    ]
    assert tabs.tabText(tabs.indexOf(panel)) == "Adapters (1)"  # under its model
    stored = adapters.get("sea-style")
    assert stored.base == EMBEDDED_KEY
    assert changes == [True]

    # Hostile files: refused with the command line's sentence, nothing added.
    refusals = {
        "model": "“tiny.gguf” is a model, not an adapter (its general.type is not “adapter”).",
        "other": "“other.gguf” was made for another model: its blk.0.attn_q.weight is 128×128, "
        "the model's is 64×64.",
        "cut": "“cut.gguf” is incomplete (the file ends too early).",
        "notes": "“notes.gguf” is not a GGUF adapter",
    }
    for name, sentence in refusals.items():
        said = imported(qtbot, page, files[name])
        assert said.startswith(sentence), said
        assert panel.message.property("error") is True
    said = imported(qtbot, page, files["good"])  # the same again: its name is taken
    assert said == "There is already an adapter named “sea-style”; choose another name."
    assert [a.name for a in adapters.adapters()] == ["sea-style"]

    panel.scale.setValue(0.5)
    panel.apply_scale()
    assert adapters.get("sea-style").scale == 0.5
    assert "scale 0.5" in panel.list.item(0).text()

    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Cancel)
    panel.remove_selected()
    assert adapters.find("sea-style") is not None  # cancelled: kept
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    panel.remove_selected()
    assert adapters.adapters() == [] and panel.message.text() == "Removed the adapter “sea-style”."
    assert len(changes) == 3


def test_without_a_store_the_page_has_no_adapters_panel(
    qtbot: QtBot, tmp_path: Path, files: dict[str, Path]
) -> None:
    library = ModelLibrary(tmp_path / "models", tmp_path / "models.json", files["model"])
    page = ModelsPage(library, BenchResults(tmp_path / "bench.json"))
    qtbot.addWidget(page)
    assert page.adapters is None
