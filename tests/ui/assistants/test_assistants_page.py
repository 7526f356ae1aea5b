"""The Assistants page over a real `AssistantStore`: the shipped built-ins in
resources/assistants and the user's own assistants in a temporary directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.core.assistants import Example
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
from desktop.ui.assistants.assistant_list import BUILTIN_HEADER, ID_ROLE, MINE_HEADER, item_name
from desktop.ui.assistants.editor import DEFAULT_MODEL_LABEL, READ_ONLY_NOTE
from desktop.ui.assistants.page import AssistantsPage
from desktop.ui.assistants.preview import REPLY_MARK

Button = QMessageBox.StandardButton
MODELS = [("smollm2-135m", "SmolLM2 135M"), ("qwen-0.5b", "Qwen2.5 0.5B")]
BUILTINS = ["general", "coder", "summariser", "writer"]


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    return tmp_path / "config" / "assistants"


@pytest.fixture
def store(user_dir: Path) -> AssistantStore:
    return AssistantStore(builtin_assistants_dir(), user_dir)


@pytest.fixture
def tutor(store: AssistantStore) -> str:
    return store.create(
        "Tutor",
        "Explain step by step.",
        (Example("What is 2+2?", "2 and 2 make 4."), Example("Half of 10?", "10 / 2 = 5.")),
        settings={"temperature": 0.4},
    ).id


@pytest.fixture
def page(qtbot: QtBot, store: AssistantStore) -> Iterator[AssistantsPage]:
    page = AssistantsPage(store, lambda: MODELS)
    page.show()
    qtbot.waitExposed(page)
    yield page
    # Closed here rather than by qtbot (which closes before fixtures end, while a test's
    # unsaved edits would still make closing ask its question).
    page.editor.revert()
    page.close()
    page.deleteLater()


class Answers:
    """Stands in for QMessageBox's static question/warning: records them, gives `answer`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, answer: Button) -> None:
        self.answer = answer
        self.texts: list[str] = []
        monkeypatch.setattr(QMessageBox, name, self)

    def __call__(self, _parent: Any, _title: str, text: str, *_args: Any) -> Button:
        self.texts.append(text)
        return self.answer


def row_of(page: AssistantsPage, key: str) -> int:
    rows = range(page.list.count())
    return next(r for r in rows if page.list.item(r).data(ID_ROLE) == key)


def test_the_list_shows_the_builtins_first_then_the_users_own(
    page: AssistantsPage, store: AssistantStore, user_dir: Path, tutor: str
) -> None:
    (user_dir / "broken.json").write_text("{not json", encoding="utf-8")
    page.set_current("writer")
    page.new_assistant()
    page.editor.name_edit.setText("Poet")
    page.editor.prompt_edit.setPlainText("Answer in verse.")
    assert page.save()
    assert page.listed_ids()[:4] == BUILTINS
    assert page.listed_ids()[4:] == ["poet", tutor]
    names = [item_name(page.list.item(row)) for row in range(page.list.count())]
    assert names.index(BUILTIN_HEADER) == 0 and names.index(MINE_HEADER) == 5
    assert page.problems_note.isVisibleTo(page)
    assert "broken.json" in page.problems_note.text()
    assert page.editor.current_badge.isHidden()
    page.select("writer")
    assert page.editor.current_badge.isVisibleTo(page)


def test_a_builtin_opens_read_only_and_cannot_be_deleted(page: AssistantsPage) -> None:
    assert page.selected_id() == "general"
    page.select("writer")
    editor = page.editor
    assert editor.name_edit.text() == "Writer" and editor.name_edit.isReadOnly()
    assert editor.prompt_edit.isReadOnly() and not editor.model_combo.isEnabled()
    assert editor.examples.cards[0].user_edit.isReadOnly()
    assert not editor.examples.add_button.isVisibleTo(page)
    assert editor.read_only_note.isVisibleTo(page) and editor.builtin_badge.isVisibleTo(page)
    assert not editor.save_button.isVisibleTo(page)
    assert not page.delete_button.isEnabled()
    assert "duplicate" in page.delete_button.toolTip()
    assert READ_ONLY_NOTE == "Built-in assistants can't be changed. Duplicate it to make your own."
    assert editor.use_button.isEnabled() and page.duplicate_button.isEnabled()


