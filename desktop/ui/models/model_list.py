"""The rows of the Models page's list: one per library entry, and one per file being imported.

A model's row shows its name, its badges (Default, Loaded or Loading…) and a subtitle such
as "Built-in · 135M · Q4_1 · 93.8 MB"; a file no engine can run shows why, in red. Rows of
files waiting for import are not selectable. Thread: GUI only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.inference.library import ModelEntry
from desktop.ui.models.details import subtitle

KEY_ROLE = Qt.ItemDataRole.UserRole + 1


def add_model_row(
    view: QListWidget, entry: ModelEntry, loaded_key: str | None, loading: bool, width: int
) -> QListWidgetItem:
    """Append `entry`'s row to `view` (rows are `width` pixels wide)."""
    item = QListWidgetItem()
    item.setData(KEY_ROLE, entry.key)
    row = QWidget()
    row.setObjectName("modelRow")
    column = QVBoxLayout(row)
    column.setContentsMargins(8, 6, 8, 6)
    column.setSpacing(2)
    name = QLabel()
    name.setObjectName("rowName")
    column.addWidget(name)
    line = QLabel()
    warning = entry.problem if not entry.usable else entry.crash_warning
    line.setObjectName("rowProblem" if warning else "rowSubtitle")
    column.addWidget(line)
    badges = QHBoxLayout()
    badges.setSpacing(6)
    for shown, text in (
        (entry.is_default, "Default"),
        (entry.key == loaded_key, "Loading…" if loading else "Loaded"),
    ):
        if shown:
            badge = QLabel(text)
            badge.setObjectName("badge")
            badges.addWidget(badge)
    if badges.count():
        badges.addStretch(1)
        column.addLayout(badges)
    view.addItem(item)
    view.setItemWidget(item, row)
    row.ensurePolished()  # the page's style sheet sets the fonts the text is measured with
    inner = width - 16
    _elide(name, entry.path.stem, inner)
    if not warning:
        _elide(line, subtitle(entry), inner)
    else:  # the reason wraps inside the row
        line.setText(warning if entry.usable else f"Cannot be used: {warning}")
        line.setWordWrap(True)
        line.setFixedWidth(inner)
    item.setToolTip(str(entry.path) if entry.usable else entry.problem or "")
    item.setSizeHint(QSize(width, row.sizeHint().height()))
    return item


def _elide(label: QLabel, text: str, width: int) -> None:
    label.ensurePolished()
    shown = label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(width, 20))
    label.setText(shown)
    if shown != text:
        label.setToolTip(text)


def add_busy_row(view: QListWidget, path: Path, active: bool, width: int) -> QListWidgetItem:
    """A row for a file being checked (`active`) or waiting for its turn."""
    metrics = view.fontMetrics()
    if active:
        name = metrics.elidedText(path.name, Qt.TextElideMode.ElideMiddle, width - 90)
        text = f"Checking {name}…\n(trial load in a separate process)"
    else:
        name = metrics.elidedText(path.name, Qt.TextElideMode.ElideMiddle, width - 140)
        text = f"Waiting to import {name}"
    item = QListWidgetItem(text)
    item.setToolTip(str(path))
    item.setFlags(Qt.ItemFlag.NoItemFlags)
    item.setForeground(Qt.GlobalColor.darkGray)
    view.addItem(item)
    return item
