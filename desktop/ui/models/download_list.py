"""`DownloadList`: the downloads in progress, waiting or paused, with Pause/Resume and Cancel.

One row per queued download: its name, a progress bar, "312 MB of 1.0 GB · 4.2 MB/s ·
about 3 min left" (or Waiting / Paused / why it stopped), and its buttons. Rebuilt when the
`DownloadManager` changes; progress updates the row in place. Thread: GUI only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.models.downloads import DOWNLOADING, DownloadManager, DownloadRow


class DownloadList(QWidget):
    """See the module docstring."""

    def __init__(self, manager: DownloadManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self.rows: dict[str, tuple[QProgressBar, QLabel, QPushButton, QPushButton]] = {}
        self._errors: dict[str, str] = {}
        manager.changed.connect(self.rebuild)
        manager.progressed.connect(self._progressed)
        manager.failed.connect(self._failed)
        manager.downloaded.connect(lambda key, _path: self._errors.pop(key, None))
        self.rebuild()

    def rebuild(self) -> None:
        while self._column.count():
            item = self._column.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.rows.clear()
        for row in self.manager.rows():
            self._column.addWidget(self._make_row(row))
        self.setVisible(bool(self.rows))

    def _make_row(self, row: DownloadRow) -> QWidget:
        key = row.request.key
        box = QWidget()
        box.setObjectName("downloadRow")
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 4, 0, 4)
        line = QHBoxLayout()
        name = QLabel(f"<b>{row.request.label}</b> — {row.request.file}")
        line.addWidget(name, 1)
        toggle = QPushButton("Pause" if row.state != "paused" else "Resume")
        toggle.setAccessibleName(f"{toggle.text()} {row.request.label}")
        toggle.clicked.connect(lambda: self._toggle(key))
        cancel = QPushButton("Cancel")
        cancel.setAccessibleName(f"Cancel {row.request.label}")
        cancel.clicked.connect(lambda: self.manager.cancel(key))
        line.addWidget(toggle)
        line.addWidget(cancel)
        column.addLayout(line)
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setValue(_permille(row.done, row.total))
        bar.setTextVisible(False)
        bar.setEnabled(row.state == DOWNLOADING)
        column.addWidget(bar)
        text = QLabel(self._errors.get(key) or row.text)
        text.setObjectName("rowProblem" if key in self._errors else "rowSubtitle")
        text.setWordWrap(True)
        column.addWidget(text)
        self.rows[key] = (bar, text, toggle, cancel)
        return box

    def _toggle(self, key: str) -> None:
        item = self.manager.queue.find(key)
        if item is None:
            return
        if self.manager.is_current(key) or item.state != "paused":
            self.manager.pause(key)
        else:
            self._errors.pop(key, None)
            self.manager.resume(key)

    def _progressed(self, key: str, done: int, total: int | None, text: str) -> None:
        found = self.rows.get(key)
        if found is None:
            return
        bar, label, _, _ = found
        bar.setValue(_permille(done, total))
        label.setText(text)

    def _failed(self, key: str, message: str) -> None:
        self._errors[key] = message
        self.rebuild()


def _permille(done: int, total: int | None) -> int:
    return min(1000, done * 1000 // total) if total else 0
