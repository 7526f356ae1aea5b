"""The editor of one assistant: name, description, system prompt, examples, model, settings,
and the document collections its chats answer from.

`AssistantEditor` shows an `Assistant` and builds a changed copy of it (`draft()`); it never
saves by itself. Save asks the page through `save_requested`, after `problem()` finds
nothing wrong. A built-in opens read-only with a note and a Duplicate button. The examples,
the model with its setting overrides, and a preview of the prompt are in tabs.

Signals: save_requested(), use_requested(), duplicate_requested(), dirty_changed(bool).
Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.assistants import MAX_NAME_CHARS, Assistant, Example, assistant_to_dict
from desktop.core.assistants import name_problem as _name_problem
from desktop.ui.assistants.collections import CollectionChoices, CollectionsChooser
from desktop.ui.assistants.examples import ExamplesEditor
from desktop.ui.assistants.overrides import OverridesEditor
from desktop.ui.assistants.preview import PreviewPane

ModelChoices = Callable[[], list[tuple[str, str]]]
DEFAULT_MODEL_LABEL = "The default model"
READ_ONLY_NOTE = "Built-in assistants can't be changed. Duplicate it to make your own."
PROMPT_PLACEHOLDER = (
    "Tell the model who it is and how to answer, e.g. “You are a patient maths tutor. "
    "Explain each step in simple words.”"
)


def _badge(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.hide()
    return label


class AssistantEditor(QWidget):
    """Shows and edits one assistant; see the module docstring."""

    save_requested = Signal()
    use_requested = Signal()
    duplicate_requested = Signal()
    dirty_changed = Signal(bool)

    def __init__(
        self,
        model_choices: ModelChoices,
        parent: QWidget | None = None,
        collection_choices: CollectionChoices | None = None,
    ) -> None:
        super().__init__(parent)
        self._model_choices = model_choices
        self.documents = CollectionsChooser(collection_choices or list)
        self._assistant = Assistant(id="", name="", system_prompt="")
        self._baseline: dict[str, object] = {}
        self._dirty = False
        self._loading = False
        self._build()
        self._connect()
        self.load(self._assistant)

    # --- construction --------------------------------------------------------------------

    def _build(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("editorTitle")
        self.builtin_badge = _badge("Built-in", "builtinBadge")
        self.current_badge = _badge("In this chat", "currentBadge")
        self.unsaved_label = _badge("Unsaved changes", "unsavedLabel")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.builtin_badge)
        header.addWidget(self.current_badge)
        header.addStretch(1)
        header.addWidget(self.unsaved_label)

        self.read_only_note = QFrame()
        self.read_only_note.setObjectName("readOnlyNote")
        note_text = QLabel(READ_ONLY_NOTE)
        note_text.setWordWrap(True)
        self.duplicate_button = QPushButton("Duplicate")
        note = QHBoxLayout(self.read_only_note)
        note.setContentsMargins(10, 4, 6, 4)
        note.addWidget(note_text, 1)
        note.addWidget(self.duplicate_button)

        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(MAX_NAME_CHARS)
        self.name_edit.setPlaceholderText("A short name, e.g. “Maths tutor”")
        self.description_edit = QLineEdit()
        self.description_edit.setPlaceholderText("One line shown in the list (optional)")
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setPlaceholderText(PROMPT_PLACEHOLDER)
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setFixedHeight(96)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name", self.name_edit)
        form.addRow("Description", self.description_edit)
        form.addRow("System prompt", self.prompt_edit)

        self.examples = ExamplesEditor()
        self.overrides = OverridesEditor()
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(260)
        self.model_combo.setAccessibleName("Default model")
        settings_tab = QWidget()
        settings_form = QFormLayout(settings_tab)
        settings_form.setContentsMargins(8, 12, 8, 8)
        settings_form.addRow("Default model", self.model_combo)
        settings_form.addRow(self.overrides)
        self.preview = PreviewPane()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.examples, "Examples")
        self.tabs.addTab(settings_tab, "Model and settings")
        self.tabs.addTab(self.documents, "Documents")
        self.tabs.addTab(self.preview, "Preview")

        self.message = QLabel()
        self.message.setObjectName("editorMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.use_button = QPushButton("Use in this chat")
        self.revert_button = QPushButton("Revert")
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primaryButton")
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(header)
        column.addWidget(self.read_only_note)
        column.addLayout(form)
        column.addWidget(self.tabs, 1)
        column.addWidget(self.message)
        column.addLayout(buttons)

    def _connect(self) -> None:
        for line in (self.name_edit, self.description_edit):
            line.textChanged.connect(self._on_edited)
        self.prompt_edit.textChanged.connect(self._on_edited)
        self.examples.changed.connect(self._on_edited)
        self.overrides.changed.connect(self._on_edited)
        self.documents.changed.connect(self._on_edited)
        self.model_combo.currentIndexChanged.connect(self._on_edited)
        self.save_button.clicked.connect(self.save_requested)
        self.revert_button.clicked.connect(self.revert)
        self.use_button.clicked.connect(self.use_requested)
        self.duplicate_button.clicked.connect(self.duplicate_requested)
        save = QShortcut(QKeySequence.StandardKey.Save, self)
        save.activated.connect(self._save_shortcut)

    def _save_shortcut(self) -> None:
        if self.save_button.isVisible() and self.save_button.isEnabled():
            self.save_requested.emit()

    # --- showing -------------------------------------------------------------------------

    def load(self, assistant: Assistant, *, in_chat: bool = False) -> None:
        """Show `assistant` (an empty id: a new one, not saved yet); forget any edits."""
        self._assistant = assistant
        self._loading = True
        self.name_edit.setText(assistant.name)
        self.description_edit.setText(assistant.description)
        self.prompt_edit.setPlainText(assistant.system_prompt)
        self.examples.set_examples(assistant.examples)
        self._fill_models(assistant.model)
        self.overrides.set_settings(assistant.settings)
        self.documents.set_checked(assistant.collections)
        read_only = assistant.builtin
        for line in (self.name_edit, self.description_edit):
            line.setReadOnly(read_only)
        self.prompt_edit.setReadOnly(read_only)
        for widget in self.findChildren(QLineEdit) + self.findChildren(QPlainTextEdit):
            widget.style().unpolish(widget)  # the style sheet tints read-only fields
            widget.style().polish(widget)
        self.examples.set_read_only(read_only)
        self.overrides.set_read_only(read_only)
        self.documents.set_read_only(read_only)
        self.model_combo.setEnabled(not read_only)
        self.read_only_note.setVisible(read_only)
        self.builtin_badge.setVisible(read_only)
        for button in (self.save_button, self.revert_button):
            button.setVisible(not read_only)
        self.use_button.setEnabled(self.is_saved())
        self.use_button.setToolTip("" if self.is_saved() else "Save the assistant first.")
        self.set_in_chat(in_chat)
        self._loading = False
        self._baseline = assistant_to_dict(self.draft())
        self.show_message("")
        self._on_edited()

    def _fill_models(self, model: str | None) -> None:
        self.model_combo.clear()
        self.model_combo.addItem(DEFAULT_MODEL_LABEL, None)
        for key, label in self._model_choices():
            self.model_combo.addItem(label, key)
        if model is not None and self.model_combo.findData(model) < 0:
            self.model_combo.addItem(f"{model} (not in the library)", model)
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(model)))

    def set_in_chat(self, in_chat: bool) -> None:
        self.current_badge.setVisible(in_chat and self.is_saved())

    def show_message(self, text: str, *, error: bool = False) -> None:
        """A sentence under the editor: an error in red, or a quiet confirmation."""
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setVisible(bool(text))

    def revert(self) -> None:
        self.load(self._assistant, in_chat=self.current_badge.isVisible())

    # --- reading -------------------------------------------------------------------------

    def assistant(self) -> Assistant:
        """The assistant as loaded (without the edits)."""
        return self._assistant

    def is_saved(self) -> bool:
        return bool(self._assistant.id)

    def is_dirty(self) -> bool:
        return self._dirty

    def draft(self) -> Assistant:
        """The loaded assistant with the edits; blank example pairs are left out."""
        examples = tuple(
            Example(user, answer)
            for user, answer in self.examples.pairs()
            if user.strip() or answer.strip()
        )
        return replace(
            self._assistant,
            name=self.name_edit.text(),
            description=self.description_edit.text(),
            system_prompt=self.prompt_edit.toPlainText(),
            examples=examples,
            model=self.model_combo.currentData(),
            settings=self.overrides.settings(),
            collections=self.documents.checked(),
        )

    def problem(self) -> str | None:
        """Why the draft cannot be saved, as a sentence; None when it can."""
        draft = self.draft()
        if problem := _name_problem(draft.name):
            return f"The assistant cannot be saved: {problem}."
        for number, example in enumerate(draft.examples, start=1):
            if not example.user.strip():
                return f"Example {number} needs what the user says (or remove the example)."
            if not example.assistant.strip():
                return f"Example {number} needs the assistant's answer (or remove the example)."
        return None

    def _on_edited(self) -> None:
        if self._loading:
            return
        draft = self.draft()
        self.title.setText(draft.name.strip() or "New assistant")
        self.preview.set_assistant(draft)
        self.tabs.setTabText(0, f"Examples ({len(draft.examples)})")
        dirty = not self._assistant.builtin and assistant_to_dict(draft) != self._baseline
        self.unsaved_label.setVisible(dirty)
        self.save_button.setEnabled(dirty or not self.is_saved())
        self.revert_button.setEnabled(dirty)
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)
