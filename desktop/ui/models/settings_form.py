"""`SettingsForm`: edit one model's generation settings.

A spin box per field of `GenerationSettings`, its range taken from `core.settings.LIMITS`
(the context capped at what the model was trained for). The seed has a "Random" value and
the threads an "Automatic" one (both stored as None). Beside a field whose default for this
model differs from Hearth's own, a small hint says "model default: X".

Signals: changed() on every edit by the user (not on `set_settings`). Thread: GUI only.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from desktop.core.settings import HEARTH_DEFAULTS, LIMITS, MIN_CONTEXT, GenerationSettings

#: name -> (label, step, decimals; decimals None: a whole number)
FIELDS: dict[str, tuple[str, float, int | None]] = {
    "temperature": ("Temperature", 0.05, 2),
    "top_p": ("Top-p", 0.01, 2),
    "top_k": ("Top-k", 1, None),
    "min_p": ("Min-p", 0.01, 3),
    "repeat_penalty": ("Repeat penalty", 0.05, 2),
    "max_new_tokens": ("Max new tokens", 64, None),
    "seed": ("Seed", 1, None),
    "context_length": ("Context length", 256, None),
    "threads": ("Threads", 1, None),
}
#: Whole-number fields whose lowest spin value stands for a special setting.
SPECIAL = {"seed": "Random", "threads": "Automatic", "top_k": "Off"}
TOOLTIPS = {
    "temperature": "Higher is more varied, lower is more focused; 0 always picks the likeliest.",
    "top_p": "Only the likeliest words whose chances add up to this are considered.",
    "top_k": "Only this many likeliest words are considered (Off: no limit).",
    "min_p": "Words less likely than this share of the likeliest one are dropped.",
    "repeat_penalty": "Above 1 discourages repeating the same words.",
    "max_new_tokens": "The longest reply, in tokens (about ¾ of a word each).",
    "seed": "Random: a new answer each time; a number gives the same answer again.",
    "context_length": "How much of the conversation the model sees; more needs more memory.",
    "threads": "CPU threads used for the model (Automatic: Hearth decides).",
}


def format_value(name: str, value: Any) -> str:
    """A settings value as the form shows it ("Random" for no seed, "0.7", "4,096")."""
    if value is None or (name == "top_k" and value == 0):
        return SPECIAL[name]
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return f"{value:,}" if name in ("context_length", "max_new_tokens") else str(value)


class _DecimalBox(QDoubleSpinBox):
    """A spin box that shows "0.7", not "0.700"."""

    def textFromValue(self, value: float) -> str:
        return format_value("", float(value))


class SettingsForm(QWidget):
    """The generation settings of one model; see the module docstring."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._defaults = HEARTH_DEFAULTS
        self.boxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self.hints: dict[str, QLabel] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for name, (label, step, decimals) in FIELDS.items():
            box = self._make_box(name, step, decimals)
            box.setToolTip(TOOLTIPS[name])
            box.setAccessibleName(label)  # the label is beside a row, not the box itself
            box.setAccessibleDescription(TOOLTIPS[name])
            hint = QLabel()
            hint.setObjectName("defaultHint")
            row = QHBoxLayout()
            row.setSpacing(10)
            row.addWidget(box)
            row.addWidget(hint)
            row.addStretch(1)
            form.addRow(label, row)
            self.boxes[name] = box
            self.hints[name] = hint
            box.valueChanged.connect(self._on_edit)
        self._loading = False
        self.set_settings(HEARTH_DEFAULTS, HEARTH_DEFAULTS, None)

    def _make_box(self, name: str, step: float, decimals: int | None) -> QSpinBox | QDoubleSpinBox:
        low, high = LIMITS[name]
        box: QSpinBox | QDoubleSpinBox
        if decimals is None:
            box = QSpinBox()
            box.setRange(int(low) - (1 if name in ("seed", "threads") else 0), int(high))
            box.setSingleStep(int(step))
            if name in SPECIAL:
                box.setSpecialValueText(SPECIAL[name])
            if name in ("context_length", "max_new_tokens"):
                box.setGroupSeparatorShown(True)
        else:
            box = _DecimalBox()
            box.setDecimals(decimals)
            box.setRange(low, high)
            box.setSingleStep(step)
        box.setFixedWidth(140)
        box.setAccelerated(True)
        box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        return box

    def set_settings(
        self, settings: GenerationSettings, defaults: GenerationSettings, max_context: int | None
    ) -> None:
        """Show `settings`; hints compare `defaults` (this model's) with Hearth's own."""
        self._loading = True
        try:
            self._defaults = defaults
            high = int(LIMITS["context_length"][1])
            context_box = self.boxes["context_length"]
            assert isinstance(context_box, QSpinBox)
            context_box.setMaximum(max(MIN_CONTEXT, min(high, max_context or high)))
            for name, box in self.boxes.items():
                value = getattr(settings, name)
                if isinstance(box, QSpinBox):
                    box.setValue(box.minimum() if value is None else int(value))
                else:
                    box.setValue(box.minimum() if value is None else float(value))
                self._show_hint(name)
        finally:
            self._loading = False

    def settings(self) -> GenerationSettings:
        """The settings as shown; special values become None."""
        values: dict[str, Any] = {}
        for spec in fields(GenerationSettings):
            box = self.boxes[spec.name]
            value = box.value()
            if spec.name in ("seed", "threads") and value == box.minimum():
                values[spec.name] = None
            elif isinstance(box, QSpinBox):
                values[spec.name] = int(value)
            else:
                values[spec.name] = round(float(value), box.decimals())
        return GenerationSettings(**values)

    def _show_hint(self, name: str) -> None:
        default = getattr(self._defaults, name)
        differs = default != getattr(HEARTH_DEFAULTS, name)
        hint = self.hints[name]
        hint.setText(f"model default: {format_value(name, default)}" if differs else "")
        hint.setVisible(differs)

    def _on_edit(self) -> None:
        if not self._loading:
            self.changed.emit()
