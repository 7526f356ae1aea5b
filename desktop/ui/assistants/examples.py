"""The few-shot examples of an assistant: "User says" / "Assistant answers" pairs.

`ExamplesEditor` shows one card per example, each with Up, Down and Remove, and an
"Add example" button (at most `MAX_EXAMPLES`). `pairs()` gives the texts exactly as typed,
blank ones included, so the editor can check them before anything is saved.

Signals: changed() after any edit, addition, removal or move. Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.assistants import MAX_EXAMPLES, Example

TEXT_HEIGHT = 66


def _text_edit(placeholder: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText(placeholder)
    edit.setTabChangesFocus(True)
    edit.setFixedHeight(TEXT_HEIGHT)
    return edit


def _tool(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName("cardAction")
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    return button


class ExampleCard(QFrame):
    """One exchange: what the user says, and the answer the assistant should model."""

    changed = Signal()
    move_requested = Signal(int)  # -1: up, +1: down
    remove_requested = Signal()

    def __init__(self, example: Example | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exampleCard")
        self.title = QLabel()
        self.title.setObjectName("exampleTitle")
        self.up_button = _tool("↑", "Move this example up")
        self.down_button = _tool("↓", "Move this example down")
        self.remove_button = _tool("Remove", "Remove this example")
        self.up_button.clicked.connect(lambda: self.move_requested.emit(-1))
        self.down_button.clicked.connect(lambda: self.move_requested.emit(1))
        self.remove_button.clicked.connect(self.remove_requested)
        self.user_edit = _text_edit("What the user says…")
        self.assistant_edit = _text_edit("The answer the assistant should give…")
        if example is not None:
            self.user_edit.setPlainText(example.user)
            self.assistant_edit.setPlainText(example.assistant)
        for edit in (self.user_edit, self.assistant_edit):
            edit.textChanged.connect(self.changed)

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        for button in (self.up_button, self.down_button, self.remove_button):
            header.addWidget(button)
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 6, 10, 10)
        grid.setVerticalSpacing(4)
        grid.addLayout(header, 0, 0, 1, 2)
        for column, (caption, edit) in enumerate(
            (("User says", self.user_edit), ("Assistant answers", self.assistant_edit))
        ):
            label = QLabel(caption)
            label.setObjectName("fieldCaption")
            label.setBuddy(edit)
            grid.addWidget(label, 1, column)
            grid.addWidget(edit, 2, column)

    def pair(self) -> tuple[str, str]:
        return self.user_edit.toPlainText(), self.assistant_edit.toPlainText()

    def set_position(self, index: int, count: int, read_only: bool) -> None:
        self.title.setText(f"Example {index + 1}")
        self.up_button.setEnabled(index > 0)
        self.down_button.setEnabled(index < count - 1)
        for button in (self.up_button, self.down_button, self.remove_button):
            button.setVisible(not read_only)
        for edit in (self.user_edit, self.assistant_edit):
            edit.setReadOnly(read_only)


class ExamplesEditor(QWidget):
    """The list of example cards with Add, Remove and reordering; see the module docstring."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards: list[ExampleCard] = []
        self._read_only = False
        hint = QLabel(
            "Example exchanges show the model the kind of answer you want. They are sent "
            "before every conversation, as if they had already happened."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self._column = QVBoxLayout()
        self._column.setContentsMargins(0, 0, 4, 0)
        self._column.setSpacing(8)
        self.empty_label = QLabel("No examples: the model goes by the system prompt alone.")
        self.empty_label.setObjectName("hint")
        self.add_button = QPushButton("Add example")
        self.add_button.clicked.connect(self.add_example)
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        footer = QHBoxLayout()
        footer.addWidget(self.add_button)
        footer.addWidget(self.count_label)
        footer.addStretch(1)
        self._column.addWidget(self.empty_label)
        self._column.addLayout(footer)
        self._column.addStretch(1)
        inner = QWidget()
        inner.setObjectName("examplesInner")
        inner.setLayout(self._column)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("examplesScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(hint)
        layout.addWidget(self.scroll_area, 1)
        self._update()

    # --- contents ------------------------------------------------------------------------

    def set_examples(self, examples: Sequence[Example]) -> None:
        for card in self.cards:
            self._discard(card)
        self.cards = []
        for example in examples:
            self._insert(ExampleCard(example))
        self._update()

    def pairs(self) -> list[tuple[str, str]]:
        """Each card's (user, assistant) text as typed, in order."""
        return [card.pair() for card in self.cards]

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only
        self._update()

    # --- editing -------------------------------------------------------------------------

    def add_example(self) -> ExampleCard | None:
        if len(self.cards) >= MAX_EXAMPLES or self._read_only:
            return None
        card = self._insert(ExampleCard())
        self._update()
        card.user_edit.setFocus()
        QTimer.singleShot(0, lambda: self.scroll_area.ensureWidgetVisible(card))
        self.changed.emit()
        return card

    def remove_card(self, card: ExampleCard) -> None:
        self.cards.remove(card)
        self._discard(card)
        self._update()
        self.changed.emit()

    def move_card(self, card: ExampleCard, delta: int) -> None:
        index = self.cards.index(card)
        target = index + delta
        if not 0 <= target < len(self.cards):
            return
        self.cards.insert(target, self.cards.pop(index))
        self._column.removeWidget(card)
        self._column.insertWidget(target, card)
        self._update()
        self.changed.emit()

    def _discard(self, card: ExampleCard) -> None:
        self._column.removeWidget(card)
        card.hide()  # deleted later, from the event loop; hidden now
        card.deleteLater()

    def _insert(self, card: ExampleCard) -> ExampleCard:
        self._column.insertWidget(len(self.cards), card)
        self.cards.append(card)
        card.changed.connect(self.changed)
        card.move_requested.connect(lambda delta: self.move_card(card, delta))
        card.remove_requested.connect(lambda: self.remove_card(card))
        return card

    def _update(self) -> None:
        count = len(self.cards)
        for index, card in enumerate(self.cards):
            card.set_position(index, count, self._read_only)
        self.empty_label.setVisible(count == 0)
        full = count >= MAX_EXAMPLES
        self.add_button.setVisible(not self._read_only)
        self.add_button.setEnabled(not full)
        self.add_button.setToolTip(
            f"An assistant can have at most {MAX_EXAMPLES} examples." if full else ""
        )
        self.count_label.setText(f"{count} of at most {MAX_EXAMPLES}")
        self.count_label.setVisible(not self._read_only)
