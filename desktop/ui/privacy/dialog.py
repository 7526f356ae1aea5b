"""The Privacy page: where the data lives, how it is protected, the network switch, and
"Delete all my data".

`PrivacyDialog` is given everything it shows (`PrivacyState`) and the actions it may take
as callables, so it never opens files or keychains by itself: `change_passphrase(old,
new)`, `save_preferences(prefs)` and `delete_all(include_models)`. Errors from them are
shown in the dialog. Deleting asks for a typed confirmation first.

Signals: delete_confirmed(bool include_models). Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import HearthError
from desktop.paths import AppPaths
from desktop.storage.preferences import Preferences
from desktop.ui.privacy.unlock_dialogs import MIN_PASSPHRASE, RecoveryKeyDialog

CONFIRM_WORD = "delete"
DIALOG_WIDTH = 600


@dataclass(frozen=True)
class PrivacyState:
    """What the page shows. `mode` is "keychain", "passphrase", "none", or None when the
    conversations are not open this session."""

    paths: AppPaths
    mode: str | None
    keychain_backend: str
    recovery_key: str | None
    preferences: Preferences


def describe_protection(mode: str | None, backend: str) -> str:
    if mode == "keychain":
        return f"Encrypted (SQLCipher, AES-256). The key is kept in the keychain: {backend}."
    if mode == "passphrase":
        return "Encrypted (SQLCipher, AES-256). The key is derived from your passphrase."
    if mode == "none":
        return "Not encrypted: you chose this. Anyone who can read this disk can read them."
    return "Not open in this session, so nothing is being saved."


def _path_label(path: Path) -> QLabel:
    label = QLabel(str(path))
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class ChangePassphraseDialog(QDialog):
    """Current passphrase, new one twice; `change(old, new)` does the work."""

    def __init__(self, change: Callable[[str, str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change passphrase")
        self._change = change
        self.old = QLineEdit()
        self.new = QLineEdit()
        self.again = QLineEdit()
        form = QFormLayout(self)
        for label, edit in (("Current", self.old), ("New", self.new), ("New again", self.again)):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            form.addRow(label, edit)
        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def submit(self) -> bool:
        new = self.new.text()
        if len(new) < MIN_PASSPHRASE:
            self.error.setText(f"Use at least {MIN_PASSPHRASE} characters.")
        elif new != self.again.text():
            self.error.setText("The two new passphrases are not the same.")
        else:
            try:
                self._change(self.old.text(), new)
            except HearthError as failure:
                self.error.setText(str(failure))
                return False
            self.accept()
            return True
        return False


class PrivacyDialog(QDialog):
    """The Privacy page; see the module docstring."""

    delete_confirmed = Signal(bool)

    def __init__(
        self,
        state: PrivacyState,
        *,
        change_passphrase: Callable[[str, str], None],
        save_preferences: Callable[[Preferences], None],
        contacts: QWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Privacy")
        self.setMinimumWidth(DIALOG_WIDTH)
        self._state = state
        self._change_passphrase = change_passphrase
        self._save_preferences = save_preferences
        self._preferences = state.preferences
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._where(state.paths))
        column.addWidget(self._protection(state))
        column.addWidget(self._network())
        if contacts is not None:  # the log of hosts contacted (`contacts.ContactsSection`)
            column.addWidget(contacts)
        self._sections = column  # `add_section` puts more before the deletion
        column.addWidget(self._deletion())
        self.message = QLabel()
        self.message.setWordWrap(True)
        column.addWidget(self.message)
        column.addStretch(1)
        # Large text or a small screen: the sections scroll, the Close button stays.
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(close)
        self._fit(content, close)

    def _fit(self, content: QWidget, buttons: QWidget) -> None:
        """As wide as about 72 characters (at least `DIALOG_WIDTH`) and as tall as the
        sections at that width, within the screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)
        chars = self.fontMetrics().averageCharWidth() * 72
        width = min(max(DIALOG_WIDTH, chars), area.width() - 40)
        margins = self.contentsMargins()
        layout = self.layout()
        if layout is not None:
            margins = layout.contentsMargins()
        inner = width - margins.left() - margins.right()
        scrollbar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        height = content.heightForWidth(inner - scrollbar)
        if height < 0:
            height = content.sizeHint().height()
        height += buttons.sizeHint().height() + margins.top() + margins.bottom() + 12
        self.resize(width, min(height, area.height() * 9 // 10))

    def add_section(self, section: QWidget) -> None:
        """Another section (e.g. the user's servers), shown above "Delete all my data"."""
        self._sections.insertWidget(self._sections.indexOf(self._network_box) + 1, section)

    # --- sections ----------------------------------------------------------------------

    def _where(self, paths: AppPaths) -> QGroupBox:
        box = QGroupBox("Where your data lives")
        form = QFormLayout(box)
        form.addRow("Conversations", _path_label(paths.database_path))
        form.addRow("Backups", _path_label(paths.data_dir / "backups"))
        form.addRow("Models", _path_label(paths.models_dir))
        form.addRow("Settings", _path_label(paths.config_dir))
        form.addRow("Logs (no message text)", _path_label(paths.log_dir))
        return box

    def _protection(self, state: PrivacyState) -> QGroupBox:
        box = QGroupBox("Encryption")
        column = QVBoxLayout(box)
        self.protection_label = QLabel(describe_protection(state.mode, state.keychain_backend))
        self.protection_label.setWordWrap(True)
        column.addWidget(self.protection_label)
        self.show_key_button = QPushButton("Show recovery key…")
        self.show_key_button.setEnabled(state.recovery_key is not None)
        self.show_key_button.clicked.connect(self.show_recovery_key)
        self.change_button = QPushButton("Change passphrase…")
        self.change_button.setVisible(state.mode == "passphrase")
        self.change_button.clicked.connect(self.open_change_passphrase)
        for button in (self.show_key_button, self.change_button):
            column.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def _network(self) -> QGroupBox:
        box = QGroupBox("Network")
        self._network_box = box
        column = QVBoxLayout(box)
        self.network_box = QCheckBox("Allow Hearth to use the network")
        self.network_box.setChecked(self._preferences.network_allowed)
        self.network_box.toggled.connect(self._on_network_toggled)
        note = QLabel(
            "Off by default. While it is off, Hearth contacts no other computer. On, it reaches "
            "only what you ask for: model downloads (Models → Download…) and the servers you "
            "added; each host contacted is listed below."
        )
        note.setWordWrap(True)
        column.addWidget(self.network_box)
        column.addWidget(note)
        return box

    def _deletion(self) -> QGroupBox:
        box = QGroupBox("Delete all my data")
        column = QVBoxLayout(box)
        text = QLabel(
            "Deletes your conversations, backups, settings, logs and keychain entries, then "
            f'quits. Type "{CONFIRM_WORD}" to confirm.'
        )
        text.setWordWrap(True)
        self.include_models = QCheckBox("Also delete the models I imported")
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setPlaceholderText(CONFIRM_WORD)
        self.delete_button = QPushButton("Delete all my data")
        self.delete_button.setObjectName("dangerButton")
        self.delete_button.setEnabled(False)
        self.confirm_edit.textChanged.connect(
            lambda text: self.delete_button.setEnabled(text.strip().lower() == CONFIRM_WORD)
        )
        self.delete_button.clicked.connect(self._delete)
        for widget in (text, self.include_models, self.confirm_edit):
            column.addWidget(widget)
        column.addWidget(self.delete_button, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    # --- actions -----------------------------------------------------------------------

    def show_recovery_key(self) -> RecoveryKeyDialog | None:
        if self._state.recovery_key is None:
            return None
        dialog = RecoveryKeyDialog(self._state.recovery_key, self)
        dialog.show()
        return dialog

    def open_change_passphrase(self) -> ChangePassphraseDialog:
        dialog = ChangePassphraseDialog(self._change_passphrase, self)
        dialog.accepted.connect(lambda: self.message.setText("Passphrase changed."))
        dialog.show()
        return dialog

    def _on_network_toggled(self, allowed: bool) -> None:
        preferences = Preferences(network_allowed=allowed)
        try:
            self._save_preferences(preferences)
        except OSError as error:
            self.message.setText(f"Could not save the setting: {error}")
            self.network_box.blockSignals(True)
            self.network_box.setChecked(self._preferences.network_allowed)
            self.network_box.blockSignals(False)
            return
        self._preferences = preferences

    def _delete(self) -> None:
        if self.confirm_edit.text().strip().lower() == CONFIRM_WORD:
            self.delete_confirmed.emit(self.include_models.isChecked())
