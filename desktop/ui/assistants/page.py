"""The Assistants page: the built-in and the user's own assistants, and an editor for them.

`AssistantsPage` lists the assistants of an `AssistantStore` (built-ins first, then the
user's), with New, Duplicate and Delete… (after a confirmation; built-ins cannot be deleted),
and an `AssistantEditor` on the right. Unsaved edits are never dropped silently: switching
to another assistant, New, Duplicate, "Use in this chat" and closing ask Save, Discard or
Cancel first. Store errors and invalid input are shown as a sentence in the page, with
the edits kept. Files the store could not read are listed in a note.

Signals: use_requested(str assistant id), assistants_changed() after any create, edit,
duplicate or delete. Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.assistants import Assistant
from desktop.core.errors import AssistantError
from desktop.storage.assistants import DEFAULT_ASSISTANT_ID, AssistantStore
from desktop.ui.assistants.assistant_list import ID_ROLE, NEW_KEY, fill_list, select_key
from desktop.ui.assistants.editor import AssistantEditor

Button = QMessageBox.StandardButton
BLANK = Assistant(id="", name="", system_prompt="")
LIST_WIDTH = 264


class AssistantsPage(QDialog):
    """The Assistants page; see the module docstring."""

    use_requested = Signal(str)
    assistants_changed = Signal()

    def __init__(
        self,
        store: AssistantStore,
        model_choices: Callable[[], list[tuple[str, str]]],
        parent: QWidget | None = None,
        collection_choices: Callable[[], list[tuple[int, str]]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("assistantsPage")
        self.setWindowTitle("Assistants")
        self._store = store
        self._assistants: dict[str, Assistant] = {}
        self._shown: str | None = None  # the id in the editor; NEW_KEY for a new one
        self._current: str | None = None  # the id the open conversation uses
        self._quiet = False
        self.editor = AssistantEditor(model_choices, collection_choices=collection_choices)
        self._build()
        self.list.currentItemChanged.connect(self._on_item_changed)
        self.new_button.clicked.connect(self.new_assistant)
        self.duplicate_button.clicked.connect(self.duplicate_selected)
        self.editor.duplicate_requested.connect(self.duplicate_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.editor.save_requested.connect(self.save)
        self.editor.use_requested.connect(self._use)
        # Return in a line edit must not press a button (New, Delete… or Close) by surprise.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        self._reload(DEFAULT_ASSISTANT_ID)
        self.resize(960, 680)

    def _build(self) -> None:
        self.problems_note = QLabel()
        self.problems_note.setObjectName("problemsNote")
        self.problems_note.setWordWrap(True)
        self.problems_note.hide()
        self.list = QListWidget()
        self.list.setAccessibleName("Assistants")
        self.list.setObjectName("assistantList")
        self.list.setAccessibleName("Assistants")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Make a new assistant of your own")
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Make an editable copy of this assistant")
        self.delete_button = QPushButton("Delete…")
        buttons = QHBoxLayout()
        for button in (self.new_button, self.duplicate_button, self.delete_button):
            buttons.addWidget(button)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addLayout(buttons)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left.setContentsMargins(0, 0, 0, 0)
        left_widget.setFixedWidth(LIST_WIDTH)
        columns = QHBoxLayout()
        columns.setSpacing(16)
        columns.addWidget(left_widget)
        columns.addWidget(self.editor, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        page = QVBoxLayout(self)
        page.setContentsMargins(16, 14, 16, 12)
        page.addWidget(self.problems_note)
        page.addLayout(columns, 1)
        line = QFrame()
        line.setObjectName("footerLine")
        line.setFrameShape(QFrame.Shape.HLine)
        page.addWidget(line)
        page.addWidget(close)

    # --- public --------------------------------------------------------------------------

    def select(self, assistant_id: str) -> None:
        """Show `assistant_id` in the editor (after settling unsaved edits).

        An id the page has not seen (made since it opened) re-reads the store; one that
        does not exist at all shows the default assistant, as a conversation would use.
        """
        if assistant_id == self._shown or not self.resolve_unsaved():
            return
        if assistant_id in self._assistants:
            self._show(assistant_id)
        else:
            self._reload(assistant_id)

    def set_current(self, assistant_id: str | None) -> None:
        """Mark the assistant the open conversation uses ("In this chat")."""
        self._current = assistant_id
        self._fill()
        self.editor.set_in_chat(self._shown is not None and self._shown == assistant_id)

    def selected_id(self) -> str | None:
        """The saved assistant in the editor, or None for a new one not saved yet."""
        return None if self._shown in (None, NEW_KEY) else self._shown

    def listed_ids(self) -> list[str]:
        items = (self.list.item(row) for row in range(self.list.count()))
        return [key for item in items if isinstance(key := item.data(ID_ROLE), str) and key]

    # --- actions -------------------------------------------------------------------------

    def new_assistant(self) -> None:
        if not self.resolve_unsaved():
            return
        self._shown = NEW_KEY
        self._fill()
        self.editor.load(BLANK)
        self.editor.name_edit.setFocus()

    def duplicate_selected(self) -> None:
        source = self.selected_id()
        if source is None or not self.resolve_unsaved():
            return
        try:
            copy = self._store.duplicate(source)
        except AssistantError as error:
            self.editor.show_message(str(error), error=True)
            return
        self._reload(copy.id)
        self.editor.show_message(f"“{copy.name}” is your own copy: change it as you like.")
        self.editor.name_edit.setFocus()
        self.editor.name_edit.selectAll()
        self.assistants_changed.emit()

    def delete_selected(self) -> None:
        ident = self.selected_id()
        if ident is None or self._assistants[ident].builtin:
            return
        name = self._assistants[ident].name
        fallback = self._assistants.get(DEFAULT_ASSISTANT_ID)
        instead = f" Chats that use it will use “{fallback.name}” instead." if fallback else ""
        answer = QMessageBox.warning(
            self,
            "Delete the assistant?",
            f"Delete “{name}”? This cannot be undone.{instead}",
            Button.Yes | Button.Cancel,
            Button.Cancel,
        )
        if answer != Button.Yes:
            return
        ids = self.listed_ids()
        try:
            self._store.delete(ident)
        except AssistantError as error:
            self.editor.show_message(str(error), error=True)
            return
        index = ids.index(ident)  # show the next one down, else the one above
        neighbours = ids[index + 1 :] + ids[:index][::-1]
        self._reload(neighbours[0] if neighbours else None)
        self.editor.show_message(f"“{name}” was deleted.")
        self.assistants_changed.emit()

    def save(self) -> bool:
        """Check and save the editor's assistant; on failure say why and keep the edits."""
        if problem := self.editor.problem():
            self.editor.show_message(problem, error=True)
            return False
        draft = self.editor.draft()
        try:
            if self.editor.is_saved():
                saved = self._store.update(draft)
            else:
                saved = self._store.create(
                    draft.name,
                    draft.system_prompt,
                    draft.examples,
                    description=draft.description,
                    model=draft.model,
                    settings=draft.settings,
                )
        except AssistantError as error:
            self.editor.show_message(str(error), error=True)
            return False
        self._reload(saved.id)
        self.editor.show_message(f"“{saved.name}” was saved.")
        self.assistants_changed.emit()
        return True

    def resolve_unsaved(self) -> bool:
        """Ask Save / Discard / Cancel for unsaved edits; True when it is fine to move on."""
        if not self.editor.is_dirty():
            return True
        name = self.editor.draft().name.strip() or "the new assistant"
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to “{name}”?",
            Button.Save | Button.Discard | Button.Cancel,
            Button.Save,
        )
        if answer == Button.Save:
            return self.save()
        if answer == Button.Discard:
            self.editor.revert()
            return True
        return False

    def reject(self) -> None:
        if self.resolve_unsaved():
            super().reject()

    def _use(self) -> None:
        ident = self.selected_id()
        if ident is not None and self.resolve_unsaved():
            self.use_requested.emit(ident)

    # --- list ----------------------------------------------------------------------------

    def _reload(self, select: str | None) -> None:
        """Read the store again, refill the list and show `select` (else the default)."""
        assistants = self._store.assistants()
        self._assistants = {a.id: a for a in assistants}
        problems = self._store.problems
        self.problems_note.setText(
            "Some assistant files could not be read. They are not listed and were left "
            "as they are:\n" + "\n".join(f"• {p}" for p in problems)
        )
        self.problems_note.setVisible(bool(problems))
        if select not in self._assistants:
            select = DEFAULT_ASSISTANT_ID if DEFAULT_ASSISTANT_ID in self._assistants else None
        if select is None and assistants:
            select = assistants[0].id
        self._shown = None
        if select is None:
            self._fill()
            self.editor.load(BLANK)
            return
        self._show(select)

    def _show(self, key: str) -> None:
        self._shown = key
        self._fill()
        assistant = self._assistants.get(key, BLANK)
        self.editor.load(assistant, in_chat=key == self._current)

    def _fill(self) -> None:
        self._quiet = True
        try:
            assistants = list(self._assistants.values())
            fill_list(self.list, assistants, self._shown, self._current, LIST_WIDTH - 24)
        finally:
            self._quiet = False
        shown = self._assistants.get(self._shown or "")
        mine = shown is not None and not shown.builtin
        self.duplicate_button.setEnabled(shown is not None)
        self.delete_button.setEnabled(mine)
        self.delete_button.setToolTip(
            "Built-in assistants can't be deleted; duplicate one to change it."
            if shown is not None and shown.builtin
            else "Delete this assistant"
        )

    def _on_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        if self._quiet or current is None:
            return
        target = current.data(ID_ROLE)
        if not isinstance(target, str) or target == self._shown:
            return
        self._quiet = True  # the list stays on what the editor shows until edits are settled
        try:
            select_key(self.list, self._shown)
        finally:
            self._quiet = False
        if self.resolve_unsaved() and target in self._assistants:
            self._show(target)
