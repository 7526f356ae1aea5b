"""The indexer on real files, the real parser child and the real encrypted database:
every format in one folder, hostile files beside them, incremental updates, resume after
a kill."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.documents.indexer import Indexer, IndexProgress
from desktop.documents.parse_office import NO_TEXT_LAYER
from desktop.documents.parser import DocumentParser
from desktop.storage.db import Database
from desktop.storage.documents import DocumentStore
from desktop.storage.migrations import open_and_migrate
from tests import sample_docs
from tests.integration.test_cli import hearth

pytestmark = pytest.mark.slow

KEY = bytes(range(32))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_and_migrate(tmp_path / "hearth.db", KEY)
    yield database
    database.close()


@pytest.fixture(scope="module")
def parser() -> Iterator[DocumentParser]:
    with DocumentParser() as shared:
        yield shared


def library(folder: Path) -> Path:
    """A folder of every format, a hidden file, a photo, and hostile files."""
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.md").write_text("# Bees\nBees dance to show where nectar is.")
    (folder / "todo.txt").write_text("Buy beeswax candles.")
    (folder / "page.html").write_text("<h1>Hives</h1><p>A hive holds one queen.</p>")
    (folder / "sub" / "hive.py").write_text("def swarm():\n    return 'bees leave in spring'\n")
    (folder / "sub" / "book.pdf").write_bytes(
        sample_docs.pdf_bytes([["Drones do not sting."], ["Workers make wax."]])
    )
    sample_docs.write_docx(folder / "garden.docx")
    sample_docs.write_odt(folder / "log.odt")
    sample_docs.write_epub(folder / "sea.epub")
    (folder / ".hidden.txt").write_text("bees secret")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "scan.pdf").write_bytes(sample_docs.pdf_bytes([[]]))
    (folder / "locked.pdf").write_bytes(sample_docs.pdf_bytes([["x"]], encrypted=True))
    sample_docs.write_sparse(folder / "huge.txt", 2 * 2**30)
    sample_docs.symlink_loop(folder)
    os.symlink(folder, folder / "sub" / "back")  # a folder link back up: walked once
    return folder


def test_a_folder_of_every_format_with_hostile_files(
    tmp_path: Path, db: Database, parser: DocumentParser
) -> None:
    folder = library(tmp_path / "lib")
    seen: list[tuple[int, int]] = []
    store = DocumentStore(db)
    report = Indexer(store, parser, lambda p: seen.append((p.files_done, p.files_total))).add(
        "lib", [folder]
    )
    assert report.indexed == 8 and report.passages >= 10
    assert dict((Path(p).name, r) for p, r in report.failed) == {
        "scan.pdf": NO_TEXT_LAYER,
        "locked.pdf": "encrypted with a password; Hearth cannot read it",
        "huge.txt": "too large to index (2.0 GB; the limit is 512 MB)",
        "one.txt": "a symbolic link loop",
        "two.txt": "a symbolic link loop",
    }
    assert seen[0] == (0, 13) and seen[-1] == (13, 13)
    files = store.files(store.collection_id("lib") or 0)
    assert not any("hidden" in p or "photo" in p or "/back/" in p for p in files)
    assert files[str(folder / "sub" / "book.pdf")].pages == 2
    hits = store.search("drones sting")
    assert (Path(hits[0].path).name, hits[0].page) == ("book.pdf", 1)


def test_only_changed_files_are_redone_and_deleted_ones_purged(
    tmp_path: Path, db: Database, parser: DocumentParser
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(4):
        (folder / f"n{n}.md").write_text(f"# Note {n}\nplain words number{n}")
    store = DocumentStore(db)
    indexer = Indexer(store, parser)
    first = indexer.add("notes", [folder])
    assert (first.indexed, first.unchanged) == (4, 0)
    (folder / "n0.md").write_text("# Note 0\nrewritten with marmalade")  # changed
    os.utime(folder / "n1.md", ns=(1, time.time_ns()))  # touched, same content
    (folder / "n2.md").unlink()  # deleted
    (folder / "n9.md").write_text("a new note")  # new
    before = parser.children_started
    second = indexer.index(store.collection_id("notes") or 0)
    assert (second.indexed, second.unchanged, second.removed) == (2, 2, 1)
    assert [Path(h.path).name for h in store.search("marmalade")] == ["n0.md"]
    assert store.search("number0 number2") == []
    assert parser.children_started == before  # one child for everything
    third = indexer.index(store.collection_id("notes") or 0)
    assert (third.indexed, third.unchanged, third.removed) == (0, 4, 0)


def test_a_killed_run_is_continued_by_the_next(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(12):
        (folder / f"f{n:02d}.txt").write_text(f"file {n} says hello{n}")
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HEARTH_DATA_DIR": str(data_dir)}
    driver = Path(__file__).with_name("kill_during_indexing.py")
    killed = subprocess.run(
        [sys.executable, str(driver), str(data_dir), str(folder), "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    resumed = hearth(data_dir, "docs", "reindex")
    assert resumed.returncode == 0, resumed.stderr
    assert 'Collection "notes": 7 file(s) indexed (7 passages), 5 unchanged' in resumed.stdout
    listed = hearth(data_dir, "docs", "list")
    assert "notes: 12 file(s) (12 indexed), 12 passages" in listed.stdout


def test_progress_says_rate_and_time_left() -> None:
    progress = IndexProgress(files_total=10, files_done=4, started=time.monotonic() - 2)
    assert progress.rate() == pytest.approx(2.0, rel=0.05)
    left = progress.seconds_left()
    assert left is not None and left == pytest.approx(3.0, rel=0.05)
