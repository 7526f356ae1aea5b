"""A page's message line: a sentence in the style of a confirmation, or of an error; and
the question before something is deleted.

Pages keep a `QLabel` (object name `pageMessage`) for what their last action did;
`show_message` sets its text and its `error` property (the style sheet colours it) and
hides it when there is nothing to say. `confirm` asks Yes/Cancel (Cancel by default).
Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def show_message(label: QLabel, text: str, error: bool = False) -> None:
    label.setText(text)
    label.setProperty("error", error)
    label.style().unpolish(label)  # the property changes the style sheet's rule
    label.style().polish(label)
    label.setVisible(bool(text))


def confirm(parent: QWidget, title: str, question: str) -> bool:
    """True when the user answers Yes (Cancel is the default)."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent, title, question, buttons.Cancel | buttons.Yes, buttons.Cancel
    )
    return answer == buttons.Yes
