"""`hearth docs` as a person runs it: a separate process, the real parser child and the
real encrypted database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import sample_docs
from tests.integration.test_cli import hearth

pytestmark = pytest.mark.slow


def test_add_list_search_reindex_and_remove(tmp_path: Path) -> None:
    data, docs = tmp_path / "data", tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.md").write_text("# Kettle\n## Descaling\nUse citric acid monthly.")
    (docs / "manual.pdf").write_bytes(
        sample_docs.pdf_bytes([["Safety first."], ["Never immerse the base in water."]])
    )
    (docs / "scan.pdf").write_bytes(sample_docs.pdf_bytes([[]]))
    added = hearth(data, "docs", "add", str(docs), "--collection", "Home")
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[0].startswith(
        'Collection "Home": 2 file(s) indexed (3 passages), 1 could not be read in '
    )
    assert f"  {docs / 'scan.pdf'}: no text layer; OCR is not supported yet" in added.stdout
    assert "[3/3 files] 3 passages" in added.stderr  # progress on stderr
    assert "Embedded 3 passages for search by meaning in " in added.stdout
    assert "[3/3 passages embedded]" in added.stderr

    meaning = hearth(data, "docs", "search", "--mode", "meaning", "removing limescale deposits")
    assert (
        meaning.stdout.splitlines()[0]
        == f"[1] {docs / 'kettle.md'} — Kettle › Descaling  (by meaning)"
    )
    words = hearth(data, "docs", "search", "--mode", "words", "removing limescale deposits")
    assert words.returncode == 1 and words.stdout.startswith("No passages match")

    listed = hearth(data, "docs", "list")
    assert listed.stdout == (
        f"Home: 3 file(s) (2 indexed, 1 could not be read), 3 passages\n  {docs}\n"
    )
    files = hearth(data, "docs", "list", "--collection", "home").stdout.splitlines()
    assert files == [
        f"{docs / 'kettle.md'}  indexed (1 passages)",
        f"{docs / 'manual.pdf'}  indexed (2 passages, 2 pages)",
        f"{docs / 'scan.pdf'}  failed: no text layer; OCR is not supported yet",
    ]

    found = hearth(data, "docs", "search", "can", "I", "put", "the", "base", "in", "water?")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[:2] == [
        f"[1] {docs / 'manual.pdf'}, page 2",
        "    Never immerse the [base] in [water].",
    ]
    heading = hearth(data, "docs", "search", "citric").stdout.splitlines()[0]
    assert heading == f"[1] {docs / 'kettle.md'} — Kettle › Descaling"

    (docs / "kettle.md").unlink()
    again = hearth(data, "docs", "reindex")
    assert 'Collection "Home": 0 file(s) indexed (0 passages), 2 unchanged, 1 removed' in (
        again.stdout
    )
    assert hearth(data, "docs", "search", "citric").returncode == 1

    removed = hearth(data, "docs", "remove", "Home")
    assert removed.stdout == 'Removed the collection "Home" and everything indexed from it.\n'
    assert hearth(data, "docs", "list").stdout.startswith("No collections yet")


def test_mistakes_get_one_sentence_and_change_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    missing = hearth(data, "docs", "add", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert (
        missing.stderr
        == f"hearth: {tmp_path / 'nope'}: no such file or folder; nothing was added.\n"
    )
    assert not (data / "hearth.db").exists()  # nothing was created
    unknown = hearth(data, "docs", "search", "x", "--collection", "work")
    last = unknown.stderr.splitlines()[-1]  # after the new key's recovery note
    assert last == 'hearth: There is no collection "work" (collections: none yet).'
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8")
    refused = hearth(data, "docs", "add", str(photo))
    assert refused.returncode == 1
    assert "photo.jpg: not a format Hearth reads (plain text, Markdown, HTML" in refused.stdout
    assert hearth(data, "docs", "remove", "documents", str(tmp_path)).stderr == (
        f'hearth: {tmp_path} is not in the collection "documents"; nothing was removed.\n'
    )
    nothing = hearth(data, "docs", "search", "zebra")
    assert (nothing.returncode, nothing.stdout) == (1, "No passages match 'zebra'.\n")


def test_ask_with_docs_answers_from_the_passages_and_lists_the_sources(tmp_path: Path) -> None:
    data, docs = tmp_path / "data", tmp_path / "house"
    docs.mkdir()
    (docs / "manual.md").write_text(
        "# House manual\n\n## Boiler\n\nThe boiler is in the garage, behind the blue door. "
        "To reset it, hold the red button for ten seconds.\n\n## Garden\n\nWater the roses.\n"
    )
    assert hearth(data, "docs", "add", str(docs), "--collection", "house").returncode == 0
    asked = hearth(
        data, "ask", "--docs", "house", "--temperature", "0", "--max-tokens", "48",
        "--threads", "2", "How do I reset the boiler?",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    answer, sources = asked.stdout.split("\nSources:\n")
    assert "red button" in answer.lower()  # the model read the passage
    assert sources == f"[1] manual.md — House manual › Boiler\n    {docs / 'manual.md'}\n"
    unknown = hearth(data, "ask", "--docs", "work", "--no-save", "hi")
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[-1] == (
        'hearth: There is no collection "work" (collections: house).'
    )
