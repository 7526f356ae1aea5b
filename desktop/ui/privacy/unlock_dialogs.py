"""The dialogs of the unlock flow (`desktop.ui.privacy.unlock`): passphrase, first-run protection
choice, recovery key entry, and showing a new recovery key.

`QtPrompter` implements the flow's `Prompter` with them. Each dialog class can also be
built and filled directly (tests do), and none of them ever shows a secret in a log.
Thread: GUI thread only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.privacy.unlock import NO_ENCRYPTION, RETRY, USE_RECOVERY_KEY

MIN_PASSPHRASE = 8
#: The narrowest dialog, and its usual width in average characters of its font.
MIN_DIALOG_WIDTH = 460
DIALOG_CHARS = 60


def _label(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


def _secret(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    edit.setAccessibleName(placeholder)
    return edit


class _Dialog(QDialog):
    """A titled dialog with an explanation, an error line and a button box."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.column = QVBoxLayout(self)
        heading = _label(title, "dialogHeading")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        self.column.addWidget(heading)
        self.column.addWidget(_label(text))
        self.error = _label("", "errorText")
        self.error.hide()
        self.buttons = QDialogButtonBox()
        self.buttons.rejected.connect(self.reject)

    def finish_layout(self) -> None:
        self.column.addWidget(self.error)
        self.column.addWidget(self.buttons)
        self.fit()

    def show_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))
        self.fit()  # the dialog grows to show the message, and shrinks back

    def fit(self) -> None:
        """As wide as its buttons in a row (at least `DIALOG_CHARS` characters), or with
        the buttons stacked when a row would not fit the screen; as tall as its text
        needs at that width, so large text is never squeezed."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)
        margins = self.column.contentsMargins()
        sides = margins.left() + margins.right()
        horizontal = Qt.Orientation.Horizontal
        self.buttons.setOrientation(horizontal)
        row = self.buttons.sizeHint().width() + sides
        if row > area.width() * 7 // 10:
            self.buttons.setOrientation(Qt.Orientation.Vertical)
            row = self.buttons.sizeHint().width() + sides
        chars = self.fontMetrics().averageCharWidth() * DIALOG_CHARS
        width = min(max(MIN_DIALOG_WIDTH, chars, row), area.width() - 40)
        self.column.activate()
        height = self.column.totalHeightForWidth(width)
        if height < 0:
            height = self.column.totalSizeHint().height()
        height = min(height, area.height() - 40)
        self.setMinimumSize(min(width, row), height)
        self.resize(width, height)


class PassphraseDialog(_Dialog):
    """Asks for the passphrase; "Use recovery key" is the way out when it is forgotten."""

    def __init__(self, reason: str, error: str | None, parent: QWidget | None = None) -> None:
        super().__init__("Unlock your conversations", reason, parent)
        self.passphrase = _secret("Passphrase")
        self.column.addWidget(self.passphrase)
        self.unlock = self.buttons.addButton("Unlock", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_recovery = self.buttons.addButton(
            "Use recovery key…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.buttons.addButton("Not now", QDialogButtonBox.ButtonRole.RejectRole)
        self.unlock.clicked.connect(self._submit)
        self.use_recovery.clicked.connect(lambda: self.done(2))
        self.finish_layout()
        self.show_error(error)
        self.passphrase.setFocus()

    def _submit(self) -> None:
        if self.passphrase.text():
            self.accept()
        else:
            self.show_error("Type your passphrase.")


class SetupDialog(_Dialog):
    """First run without a usable keychain, in plain words: a passphrase, chats kept without
    one (explicitly confirmed), or not kept at all."""

    def __init__(
        self, reason: str, has_data: bool, error: str | None, parent: QWidget | None = None
    ) -> None:
        existing = " Your earlier chats will be locked with it too." if has_data else ""
        super().__init__(
            "Keep your chats private",
            "Hearth keeps your chats on this computer, locked so that only you can read "
            "them. This computer has no keychain Hearth can use to hold the key for you, "
            f"so choose a passphrase: you will type it each time Hearth starts.{existing}",
            parent,
        )
        details = _label(f"Details: {reason}", "mutedText")
        details.setTextFormat(Qt.TextFormat.PlainText)
        self.column.addWidget(details)
        self.passphrase = _secret(f"Passphrase (at least {MIN_PASSPHRASE} characters)")
        self.confirm = _secret("Type it again")
        self.column.addWidget(self.passphrase)
        self.column.addWidget(self.confirm)
        self.protect = self.buttons.addButton(
            "Protect with a passphrase", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.protect.setDefault(True)
        self.no_encryption = self.buttons.addButton(
            "Keep chats without a passphrase…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.not_now = self.buttons.addButton(
            "Don't keep chats", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.not_now.setToolTip("Chat now; nothing is kept. You can protect your chats later.")
        self.protect.clicked.connect(self._submit)
        self.no_encryption.clicked.connect(self._refuse_encryption)
        self.finish_layout()
        self.show_error(error)
        self.passphrase.setFocus()

    def problem(self) -> str | None:
        first, second = self.passphrase.text(), self.confirm.text()
        if len(first) < MIN_PASSPHRASE:
            return f"Use at least {MIN_PASSPHRASE} characters."
        if first != second:
            return "The two passphrases are not the same."
        return None

    def _submit(self) -> None:
        problem = self.problem()
        self.show_error(problem)
        if problem is None:
            self.accept()

    def _refuse_encryption(self) -> None:
        answer = QMessageBox.warning(
            self,
            "Keep chats without a passphrase?",
            "Your chats are then kept unlocked: anyone who can read this computer's disk "
            "could read them. You can add a passphrase later in Privacy.",
            QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.done(2)


class RecoveryDialog(_Dialog):
    """The recovery key (and a new passphrase when the key cannot go back in a keychain)."""

    def __init__(
        self,
        reason: str,
        wants_passphrase: bool,
        error: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Open with your recovery key",
            f"{reason}\n\nThe recovery key is the 56-character code Hearth showed when your "
            "data was first protected. Nothing is changed until it is right.",
            parent,
        )
        self.wants_passphrase = wants_passphrase
        self.recovery_key = QLineEdit()
        self.recovery_key.setPlaceholderText("XXXX XXXX XXXX …")
        self.recovery_key.setAccessibleName("Recovery key")
        self.recovery_key.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.column.addWidget(self.recovery_key)
        hint = (
            "Choose a new passphrase:"
            if wants_passphrase
            else "New passphrase (only if this computer has no keychain; else leave empty):"
        )
        self.column.addWidget(_label(hint))
        self.passphrase = _secret("New passphrase")
        self.column.addWidget(self.passphrase)
        self.open_button = self.buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.retry = self.buttons.addButton(
            "Try the keychain again", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.buttons.addButton("Not now", QDialogButtonBox.ButtonRole.RejectRole)
        self.open_button.clicked.connect(self._submit)
        self.retry.clicked.connect(lambda: self.done(2))
        self.finish_layout()
        self.show_error(error)
        self.recovery_key.setFocus()

    def _submit(self) -> None:
        new = self.passphrase.text()
        if not self.recovery_key.text().strip():
            self.show_error("Type or paste your recovery key.")
        elif (self.wants_passphrase or new) and len(new) < MIN_PASSPHRASE:
            self.show_error(f"Use a passphrase of at least {MIN_PASSPHRASE} characters.")
        else:
            self.accept()


class RecoveryKeyDialog(_Dialog):
    """Shows a recovery key with Copy and Save; the user should keep it somewhere safe."""

    def __init__(self, recovery_key: str, parent: QWidget | None = None) -> None:
        super().__init__(
            "Save your recovery key",
            "If this computer's keychain is reset or you forget your passphrase, this key is "
            "the only way to open your conversations. Write it down or save it somewhere "
            "safe, away from this computer. Privacy can show it again while Hearth is open.",
            parent,
        )
        self.recovery_key = recovery_key
        self.key_label = QLabel(recovery_key)
        font = QFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        font.setPointSize(font.pointSize() + 2)
        self.key_label.setFont(font)
        self.key_label.setWordWrap(True)
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label.setObjectName("secretBox")
        self.column.addWidget(self.key_label)
        copy = QPushButton("Copy")
        save = QPushButton("Save to file…")
        copy.clicked.connect(self.copy)
        save.clicked.connect(lambda: self.save_to(None))
        self.buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(save, QDialogButtonBox.ButtonRole.ActionRole)
        done = self.buttons.addButton("I have saved it", QDialogButtonBox.ButtonRole.AcceptRole)
        done.clicked.connect(self.accept)
        self.finish_layout()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.recovery_key)
        self.show_error(None)

    def save_to(self, path: Path | None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Save recovery key", "hearth-recovery-key.txt", "Text (*.txt)"
            )
            if not chosen:
                return None
            path = Path(chosen)
        try:
            path.write_text(
                "Hearth recovery key — opens your conversations if the keychain or your "
                f"passphrase is lost.\n\n{self.recovery_key}\n",
                encoding="utf-8",
            )
        except OSError as error:
            self.show_error(f"Could not save it: {error}")
            return None
        return path


class QtPrompter:
    """The flow's questions as modal dialogs over `parent`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._parent = parent

    def passphrase(self, reason: str, error: str | None) -> str | Literal["recovery"] | None:
        dialog = PassphraseDialog(reason, error, self._parent)
        result = dialog.exec()
        if result == 2:
            return USE_RECOVERY_KEY
        return dialog.passphrase.text() if result == QDialog.DialogCode.Accepted else None

    def setup(self, reason: str, has_data: bool, error: str | None) -> str | Literal["none"] | None:
        dialog = SetupDialog(reason, has_data, error, self._parent)
        result = dialog.exec()
        if result == 2:
            return NO_ENCRYPTION
        return dialog.passphrase.text() if result == QDialog.DialogCode.Accepted else None

    def recovery(
        self, reason: str, wants_passphrase: bool, error: str | None
    ) -> tuple[str, str | None] | Literal["retry"] | None:
        dialog = RecoveryDialog(reason, wants_passphrase, error, self._parent)
        result = dialog.exec()
        if result == 2:
            return RETRY
        if result != QDialog.DialogCode.Accepted:
            return None
        return dialog.recovery_key.text(), dialog.passphrase.text() or None


def offer_recovery_key(recovery_key: str, parent: QWidget) -> RecoveryKeyDialog:
    """Show a new recovery key over the window without blocking it."""
    dialog = RecoveryKeyDialog(recovery_key, parent)
    dialog.setModal(False)
    dialog.show()
    return dialog
