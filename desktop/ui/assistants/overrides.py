"""The generation settings an assistant overrides, each behind an "override" check box.

A ticked setting shows a spin box limited to `core.settings.LIMITS`; an unticked one says
the model's own setting is used. `settings()` holds only the ticked keys, plus any stored
key this form does not edit (such as a hand-written context length) so nothing is lost.

Signals: changed() after any tick or value change. Thread: GUI thread only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.settings import HEARTH_DEFAULTS, LIMITS


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    decimals: int  # 0: a whole number
    step: float
    tip: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("temperature", "Temperature", 2, 0.05, "Higher: more varied. Lower: steadier."),
    SettingSpec("top_p", "Top-p", 2, 0.05, "Pick only from the likeliest words adding up to p."),
    SettingSpec("top_k", "Top-k", 0, 5, "Pick only from the k likeliest words (0: no limit)."),
    SettingSpec("min_p", "Min-p", 2, 0.01, "Skip words much less likely than the best one."),
    SettingSpec("repeat_penalty", "Repeat penalty", 2, 0.05, "Above 1 discourages repeating."),
    SettingSpec("max_new_tokens", "Max new tokens", 0, 64, "The longest reply, in tokens."),
    SettingSpec("seed", "Seed", 0, 1, "A fixed seed gives the same reply to the same prompt."),
)
KEYS = frozenset(spec.key for spec in SETTINGS)
SPIN_WIDTH = 120


def _spin_box(spec: SettingSpec) -> QAbstractSpinBox:
    low, high = LIMITS[spec.key]
    spin: QSpinBox | QDoubleSpinBox
    if spec.decimals:
        spin = QDoubleSpinBox()
        spin.setDecimals(spec.decimals)
        spin.setRange(low, high)
        spin.setSingleStep(spec.step)
    else:
        spin = QSpinBox()
        spin.setRange(int(low), int(high))
        spin.setSingleStep(int(spec.step))
    default = getattr(HEARTH_DEFAULTS, spec.key)
    spin.setValue(default if default is not None else 0)
    spin.setFixedWidth(SPIN_WIDTH)
    return spin


def _usable(spec: SettingSpec, value: Any) -> bool:
    """Whether a stored value can be shown in this setting's spin box unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    if spec.decimals == 0 and value != int(value):
        return False
    low, high = LIMITS[spec.key]
    return low <= value <= high


class OverrideRow:
    """The check box, the spin box and the "model's own" label of one setting."""

    def __init__(self, spec: SettingSpec) -> None:
        self.spec = spec
        self.check = QCheckBox(spec.label)
        self.check.setToolTip(spec.tip)
        self.spin = _spin_box(spec)
        self.spin.setToolTip(spec.tip)
        self.spin.setAccessibleName(spec.label)
        own = QLabel("the model's own")
        own.setObjectName("hint")
        self.stack = QStackedWidget()
        self.stack.addWidget(own)
        self.stack.addWidget(self.spin)
        self.stack.setFixedSize(SPIN_WIDTH, self.spin.sizeHint().height())
        self.check.toggled.connect(lambda on: self.stack.setCurrentIndex(1 if on else 0))

    def value(self) -> int | float:
        spin = self.spin
        if isinstance(spin, QDoubleSpinBox):
            return round(spin.value(), self.spec.decimals)
        assert isinstance(spin, QSpinBox)
        return spin.value()

    def set_value(self, value: int | float) -> None:
        spin = self.spin
        if isinstance(spin, QDoubleSpinBox):
            spin.setValue(float(value))
        elif isinstance(spin, QSpinBox):
            spin.setValue(int(value))


class OverridesEditor(QWidget):
    """Check boxes and spin boxes for the overridden settings; see the module docstring."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = {spec.key: OverrideRow(spec) for spec in SETTINGS}
        self._extra: dict[str, Any] = {}
        hint = QLabel(
            "Tick a setting to choose it for this assistant; unticked settings follow the "
            "model's own."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(6)
        half = (len(SETTINGS) + 1) // 2
        for index, row in enumerate(self.rows.values()):
            line, column = index % half, 3 * (index // half)
            grid.addWidget(row.check, line, column)
            grid.addWidget(row.stack, line, column + 1)
            row.check.toggled.connect(self.changed)
            if isinstance(row.spin, QSpinBox | QDoubleSpinBox):
                row.spin.valueChanged.connect(self.changed)
        grid.setColumnMinimumWidth(2, 24)
        grid.setColumnStretch(5, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(hint)
        layout.addLayout(grid)
        layout.addStretch(1)

    def set_settings(self, settings: Mapping[str, Any]) -> None:
        """Tick and fill the settings in `settings`; keep the rest for `settings()`."""
        self._extra = {}
        for key, value in settings.items():
            row = self.rows.get(key)
            if row is None or not _usable(row.spec, value):
                self._extra[key] = value
        for key, row in self.rows.items():
            overridden = key in settings and key not in self._extra
            row.check.blockSignals(True)
            row.check.setChecked(overridden)
            row.check.blockSignals(False)
            row.stack.setCurrentIndex(1 if overridden else 0)
            default = getattr(HEARTH_DEFAULTS, key)
            row.spin.blockSignals(True)
            row.set_value(settings[key] if overridden else (default or 0))
            row.spin.blockSignals(False)

    def settings(self) -> dict[str, Any]:
        """The overridden settings: ticked ones, plus stored keys this form does not edit."""
        chosen = {key: row.value() for key, row in self.rows.items() if row.check.isChecked()}
        return {**self._extra, **chosen}

    def set_read_only(self, read_only: bool) -> None:
        for row in self.rows.values():
            row.check.setEnabled(not read_only)
            row.spin.setEnabled(not read_only)
