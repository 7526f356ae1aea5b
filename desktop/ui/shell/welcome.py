"""What a new chat shows under "How can I help?": example prompts that suit a small model,
and an honest line about the built-in model with the way to a bigger one. Its width
follows the text size; a prompt that does not fit on one line wraps.

Signals: prompt_chosen(str) (an example was clicked: send it), models_requested().
Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.ui.common.fitting import WrappingButton

EXAMPLE_PROMPTS = (
    "Write a short poem about the sea",
    "Give me three ideas for a rainy afternoon",
    "Explain what a noun is, with two examples",
    "Make this more polite: send me the report now",
)
BUILTIN_NOTE = (
    "The built-in model is tiny: it is good at short, simple tasks and is often wrong about "
    "facts and sums. For better answers, add a bigger model (a .gguf file) in Models."
)
#: The widest the column gets, in average characters of its font.
WIDTH_CHARS = 52


class Welcome(QWidget):
    """Example prompts and the built-in model's note; see the module docstring."""

    prompt_chosen = Signal(str)
    models_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 16, 0, 0)
        column.setSpacing(6)
        title = QLabel("Try one of these")
        title.setObjectName("sidebarTitle")
        column.addWidget(title)
        self.examples: list[QPushButton] = []
        for prompt in EXAMPLE_PROMPTS:
            button = WrappingButton(prompt)
            button.setObjectName("examplePrompt")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setToolTip("Send this message")
            button.clicked.connect(lambda _checked=False, p=prompt: self.prompt_chosen.emit(p))
            column.addWidget(button)
            self.examples.append(button)
        self.builtin_note = QLabel(BUILTIN_NOTE)
        self.builtin_note.setObjectName("mutedText")
        self.builtin_note.setWordWrap(True)
        self.models_button = QPushButton("Open Models…")
        self.models_button.setToolTip("Add, choose and tune models")
        self.models_button.clicked.connect(self.models_requested)
        column.addSpacing(10)
        column.addWidget(self.builtin_note)
        column.addWidget(self.models_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.set_builtin(False)
        self._fit_width()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # the text size changed
            self._fit_width()

    def _fit_width(self) -> None:
        self.setMaximumWidth(self.fontMetrics().averageCharWidth() * WIDTH_CHARS)

    def tab_stops(self) -> list[QWidget]:
        """Its buttons in screen order, for the window's Tab order."""
        return [*self.examples, self.models_button]

    def set_builtin(self, builtin: bool) -> None:
        """Show the note while the built-in model answers."""
        self.builtin_note.setVisible(builtin)
        self.models_button.setVisible(builtin)
