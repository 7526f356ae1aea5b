"""The Teach page (⋯ → Teach…): a model taught from the user's examples, as a LoRA adapter.

Examples come from an assistant's example exchanges, from chosen conversations (each
question with its complete reply), or from a JSONL/CSV file of prompt/answer pairs (read
off the GUI thread). The page says how many examples and tokens, and about how long it
takes here (`desktop.teach.plan`). Teach starts the training child process (`TeachRun`:
torch never loads into the window) with a progress bar (step, loss, time left), Pause and
Cancel, and the loss drawn as it goes (`LossPlot`). When it ends, the held-out examples are
shown before and after side by side, the adapter is kept in the encrypted store, and
"Chat with it" opens a new chat on the model with the adapter.

Without the training component the page says in one sentence how to add it; adapters made
elsewhere still import in the Models page.

Signals: chat_requested(str model key), adapter_kept(str name).
Thread: GUI thread (reading files and training run elsewhere).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.adapter_keys import adapter_key
from desktop.core.assistants import Assistant
from desktop.core.durations import duration_text
from desktop.core.errors import HearthError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.storage.adapters import AdapterStore
from desktop.storage.conversations import ConversationStore
from desktop.teach.examples import MIN_EXAMPLES, Example, read_examples
from desktop.teach.plan import TeachPlan, matches, plan_teaching
from desktop.teach.sources import from_assistant, from_conversations
from desktop.teach.trainer import Trainer, private_folder
from desktop.ui.common.messages import show_message
from desktop.ui.common.tasks import BackgroundTask
from desktop.ui.teach.loss_plot import LossPlot
from desktop.ui.teach.run import TeachRun

EXAMPLES_FILTER = "Examples (*.jsonl *.csv);;All files (*)"
SOURCES = ("An assistant's examples", "Conversations", "A file (JSONL or CSV)")
#: (key, label, file) of the local models that can be taught (llama family).
ModelChoices = Callable[[], list[tuple[str, str, Path]]]


class TeachPage(QDialog):
    """See the module docstring."""

    chat_requested = Signal(str)
    adapter_kept = Signal(str)

    def __init__(
        self,
        models: ModelChoices,
        assistants: Callable[[], list[Assistant]],
        adapters: AdapterStore,
        conversations: ConversationStore | None,
        *,
        missing: str | None = None,
        trainer: Trainer | None = None,
        threads: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("teachPage")
        self.setWindowTitle("Teach")
        self.resize(860, 720)
        self._models, self._assistants = models, assistants
        self.adapters, self.conversations = adapters, conversations
        self.missing = missing
        self.trainer = trainer or Trainer()
        self.threads = threads or max(1, min(os.cpu_count() or 2, 8))
        self.examples: list[Example] = []
        self.plan: TeachPlan | None = None
        self.run: TeachRun | None = None
        self.reading: BackgroundTask | None = None
        self.kept: str | None = None
        column = QVBoxLayout(self)
        title = QLabel("Teach a model from your examples")
        title.setObjectName("modelTitle")
        column.addWidget(title)
        intro = QLabel(
            "Hearth fine-tunes the model on this computer (a LoRA adapter, kept encrypted "
            "with your conversations); a fifth of the examples is held out to check it."
        )
        intro.setWordWrap(True)
        column.addWidget(intro)
        self.missing_note = QLabel(missing or "")
        self.missing_note.setObjectName("memoryWarning")
        self.missing_note.setWordWrap(True)
        self.missing_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.missing_note.setVisible(missing is not None)
        column.addWidget(self.missing_note)
        column.addLayout(self._make_form())
        self.summary = QLabel()
        self.summary.setObjectName("pageMessage")
        self.summary.setWordWrap(True)
        column.addWidget(self.summary)
        column.addLayout(self._make_controls())
        self.plot = LossPlot()
        column.addWidget(self.plot, 1)
        self.compare_note = QLabel()
        self.compare_note.setWordWrap(True)
        column.addWidget(self.compare_note)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Question", "Expected", "Before", "After"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        column.addWidget(self.table, 2)
        bottom = QHBoxLayout()
        self.chat_button = QPushButton("Chat with it")
        self.chat_button.setToolTip("A new chat on the model with the new adapter")
        self.chat_button.clicked.connect(self._chat)
        bottom.addWidget(self.chat_button)
        bottom.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        bottom.addWidget(close)
        column.addLayout(bottom)
        self._show_result(None)
        self.refresh()

    def _make_form(self) -> QFormLayout:
        form = QFormLayout()
        self.source = QComboBox()
        self.source.addItems(SOURCES)
        self.source.setAccessibleName("Examples from")
        form.addRow("Examples from", self.source)
        self.stack = QStackedWidget()
        self.assistant_combo = QComboBox()
        self.assistant_combo.setAccessibleName("Assistant")
        self.assistant_combo.currentIndexChanged.connect(lambda _i: self._collect())
        self.conversation_list = QListWidget()
        self.conversation_list.setAccessibleName("Conversations")
        self.conversation_list.setMaximumHeight(120)
        self.conversation_list.itemChanged.connect(lambda _item: self._collect())
        file_row = QWidget()
        file_layout = QHBoxLayout(file_row)
        file_layout.setContentsMargins(0, 0, 0, 0)
        self.file_button = QPushButton("Choose a file…")
        self.file_button.clicked.connect(self._choose_file)
        self.file_label = QLabel("Each line or row a prompt and its answer.")
        file_layout.addWidget(self.file_button)
        file_layout.addWidget(self.file_label, 1)
        self._source_widgets = (self.assistant_combo, self.conversation_list, file_row)
        for widget in self._source_widgets:
            page = QWidget()  # each at its own height, at the top
            layout = QVBoxLayout(page)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(widget)
            layout.addStretch(1)
            self.stack.addWidget(page)
        self.source.currentIndexChanged.connect(self._source_changed)
        form.addRow("", self.stack)
        self._fit_stack(0)
        self.model_combo = QComboBox()
        self.model_combo.setAccessibleName("Model to teach")
        form.addRow("Model", self.model_combo)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("a name for what it learns, e.g. capitals")
        self.name_edit.setAccessibleName("Adapter name")
        form.addRow("Name", self.name_edit)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10)
        self.epochs.setValue(3)
        self.epochs.setToolTip(
            "Passes over the examples at most; it stops when the held-out loss rises"
        )
        self.epochs.valueChanged.connect(lambda _v: self._replan())
        form.addRow("Epochs (at most)", self.epochs)
        return form

    def _make_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.teach_button = QPushButton("Teach")
        self.teach_button.setDefault(True)
        self.teach_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.pause_button.setVisible(TeachRun.can_pause())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Training progress")
        self.progress.setTextVisible(False)
        self.status = QLabel()
        for widget in (self.teach_button, self.pause_button, self.cancel_button):
            row.addWidget(widget)
        row.addWidget(self.progress, 1)
        row.addWidget(self.status, 2)
        self._set_running(False)
        return row

    # --- public API --------------------------------------------------------------------

    def set_missing(self, missing: str | None) -> None:
        """Why teaching cannot run here, asked again when the page is reopened (the
        training component may have been added meanwhile); None: it can."""
        self.missing = missing
        self.missing_note.setText(missing or "")
        self.missing_note.setVisible(missing is not None)
        self.teach_button.setEnabled(
            not self.running and self.plan is not None and self.missing is None
        )

    def refresh(self) -> None:
        """Read the models, assistants and conversations again (the page is reopened)."""
        if self.running:
            return
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for key, label, path in self._models():
            self.model_combo.addItem(label, (key, path))
        index = max(0, self.model_combo.findData(current))
        self.model_combo.setCurrentIndex(index)
        self.assistant_combo.blockSignals(True)
        self.assistant_combo.clear()
        for assistant in self._assistants():
            count = len(from_assistant(assistant))
            if count:
                self.assistant_combo.addItem(
                    f"{assistant.name} ({count} example{'s' * (count != 1)})", assistant
                )
        self.assistant_combo.blockSignals(False)
        self.conversation_list.blockSignals(True)
        self.conversation_list.clear()
        if self.conversations is not None:
            for conversation in self.conversations.list_conversations():
                item = QListWidgetItem(conversation.title or "Untitled")
                item.setData(Qt.ItemDataRole.UserRole, conversation.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.conversation_list.addItem(item)
        self.conversation_list.blockSignals(False)
        self._collect()

    @property
    def running(self) -> bool:
        return self.run is not None

    def use_file(self, path: Path) -> BackgroundTask:
        """Take the examples of a JSONL or CSV file (read and checked off the GUI thread)."""
        self.source.setCurrentIndex(2)
        self.file_label.setText(f"Reading {path.name}…")
        task = BackgroundTask(lambda: read_examples(path), self)
        task.succeeded.connect(lambda found: self._file_read(path, found))
        task.failed.connect(lambda error: self._file_failed(path, error))
        self.reading = task
        task.start()
        return task

    def start(self) -> None:
        """Teach: checks the name and the examples, then starts the training child."""
        if self.running or self.plan is None:
            return
        if self.missing is not None:
            self._say(self.missing, error=True)
            return
        chosen = self.model_combo.currentData()
        if chosen is None:
            self._say("There is no model to teach: import a llama-family model first.", True)
            return
        try:
            name = self.adapters.check_free(self.name_edit.text())
        except HearthError as error:
            self._say(str(error), error=True)
            return
        key, model = chosen
        folder = private_folder()
        job = self.plan.job(model, folder / "adapter.gguf", name, DEFAULT_SYSTEM_PROMPT)
        run = TeachRun(self.trainer, self)
        run.progressed.connect(self._progressed)
        run.paused_changed.connect(self._paused)
        run.succeeded.connect(lambda done, data, info: self._keep(key, name, done, data, info))
        run.failed.connect(lambda message: self._say(message, error=True))
        run.finished.connect(self._finished)
        self.run, self.kept = run, None
        self.plot.clear()
        self._show_result(None)
        self._set_running(True)
        self.status.setText("Starting the training process…")
        run.start(job, folder)

    def toggle_pause(self) -> None:
        if self.run is not None:
            self.run.pause(not self.run.paused)

    def cancel(self) -> None:
        if self.run is not None:
            self.status.setText("Cancelling…")
            self.run.cancel()

    # --- examples ------------------------------------------------------------------------

    def _source_changed(self, index: int) -> None:
        self._fit_stack(index)
        self._collect()

    def _fit_stack(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        shown = self._source_widgets[index]
        self.stack.setFixedHeight(shown.sizeHint().height() if index != 1 else 120)

    def _collect(self) -> None:
        """The examples of the chosen source (a file's are read when it is chosen)."""
        index = self.source.currentIndex()
        if index == 0:
            assistant = self.assistant_combo.currentData()
            self.examples = from_assistant(assistant) if isinstance(assistant, Assistant) else []
        elif index == 1:
            self.examples = self._conversation_examples()
        elif self.reading is None and not self.file_label.text().startswith("“"):
            self.examples = []
        self._replan()

    def _conversation_examples(self) -> list[Example]:
        if self.conversations is None:
            return []
        ids = []
        for row in range(self.conversation_list.count()):
            item = self.conversation_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                ids.append(int(item.data(Qt.ItemDataRole.UserRole)))
        try:
            return from_conversations(self.conversations, ids)
        except HearthError as error:
            self._say(str(error), error=True)
            return []

    def _choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Examples to teach from", "", EXAMPLES_FILTER)
        if name:
            self.use_file(Path(name))

    def _file_read(self, path: Path, found: object) -> None:
        self.reading = None
        assert isinstance(found, list)
        self.examples = found
        self.file_label.setText(f"“{path.name}”")
        self._replan()

    def _file_failed(self, path: Path, error: object) -> None:
        self.reading = None
        self.examples = []
        self.file_label.setText(f"“{path.name}” cannot be used.")
        self.plan = None
        self._say(str(error) if isinstance(error, HearthError) else repr(error), error=True)
        self.teach_button.setEnabled(False)

    def _replan(self) -> None:
        if self.running:
            return
        count = len(self.examples)
        if count < MIN_EXAMPLES:
            self.plan = None
            where = ("This assistant has", "These conversations have", "The file has")[
                self.source.currentIndex()
            ]
            self._say(
                f"{where} {count} example{'s' * (count != 1)}; teaching needs at least "
                f"{MIN_EXAMPLES}."
                if count
                else "Choose where the examples come from.",
                error=bool(count),
            )
        else:
            self.plan = plan_teaching(
                self.examples, epochs=self.epochs.value(), threads=self.threads
            )
            self._say(self.plan.summary().capitalize() + ".")
        self.teach_button.setEnabled(self.plan is not None and self.missing is None)

    # --- training ------------------------------------------------------------------------

    def _progressed(self, event: dict[str, Any]) -> None:
        kind = event.get("ev")
        if kind == "phase":
            self.status.setText(f"{str(event['name']).capitalize()}… {event['detail']}")
            self.progress.setRange(0, 0)  # busy until the first step says how many
        elif kind == "step":
            step, total, loss = int(event["step"]), int(event["total"]), float(event["loss"])
            self.progress.setRange(0, total)
            self.progress.setValue(step)
            self.status.setText(
                f"Step {step} of {total} · loss {loss:.3f} · about "
                f"{duration_text(float(event['seconds_left']))} left"
            )
            self.plot.add_step(step, total, loss)
        elif kind == "epoch":
            self.plot.add_epoch(float(event["held_out_loss"]))

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.status.setText(
            "Paused: the training process waits (its memory stays in use)."
            if paused
            else "Going on…"
        )

    def _keep(self, key: str, name: str, done: dict[str, Any], data: bytes, info: Any) -> None:
        plan = self.plan
        assert plan is not None
        try:
            self.adapters.add(
                name, key, data, info.rank, f"taught from {len(plan.examples)} examples"
            )
        except HearthError as error:
            self._say(f"The adapter could not be kept: {error}", error=True)
            return
        self.kept = name
        self._show_result(done)
        self._say(
            f"Taught “{name}” in {duration_text(float(done['seconds']))} (peak memory "
            f"{float(done['peak_mb']):,.0f} MB); kept encrypted. Choose it under the "
            "composer, or Chat with it."
        )
        self.adapter_kept.emit(name)

    def _finished(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            run.deleteLater()
        self._set_running(False)
        self.pause_button.setText("Pause")
        self.status.setText("")

    def _show_result(self, done: dict[str, Any] | None) -> None:
        plan = self.plan
        shown = done is not None and plan is not None
        self.table.setVisible(shown)
        self.compare_note.setVisible(shown)
        self.chat_button.setVisible(shown)
        if done is None or plan is None:
            return
        before, after = list(done["before"]), list(done["after"])
        held = plan.held_out[: len(before)]
        self.table.setRowCount(len(held))
        for row, (example, old, new) in enumerate(zip(held, before, after, strict=False)):
            for col, text in enumerate((example.prompt, example.answer, old, new)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        self.compare_note.setText(
            f"Held-out examples, never seen in training: {matches(held, before)} of {len(held)} "
            f"answered exactly as expected before, {matches(held, after)} after."
        )

    def _chat(self) -> None:
        if self.kept is not None:
            self.chat_requested.emit(adapter_key(self.kept))

    # --- helpers -------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        self.teach_button.setEnabled(not running and self.plan is not None and self.missing is None)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        for widget in (self.source, self.stack, self.model_combo, self.name_edit, self.epochs):
            widget.setEnabled(not running)

    def _say(self, text: str, error: bool = False) -> None:
        show_message(self.summary, text, error)

    def shutdown(self) -> None:
        """Hearth is quitting: a training in progress ends (nothing is kept)."""
        if self.run is not None:
            self.run.cancel()
            self.run.wait(10)
