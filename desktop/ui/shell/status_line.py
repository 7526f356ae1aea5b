"""The window's status bar: the model (a dot when ready, its name, why it did not load),
load progress, what is happening now, and the last reply's statistics. In a narrow
window each part is shortened with "…" (whole in its tooltip) rather than cut off.

Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from desktop.chat.model_state import ModelPhase, ModelState
from desktop.core.adapter_keys import split_adapter_key
from desktop.ui.common.fitting import ElidedLabel


class StatusLine:
    """Fills `bar` with its labels; `show_model_state` keeps the model's part current."""

    def __init__(self, bar: QStatusBar) -> None:
        bar.setSizeGripEnabled(False)
        self.model_dot = QLabel("●")
        self.model_dot.setObjectName("onlineDot")
        self.model_dot.setAccessibleName("Model ready")
        self.model_dot.hide()
        self.model_label = ElidedLabel("No model loaded")
        self.model_label.setObjectName("modelLabel")
        self.status_label = ElidedLabel("", keep=12)  # "Generating…" stays whole
        self.status_label.setObjectName("statusLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedWidth(140)
        self.progress_bar.setAccessibleName("Loading the model")
        self.progress_bar.hide()
        self.stats_label = ElidedLabel("")
        self.stats_label.setObjectName("statsLabel")
        bar.addWidget(self.model_dot)
        bar.addWidget(self.model_label)
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.stats_label)

    def show_model_state(self, state: ModelState) -> None:
        """A progress bar while loading, else the model's name (or why it is missing)."""
        self.progress_bar.setVisible(state.loading)
        self.model_dot.setVisible(state.description is not None and not state.loading)
        if state.loading:
            self.progress_bar.setValue(round(min(max(state.progress, 0.0), 1.0) * 1000))
            self.model_label.hide()  # the status line says what is loading
            return
        self.model_label.show()
        model = state.description
        adapter = split_adapter_key(state.key)
        if model is not None:
            scale = 1.0 if state.options is None else state.options.adapter_scale
            with_adapter = "" if adapter is None else f" · with adapter {adapter}"
            self.model_label.setText(model.name + with_adapter)
            self.model_label.setToolTip(
                f"{model.path}\n{model.engine} · {model.architecture} · context {model.n_ctx}"
                f" · loaded in {model.load_time_s:.1f} s"
                + ("" if adapter is None else f"\nLoRA adapter “{adapter}” at scale {scale:g}")
            )
        elif state.phase is ModelPhase.FAILED and state.path is not None:
            self.model_label.setText(f"{state.path.stem} did not load")
            self.model_label.setToolTip(state.error or "")
        else:
            self.model_label.setText("No model loaded")
            self.model_label.setToolTip("")
