"""A preview of what the model sees: the assistant's prompt and examples before a question.

`render_preview` writes the messages `core.assistants.build_messages` makes for one sample
question as plain "System: … / User: … / Assistant: …" text. `PreviewPane` shows it read-only
under an editable sample question. Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from desktop.core.assistants import Assistant, build_messages
from desktop.core.types import ChatMessage

SAMPLE_QUESTION = "Can you help me with something?"
ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}
REPLY_MARK = "Assistant: (the model's answer starts here)"


def render_preview(assistant: Assistant, question: str) -> str:
    """The request for `question` as the model receives it, one block per message."""
    prompt = build_messages(assistant, [ChatMessage("user", question or SAMPLE_QUESTION)])
    blocks = [f"{ROLE_NAMES[m.role]}: {m.content}" for m in prompt.messages]
    return "\n\n".join([*blocks, REPLY_MARK])


class PreviewPane(QWidget):
    """A sample question and the read-only text the model would see for it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._assistant: Assistant | None = None
        hint = QLabel(
            "What the model reads before it answers a sample question. The examples come "
            "first, as if they had already happened; the model's chat template formats each turn."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.question_edit = QLineEdit(SAMPLE_QUESTION)
        self.question_edit.setPlaceholderText("A sample question")
        self.question_edit.setAccessibleName("Sample question")
        self.question_edit.textChanged.connect(self.refresh)
        self.box = QPlainTextEdit()
        self.box.setObjectName("previewBox")
        self.box.setReadOnly(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(hint)
        layout.addWidget(self.question_edit)
        layout.addWidget(self.box, 1)

    def set_assistant(self, assistant: Assistant) -> None:
        self._assistant = assistant
        self.refresh()

    def refresh(self) -> None:
        if self._assistant is None:
            self.box.clear()
            return
        text = render_preview(self._assistant, self.question_edit.text())
        if text != self.box.toPlainText():
            self.box.setPlainText(text)

    def text(self) -> str:
        return self.box.toPlainText()
