"""The window's one loaded-model state, observable: the status bar and pages follow `changed`.

Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.chat.model_state import ModelState


class ModelSlot(QObject):
    """Holds the current `ModelState`; emits `changed(ModelState)` on every change."""

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = ModelState()

    @property
    def state(self) -> ModelState:
        return self._state

    def set(self, state: ModelState) -> bool:
        """Take `state`; False (and no signal) when it is the state already."""
        if state == self._state:
            return False
        self._state = state
        self.changed.emit(state)
        return True
