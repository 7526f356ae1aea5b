"""Export one chat from the window's sidebar: the chosen filter picks the format."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from desktop.storage.conversations import ConversationStore
from desktop.ui.conversations.export_dialog import export_conversation


def _chat(store: ConversationStore) -> int:
    chat = store.create_conversation("Bread: a plan?")
    store.add_message(chat.id, "user", "How do I bake bread?")
    store.add_message(chat.id, "assistant", "| Step | Time |\n|---|---|\n| Knead | 10 min |")
    return chat.id


@pytest.mark.parametrize(
    ("chosen_filter", "name", "start"),
    [("PDF (*.pdf)", "bread.pdf", b"%PDF"), ("Web page (*.html)", "bread.html", b"<!DOCTYPE")],
)
def test_the_filter_picks_the_format_and_the_extension_is_added(
    qtbot: QtBot,
    store: ConversationStore,
    tmp_path: Path,
    chosen_filter: str,
    name: str,
    start: bytes,
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    offered: list[str] = []

    def choose(_parent: QWidget, _caption: str, suggested: str, _filters: str) -> tuple[str, str]:
        offered.append(suggested)
        return str(tmp_path / "bread"), chosen_filter

    written = export_conversation(parent, store, _chat(store), choose)
    assert written == tmp_path / name
    assert written.read_bytes().startswith(start)
    assert offered[0].endswith("Bread a plan.md")  # the title, safe as a file name


def test_cancel_writes_nothing_and_a_refusal_is_said(
    qtbot: QtBot, store: ConversationStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    chat = _chat(store)
    assert export_conversation(parent, store, chat, lambda *_: ("", "")) is None
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: said.append(text))
    missing = str(tmp_path / "no such folder" / "bread.md")
    assert export_conversation(parent, store, chat, lambda *_: (missing, "Markdown (*.md)")) is None
    assert len(said) == 1 and "no such folder" in said[0]
    assert not (tmp_path / "no such folder").exists()
