"""The Documents page on the real store and the real parser: collections, files and their
status, indexing you can watch (progress, pause, cancel), resume, watched folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QTreeWidgetItem
from pytestqt.qtbot import QtBot

from desktop.documents.indexer import IndexReport
from desktop.storage.documents import DocumentStore
from desktop.ui.documents.indexing import IndexingThread, IndexStatus
from desktop.ui.documents.page import DocumentsPage, progress_text
from tests import sample_docs

pytestmark = pytest.mark.slow  # the parser runs in a child process


def notes_folder(folder: Path, count: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"note{n:02d}.md").write_text(f"# Note {n}\nThe boiler code is {n}.")
    return folder


def finish(qtbot: QtBot, indexing: IndexingThread, action: object) -> IndexReport:
    with qtbot.waitSignal(indexing.run_finished, timeout=20_000) as done:
        assert callable(action)
        action()
    assert done.args is not None
    report = done.args[1]
    assert isinstance(report, IndexReport)
    return report


def rows(page: DocumentsPage) -> list[QTreeWidgetItem]:
    found = [page.file_list.topLevelItem(i) for i in range(page.file_list.topLevelItemCount())]
    return [row for row in found if row is not None]


def statuses(page: DocumentsPage) -> dict[str, str]:
    return {row.text(0): row.text(1) for row in rows(page)}


def test_collections_are_made_renamed_and_removed(page: DocumentsPage, docs: DocumentStore) -> None:
    home = page.new_collection("home")
    assert home is not None and page.current_collection() is not None
    assert page.new_collection("Home") is None  # names are case-insensitive
    assert page.progress_label.text() == 'There is already a collection named "Home".'
    assert page.new_collection("  ") is None
    assert page.progress_label.text() == "A collection needs a name."
    page.new_collection("work")
    assert page.rename_collection("office")
    assert [c.name for c in docs.collections()] == ["home", "office"]
    assert page.remove_collection(confirmed=True)
    assert [c.name for c in docs.collections()] == ["home"]


def test_files_and_folders_are_indexed_with_their_status(
    qtbot: QtBot, page: DocumentsPage, indexing: IndexingThread, tmp_path: Path
) -> None:
    folder = notes_folder(tmp_path / "notes", 2)
    (folder / "scan.pdf").write_bytes(sample_docs.pdf_bytes([[]]))
    book = tmp_path / "book.pdf"
    book.write_bytes(sample_docs.pdf_bytes([["Drones do not sting."], ["Workers make wax."]]))
    report = finish(qtbot, indexing, lambda: page.add_paths([folder, book]))
    assert report.indexed == 3 and len(report.failed) == 1
    page.refresh()
    shown = statuses(page)
    assert shown["note00.md"] == "indexed, 1 passage"
    assert shown["book.pdf"].startswith("indexed, ") and shown["book.pdf"].endswith("2 pages")
    assert shown["scan.pdf"] == "not indexed: no text layer; OCR is not supported yet"
    assert page.collection_list.currentItem().text() == "My documents"
    assert page.progress_label.text().startswith("Done: 3 files indexed")
    # Remove one file found in the folder, then the whole folder.
    page.file_list.setCurrentItem(next(r for r in rows(page) if r.text(0) == "note01.md"))
    assert page.remove_selected_file()
    assert statuses(page)["note01.md"] == "not indexed: removed from the collection"
    finish(qtbot, indexing, page.rescan)  # the next scan leaves it out
    assert statuses(page)["note01.md"] == "not indexed: removed from the collection"


def test_progress_pause_and_cancel(
    qtbot: QtBot, page: DocumentsPage, indexing: IndexingThread, tmp_path: Path
) -> None:
    count = 100  # small files go fast: many, so a run is still going when it is paused again
    folder = notes_folder(tmp_path / "many", count)
    seen: list[IndexStatus] = []
    indexing.progressed.connect(seen.append)
    page.pause_button.setChecked(True)  # paused before the first file
    assert page.pause_button.text() == "Resume"
    with qtbot.waitSignal(indexing.progressed, check_params_cb=lambda s: s.paused):
        page.add_paths([folder])
    qtbot.wait(300)
    assert page.progress_label.text() == f"Paused: 0 of {count} files, 0 passages"
    assert seen[-1].files_done == 0  # nothing was read while paused
    page.pause_button.setChecked(False)
    qtbot.waitUntil(lambda: seen[-1].files_done >= 2, timeout=30_000)
    # Paused again mid-run (it holds after the file being read), then cancelled while held:
    # the files done are kept, the rest wait, whatever the speed of this machine.
    with qtbot.waitSignal(indexing.progressed, check_params_cb=lambda s: s.paused):
        page.pause_button.setChecked(True)
    held = seen[-1].files_done
    qtbot.wait(300)
    assert seen[-1].files_done == held  # nothing read while paused
    with qtbot.waitSignal(indexing.run_finished, timeout=30_000) as done:
        page.cancel_button.click()
    report = done.args[1]
    assert report.cancelled and report.indexed == held and 2 <= held < count
    assert page.progress_label.text() == "Cancelled. The files done so far are kept."
    waiting = [s for s in statuses(page).values() if s == "waiting to be read"]
    assert len(waiting) == count - report.indexed


def test_progress_text_says_rate_and_time_left() -> None:
    status = IndexStatus(1, 10, 4, 37, "/x/a.md", 2.0, 3.0)
    assert progress_text(status) == (
        "Indexing: 4 of 10 files, 37 passages · 2.0 files/s · about 3 s left"
    )


def test_an_unfinished_run_continues_on_the_next_start(
    qtbot: QtBot, docs: DocumentStore, indexing: IndexingThread, tmp_path: Path
) -> None:
    folder = notes_folder(tmp_path / "left", 3)
    # What a run killed after recording its work (and before reading a file) leaves.
    collection = docs.collection_id("left", create=True)
    assert collection is not None
    docs.add_source(collection, str(folder))
    docs.add_pending(collection, [(str(p), "markdown") for p in sorted(folder.iterdir())])
    with qtbot.waitSignal(indexing.run_finished, timeout=20_000) as done:
        assert indexing.resume(docs) == [collection]
    assert done.args[1].indexed == 3
    assert docs.collections()[0].pending == 0 and docs.collections()[0].passages == 3


def test_watched_folders_pick_up_added_changed_and_deleted_files(
    qtbot: QtBot, page: DocumentsPage, indexing: IndexingThread, tmp_path: Path
) -> None:
    folder = notes_folder(tmp_path / "watched", 2)
    finish(qtbot, indexing, lambda: page.add_paths([folder]))
    (folder / "new.md").write_text("# New\nA fresh note.")
    (folder / "note00.md").write_text("# Note 0\nChanged and longer than it was before.")
    (folder / "note01.md").unlink()
    report = finish(qtbot, indexing, page.rescan)
    assert (report.indexed, report.removed) == (2, 1)
    assert set(statuses(page)) == {"new.md", "note00.md"}