def test_a_new_assistant_is_saved_and_reads_back_from_disk(
    qtbot: QtBot, page: AssistantsPage, user_dir: Path
) -> None:
    page.new_button.click()
    editor = page.editor
    assert page.selected_id() is None and not editor.use_button.isEnabled()
    editor.name_edit.setText("Maths tutor")
    editor.description_edit.setText("Step by step.")
    editor.prompt_edit.setPlainText("You are a patient maths tutor.")
    for user, answer in (("15% of 80?", "80 × 0.15 = 12."), ("0.5 > 0.45?", "Yes: 50 > 45.")):
        card = editor.examples.add_example()
        assert card is not None
        card.user_edit.setPlainText(user)
        card.assistant_edit.setPlainText(answer)
    assert editor.model_combo.itemText(0) == DEFAULT_MODEL_LABEL
    editor.model_combo.setCurrentIndex(editor.model_combo.findData("qwen-0.5b"))
    temperature = editor.overrides.rows["temperature"]
    temperature.check.setChecked(True)
    temperature.set_value(0.3)
    assert editor.is_dirty() and editor.unsaved_label.isVisibleTo(page)
    with qtbot.waitSignal(page.assistants_changed, timeout=1000):
        editor.save_button.click()

    saved = json.loads((user_dir / "maths-tutor.json").read_text(encoding="utf-8"))
    assert saved["settings"] == {"temperature": 0.3}
    again = AssistantStore(builtin_assistants_dir(), user_dir).get("maths-tutor")
    assert again.examples == (
        Example("15% of 80?", "80 × 0.15 = 12."),
        Example("0.5 > 0.45?", "Yes: 50 > 45."),
    )
    assert (again.model, again.description) == ("qwen-0.5b", "Step by step.")
    assert again.system_prompt == "You are a patient maths tutor."
    assert page.selected_id() == "maths-tutor" and not editor.is_dirty()
    assert "saved" in editor.message.text() and editor.use_button.isEnabled()


def test_duplicating_a_builtin_gives_an_editable_copy(
    qtbot: QtBot, page: AssistantsPage, store: AssistantStore
) -> None:
    writer = store.get("writer")
    page.select("writer")
    with qtbot.waitSignal(page.assistants_changed, timeout=1000):
        page.editor.duplicate_button.click()
    copy = page.selected_id()
    assert copy is not None and copy != "writer"
    assert page.editor.name_edit.text() == "Writer (copy)"
    assert not page.editor.name_edit.isReadOnly() and page.delete_button.isEnabled()
    page.editor.prompt_edit.setPlainText("Write like a pirate.")
    assert page.save()
    assert store.get(copy).system_prompt == "Write like a pirate."
    assert store.get(copy).examples == writer.examples
    assert store.get("writer") == writer


