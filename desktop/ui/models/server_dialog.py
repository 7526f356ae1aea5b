"""`ServerDialog`: add or edit one of the user's servers (name, address, API key, and the
"I understand" for plain http to another computer). `save(server, key)` does the work; a
refusal is said in the dialog, which stays open. Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from desktop.core.errors import HearthError
from desktop.core.servers import RemoteServer, check_server


class ServerDialog(QDialog):
    """Name, address, API key and the plain-http consent of one server."""

    def __init__(
        self,
        save: Callable[[RemoteServer, str | None], None],
        server: RemoteServer | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit server" if server else "Add a server")
        self._save = save
        self._server = server
        self.name = QLineEdit(server.name if server else "")
        self.name.setReadOnly(server is not None)
        self.name.setPlaceholderText("lab")
        self.url = QLineEdit(server.base_url if server else "")
        self.url.setPlaceholderText("https://host:8080/v1")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("kept as it is" if server else "none")
        self.understand = QCheckBox(
            "I understand: this server is reached over plain http, so my conversations cross "
            "the network unencrypted."
        )
        self.understand.setChecked(bool(server and server.allow_http))
        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Address", self.url)
        form.addRow("API key", self.key)
        form.addRow(self.understand)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.url.textChanged.connect(self._show_consent)
        self._show_consent()

    def _needs_consent(self) -> bool:
        try:
            server = check_server("x", self.url.text(), allow_http=True)
        except HearthError:
            return False
        return server.base_url.startswith("http:") and not server.loopback

    def _show_consent(self) -> None:
        self.understand.setVisible(self._needs_consent())

    def submit(self) -> bool:
        """Check and save; a refusal is said in the dialog, which stays open."""
        consent = self.understand.isChecked() and self._needs_consent()
        if self._needs_consent() and not consent:
            self.error.setText(
                "Tick “I understand” to reach this server over plain http, or use https."
            )
            return False
        try:
            server = check_server(self.name.text().strip(), self.url.text(), consent)
            if self._server is not None:
                server = RemoteServer(
                    server.name,
                    server.base_url,
                    server.allow_http,
                    self._server.context_length,
                    self._server.key_variable,
                )
            self._save(server, self.key.text().strip() or None)
        except HearthError as error:
            self.error.setText(str(error))
            return False
        self.accept()
        return True
