"""The Privacy page's "Your servers" section: each server the user added, and what went to
it (from the local contact log: when, what for, which conversation).

Given the servers and a way to read the log for one host (None when the conversations are
not open this session, so nothing is recorded); it reads nothing else. Thread: GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout

from desktop.core.servers import RemoteServer
from desktop.storage.contacts import Contact

SHOWN = 12  # the latest contacts shown for each server
PURPOSES = {"chat": "a chat", "models": "its list of models"}


def describe_contact(contact: Contact) -> str:
    """One line: when (local time), what for, and the conversation's title."""
    when = contact.at.astimezone().strftime("%d %b %Y %H:%M")
    what = PURPOSES.get(contact.purpose, contact.purpose)
    detail = f": “{contact.detail}”" if contact.detail and contact.purpose == "chat" else ""
    return f"{when} — {what}{detail}"


class ServerContactsSection(QGroupBox):
    """See the module docstring."""

    def __init__(
        self,
        servers: Sequence[RemoteServer],
        contacts_for: Callable[[str], list[Contact]] | None,
    ) -> None:
        super().__init__("Your servers")
        column = QVBoxLayout(self)
        intro = QLabel(
            "What you send to a model on your own server leaves this computer, only while "
            "the network is on. Hearth keeps a local, encrypted log of each request."
        )
        intro.setWordWrap(True)
        column.addWidget(intro)
        if not servers:
            column.addWidget(QLabel("No servers (add one in Models → Your servers)."))
        self.lines: dict[str, list[str]] = {}
        for server in servers:
            title = QLabel(f"<b>{server.name}</b> — {server.base_url}")
            title.setTextFormat(Qt.TextFormat.RichText)
            column.addWidget(title)
            if contacts_for is None:
                lines = ["Not recorded this session (your conversations are not open)."]
            else:
                contacts = contacts_for(server.host)
                lines = [describe_contact(c) for c in contacts[:SHOWN]] or ["Nothing sent yet."]
                if len(contacts) > SHOWN:
                    lines.append(f"… and {len(contacts) - SHOWN} earlier.")
            self.lines[server.name] = lines
            text = QLabel("\n".join(lines))
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setContentsMargins(12, 0, 0, 6)
            column.addWidget(text)