def test_delete_asks_first_and_removes_the_file(
    qtbot: QtBot,
    page: AssistantsPage,
    store: AssistantStore,
    user_dir: Path,
    tutor: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page.select(tutor)  # made after the page opened: the page reads the store again
    answers = Answers(monkeypatch, "warning", Button.Cancel)
    page.delete_button.click()
    assert answers.texts and "Tutor" in answers.texts[0]
    assert (user_dir / f"{tutor}.json").exists() and page.selected_id() == tutor
    answers.answer = Button.Yes
    with qtbot.waitSignal(page.assistants_changed, timeout=1000):
        page.delete_button.click()
    assert not (user_dir / f"{tutor}.json").exists()
    assert tutor not in page.listed_ids() and tutor not in {a.id for a in store.assistants()}
    assert page.selected_id() in BUILTINS


def test_an_empty_name_or_half_example_is_explained_and_nothing_is_saved(
    page: AssistantsPage, user_dir: Path
) -> None:
    page.new_assistant()
    editor = page.editor
    editor.prompt_edit.setPlainText("Keep this prompt.")
    editor.save_button.click()
    assert editor.message.text() == "The assistant cannot be saved: its name is empty."
    assert editor.message.isVisibleTo(page)
    editor.name_edit.setText("Half")
    card = editor.examples.add_example()
    assert card is not None
    card.user_edit.setPlainText("A question with no answer")
    assert not page.save()
    assert "Example 1 needs the assistant's answer" in editor.message.text()
    assert not user_dir.exists() or not list(user_dir.glob("*.json"))
    assert editor.prompt_edit.toPlainText() == "Keep this prompt."
    assert editor.examples.pairs() == [("A question with no answer", "")]


def test_a_store_error_is_shown_and_the_edits_are_kept(
    page: AssistantsPage, user_dir: Path, tutor: str
) -> None:
    page.select(tutor)
    (user_dir / f"{tutor}.json").unlink()  # removed behind the page's back
    page.editor.prompt_edit.setPlainText("My careful edit.")
    assert not page.save()
    assert "There is no assistant" in page.editor.message.text()
    assert page.editor.prompt_edit.toPlainText() == "My careful edit."


def test_unsaved_edits_ask_before_switching_or_closing(
    page: AssistantsPage, store: AssistantStore, tutor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    page.select(tutor)
    page.editor.prompt_edit.setPlainText("Edited.")
    answers = Answers(monkeypatch, "question", Button.Cancel)
    page.list.setCurrentRow(row_of(page, "writer"))
    assert answers.texts == ["Save the changes to “Tutor”?"]
    assert page.selected_id() == tutor and page.list.currentItem().data(ID_ROLE) == tutor
    assert page.editor.prompt_edit.toPlainText() == "Edited."
    page.reject()
    assert page.isVisible() and len(answers.texts) == 2

    answers.answer = Button.Save
    page.list.setCurrentRow(row_of(page, "writer"))
    assert page.selected_id() == "writer"
    assert store.get(tutor).system_prompt == "Edited."

    page.select(tutor)
    page.editor.prompt_edit.setPlainText("Thrown away.")
    answers.answer = Button.Discard
    page.select("coder")
    assert page.selected_id() == "coder" and len(answers.texts) == 4
    assert store.get(tutor).system_prompt == "Edited."
    page.select("writer")  # nothing unsaved: no question
    page.new_assistant()
    assert "" in [page.list.item(r).data(ID_ROLE) for r in range(page.list.count())]
    page.select("coder")  # an untouched new one is simply dropped
    assert len(answers.texts) == 4
    assert "" not in [page.list.item(r).data(ID_ROLE) for r in range(page.list.count())]


def test_use_in_this_chat_emits_the_id_and_the_badge_follows(
    qtbot: QtBot, page: AssistantsPage
) -> None:
    page.select("coder")
    with qtbot.waitSignal(page.use_requested, timeout=1000) as blocker:
        page.editor.use_button.click()
    assert blocker.args == ["coder"]
    page.set_current("coder")
    assert page.editor.current_badge.isVisibleTo(page)
    entry = page.list.itemWidget(page.list.item(row_of(page, "coder")))
    assert entry is not None and entry.findChild(type(page.editor.title), "currentBadge")


def test_the_preview_shows_prompt_examples_and_question_in_order(
    page: AssistantsPage, tutor: str
) -> None:
    page.select(tutor)
    preview = page.editor.preview
    preview.question_edit.setText("What is 3+3?")
    text = preview.text()
    parts = [
        "System: Explain step by step.",
        "User: What is 2+2?",
        "Assistant: 2 and 2 make 4.",
        "User: Half of 10?",
        "Assistant: 10 / 2 = 5.",
        "User: What is 3+3?",
        REPLY_MARK,
    ]
    positions = [text.index(part) for part in parts]
    assert positions == sorted(positions)
    first = page.editor.examples.cards[0]
    first.down_button.click()  # reorder: the preview follows
    assert preview.text().index("Half of 10?") < preview.text().index("What is 2+2?")
    assert page.editor.examples.cards[0].title.text() == "Example 1"


def test_settings_and_models_the_form_does_not_edit_are_kept(
    page: AssistantsPage, store: AssistantStore
) -> None:
    odd = store.create(
        "Odd",
        "Prompt.",
        model="a-model-since-removed",
        settings={"temperature": 0.5, "context_length": 2048},
    )
    page.select(odd.id)
    editor = page.editor
    assert "not in the library" in editor.model_combo.currentText()
    assert not editor.is_dirty()
    editor.overrides.rows["temperature"].check.setChecked(False)
    assert page.save()
    again = store.get(odd.id)
    assert again.settings == {"context_length": 2048}
    assert again.model == "a-model-since-removed"
