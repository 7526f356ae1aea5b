"""`ModelDetails`: the right-hand side of the Models page, for one `ModelEntry`.

A header (name, badges, the memory the model needs at the chosen context against the free
memory, with the warning when it will not fit), the action buttons (their clicks are wired
by the page), and three tabs: what the inspector read, the generation settings (saved and
reset here, through the library), and the speed test.

Signals: settings_saved(str key). Thread: GUI only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import HearthError
from desktop.core.memory import format_bytes
from desktop.core.settings import GenerationSettings
from desktop.inference.bench_results import BenchResults
from desktop.inference.library import ModelEntry, ModelLibrary
from desktop.ui.models.settings_form import SettingsForm
from desktop.ui.models.speed_panel import SpeedPanel

SOURCES = {"embedded": "Built-in", "imported": "Imported", "folder": "In your folder"}
FIELDS = (
    ("name", "Model name"),
    ("architecture", "Architecture"),
    ("parameters", "Parameters"),
    ("quantization", "Quantisation"),
    ("size", "File size"),
    ("context", "Trained context"),
    ("format", "Format"),
    ("engine", "Engine"),
    ("template", "Chat template"),
    ("source", "Source"),
    ("path", "File"),
)


def format_count(n: int | None) -> str:
    """A parameter count for a person: "135M", "1.1B", "?"."""
    if not n:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(n)


def subtitle(entry: ModelEntry) -> str:
    """One line under the name in the list: "Built-in · 135M · Q4_1 · 93.8 MB"."""
    parts = [SOURCES.get(entry.source, entry.source) + (" (link)" if entry.is_link else "")]
    if entry.info is not None:
        parts += [format_count(entry.info.parameter_count), entry.info.quantization or "?"]
        parts.append(format_bytes(entry.info.file_size))
    return " · ".join(parts)


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


class ModelDetails(QWidget):
    """The selected model; see the module docstring."""

    settings_saved = Signal(str)

    def __init__(
        self,
        library: ModelLibrary,
        bench_results: BenchResults,
        bench_command: Callable[[Path], list[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self.entry: ModelEntry | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("modelTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.default_badge = QLabel("Default")
        self.loaded_badge = QLabel("Loaded")
        top.addWidget(self.title)
        for badge in (self.default_badge, self.loaded_badge):
            badge.setObjectName("badge")
            top.addWidget(badge)
        top.addStretch(1)
        column.addLayout(top)
        self.problem = QLabel()
        self.problem.setObjectName("problemText")
        self.memory = QLabel()
        self.memory.setObjectName("mutedText")
        self.warning = QLabel()
        self.warning.setObjectName("memoryWarning")
        for label in (self.problem, self.memory, self.warning):
            label.setWordWrap(True)
            column.addWidget(label)
        actions = QHBoxLayout()
        self.use_button = QPushButton("Use in this chat")
        self.use_button.setObjectName("primaryButton")
        self.unload_button = QPushButton("Unload")
        self.default_button = QPushButton("Make default")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("dangerButton")
        for button in (self.use_button, self.unload_button, self.default_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.delete_button)
        column.addLayout(actions)

        self.tabs = QTabWidget()
        self.tabs.addTab(_scrolled(self._make_about()), "Details")
        self.tabs.addTab(_scrolled(self._make_settings()), "Settings")
        self.speed = SpeedPanel(bench_results, bench_command)
        self.tabs.addTab(_scrolled(self.speed), "Speed")
        column.addWidget(self.tabs, 1)
        self._loaded_key: str | None = None
        self._loading = False
        self.show_entry(None)

    def _make_about(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setVerticalSpacing(5)
        self.values: dict[str, QLabel] = {}
        for key, label in FIELDS:
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(key in ("path", "source", "name", "template"))
            form.addRow(label, value)
            self.values[key] = value
        return page

    def _make_settings(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        self.form = SettingsForm()
        self.form.changed.connect(self._on_form_changed)
        column.addWidget(self.form)
        note = QLabel(
            "Saved settings apply to the next reply. A new context length or thread count "
            "reloads the model when the open chat uses it. An assistant's own settings "
            "(Assistants page) take precedence over these."
        )
        note.setObjectName("mutedText")
        note.setWordWrap(True)
        column.addWidget(note)
        row = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primaryButton")
        self.save_button.clicked.connect(self.save_settings)
        self.reset_button = QPushButton("Reset to model defaults")
        self.reset_button.clicked.connect(self.reset_settings)
        self.settings_status = QLabel()
        self.settings_status.setObjectName("mutedText")
        row.addWidget(self.save_button)
        row.addWidget(self.reset_button)
        row.addWidget(self.settings_status, 1)
        column.addLayout(row)
        column.addStretch(1)
        return page

    # --- showing an entry ------------------------------------------------------------------

    def show_entry(self, entry: ModelEntry | None) -> None:
        """Show `entry`; the same model again (new badges) keeps unsaved settings edits."""
        same = entry is not None and self.entry is not None and entry.key == self.entry.key
        if same and entry is not None and self.entry is not None and entry.info == self.entry.info:
            self.entry = entry
            self._show_problem(entry)
            self._update_state()
            return
        self.entry = entry
        info = entry.info if entry is not None else None
        self.title.setText(entry.path.stem if entry else "No model selected")
        self._show_problem(entry)
        source = ""
        if entry is not None:
            source = SOURCES.get(entry.source, entry.source)
            if entry.is_link:
                source += f" (a link to {entry.path.resolve()})"
            elif entry.source == "imported":
                source += " (a copy in Hearth's models folder)"
        shown = {
            "name": info.name if info else "",
            "architecture": info.architecture or "?" if info else "",
            "parameters": format_count(info.parameter_count) if info else "",
            "quantization": info.quantization or "?" if info else "",
            "size": format_bytes(info.file_size) if info else "",
            "context": f"{info.context_length:,} tokens" if info and info.context_length else "?",
            "format": _format_name(entry),
            "engine": info.engine if info else "",
            "template": _template_text(entry),
            "source": source,
            "path": str(entry.path) if entry else "",
        }
        for key, label in self.values.items():
            label.setText(shown[key])
        usable = entry is not None and entry.usable
        self.tabs.setTabEnabled(1, usable)
        self.tabs.setTabEnabled(2, usable)
        if entry is not None and usable:
            self.form.set_settings(
                self._library.settings_for(entry),
                self._library.default_settings(entry),
                info.context_length if info else None,
            )
        self.settings_status.setText("")
        self.speed.show_entry(
            entry.key if usable and entry else None, entry.path if entry else None
        )
        self._update_state()

    def _show_problem(self, entry: ModelEntry | None) -> None:
        problem = "" if entry is None else entry.crash_warning or ""
        if entry is not None and entry.problem:
            problem = f"Cannot be used: {entry.problem}"
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))

    def set_loaded(self, key: str | None, loading: bool) -> None:
        self._loaded_key, self._loading = key, loading
        self._update_state()

    def _update_state(self) -> None:
        entry = self.entry
        usable = entry is not None and entry.usable
        is_loaded = entry is not None and entry.key == self._loaded_key
        self.default_badge.setVisible(bool(entry and entry.is_default))
        self.loaded_badge.setVisible(is_loaded)
        self.loaded_badge.setText("Loading…" if is_loaded and self._loading else "Loaded")
        self.use_button.setEnabled(usable and not is_loaded)
        self.use_button.setText("In use in this chat" if is_loaded else "Use in this chat")
        self.unload_button.setVisible(is_loaded and not self._loading)
        self.default_button.setEnabled(usable and not (entry and entry.is_default))
        why = _why_not_deletable(entry, is_loaded)
        self.delete_button.setEnabled(entry is not None and why is None)
        self.delete_button.setToolTip(why or "Remove this model from the library")
        self.update_memory()
        self._on_form_changed()

    def update_memory(self) -> None:
        """The estimate at the context shown in the settings form."""
        entry = self.entry
        if entry is None or not entry.usable:
            self.memory.setText("")
            self.warning.hide()
            return
        estimate = self._library.estimate(entry, self.form.settings().context_length)
        parts = [f"weights {format_bytes(estimate.weights_bytes)}"]
        if estimate.kv_cache_bytes is not None:
            parts.append(f"context {format_bytes(estimate.kv_cache_bytes)}")
        free = estimate.available_bytes
        free_text = f"{format_bytes(free)} free" if free is not None else "free memory unknown"
        self.memory.setText(
            f"Memory: about {format_bytes(estimate.total_bytes)} at {estimate.n_ctx:,} tokens "
            f"of context ({' + '.join(parts)}); {free_text}."
        )
        self.warning.setText(estimate.warning or "")
        self.warning.setVisible(estimate.warning is not None)

    # --- settings ------------------------------------------------------------------------

    def _on_form_changed(self) -> None:
        entry = self.entry
        dirty = bool(entry and entry.usable and self.form.settings() != self._stored())
        self.save_button.setEnabled(dirty)
        if dirty:
            self.settings_status.setText("Unsaved changes")
        if self.sender() is self.form:
            self.update_memory()

    def _stored(self) -> GenerationSettings:
        assert self.entry is not None
        return self._library.settings_for(self.entry)

    def save_settings(self) -> None:
        entry = self.entry
        if entry is None or not entry.usable:
            return
        try:
            self._library.save_settings(entry, self.form.settings())
        except HearthError as failure:
            self.settings_status.setText(str(failure))
            return
        self._after_settings(entry, "Saved.")

    def reset_settings(self) -> None:
        entry = self.entry
        if entry is None or not entry.usable:
            return
        try:
            self._library.reset_settings(entry)
        except HearthError as failure:
            self.settings_status.setText(str(failure))
            return
        self._after_settings(entry, "Back to the model's defaults.")

    def _after_settings(self, entry: ModelEntry, message: str) -> None:
        info = entry.info
        self.form.set_settings(
            self._library.settings_for(entry),
            self._library.default_settings(entry),
            info.context_length if info else None,
        )
        self.update_memory()
        self._on_form_changed()
        self.settings_status.setText(message)
        self.settings_saved.emit(entry.key)


def _format_name(entry: ModelEntry | None) -> str:
    if entry is None or entry.info is None:
        return ""
    info = entry.info
    version = f" v{info.format_version}" if info.format_version is not None else ""
    return f"{info.container.upper()}{version}"


def _template_text(entry: ModelEntry | None) -> str:
    if entry is None or entry.info is None:
        return ""
    if entry.chat_format == "model":
        if entry.template_note:  # adapted, e.g. no system role
            return f"Yes, from the file. {entry.template_note}"
        return "Yes, from the file"
    if entry.template_note:  # the file's template cannot be used
        return f"No: {entry.template_note}"
    return "No: Hearth uses a generic chat format"


def _why_not_deletable(entry: ModelEntry | None, is_loaded: bool) -> str | None:
    if entry is None:
        return "No model is selected."
    if entry.source == "embedded":
        return "The built-in model cannot be deleted."
    if entry.source == "folder":
        return (
            f"This file is in your folder {entry.path.parent}, which Hearth only reads; "
            "delete it yourself, or remove the folder from the library."
        )
    if is_loaded:
        return "This model is in use; unload it first."
    return None
