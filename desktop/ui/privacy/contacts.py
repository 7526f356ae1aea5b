"""The Privacy page's "Computers contacted" section: every host Hearth reached, and when.

Reads the local contact log (`ContactLog`, in the encrypted store): each host with the last
time and how many contacts, and under it the most recent contacts (when, host, what for,
which file). Empty: "Hearth has contacted no other computer." Without the store (not open
this session) it says the log cannot be shown. Thread: GUI only.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtWidgets import QGroupBox, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout

from desktop.core.errors import DatabaseError
from desktop.storage.contacts import ContactLog

log = logging.getLogger(__name__)

RECENT = 50


class ContactsSection(QGroupBox):
    """See the module docstring; `reload()` reads the log again."""

    def __init__(self, contact_log: ContactLog | None) -> None:
        super().__init__("Computers contacted")
        self._log = contact_log
        column = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        column.addWidget(self.summary)
        self.hosts = QTreeWidget()
        self.hosts.setAccessibleName("Hosts contacted")
        self.hosts.setHeaderLabels(["Host", "Last contact", "Times"])
        self.hosts.setRootIsDecorated(False)
        self.recent = QTreeWidget()
        self.recent.setAccessibleName("Recent contacts")
        self.recent.setHeaderLabels(["When", "Host", "What for"])
        self.recent.setRootIsDecorated(False)
        for tree, widths in ((self.hosts, (200, 140)), (self.recent, (130, 170))):
            for index, width in enumerate(widths):
                tree.setColumnWidth(index, width)
            tree.setMaximumHeight(140)
            column.addWidget(tree)
        self.reload()

    def reload(self) -> None:
        self.hosts.clear()
        self.recent.clear()
        if self._log is None:
            self._show_empty(
                "The log of contacts is kept with your conversations, which are not open in "
                "this session."
            )
            return
        try:
            hosts = self._log.hosts()
            recent = self._log.recent(RECENT)
        except DatabaseError as error:
            log.warning("the contact log could not be read: %s", error)
            self._show_empty(f"The log of contacts could not be read ({error}).")
            return
        if not hosts:
            self._show_empty("Hearth has contacted no other computer.")
            return
        self.summary.setText(
            "Every computer Hearth has contacted, kept on this computer only (newest first)."
        )
        for host, last, count in hosts:
            self.hosts.addTopLevelItem(QTreeWidgetItem([host, _when(last), str(count)]))
        for contact in recent:
            what = f"{contact.purpose}: {contact.detail}" if contact.detail else contact.purpose
            item = QTreeWidgetItem([_when(contact.at), contact.host, what])
            item.setToolTip(2, what)
            self.recent.addTopLevelItem(item)
        self.hosts.show()
        self.recent.show()

    def _show_empty(self, text: str) -> None:
        self.summary.setText(text)
        self.hosts.hide()
        self.recent.hide()


def _when(at: datetime) -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M")
