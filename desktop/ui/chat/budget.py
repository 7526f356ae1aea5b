"""`ContextTracker`: what the next request takes of the model's context window.

The composer shows it as the person types: a short while after the draft (or the branch,
the model, the settings) changes, the tracker builds the request the next Send would make
and asks the inference worker to measure it (`measure_requested`, queued to
`InferenceWorker.measure_context`, which counts with the model's own tokenizer and
template). The answer becomes a `ContextBudget`; when the history no longer fits, the
number of messages left out at the top goes to the view. While a reply streams, the plan
of the request actually sent is reported instead (`planned`).

Signals: measure_requested(int, list, int, int), measure_grounded_requested(int, list, int,
int, list) (with passages of the user's documents), budget_changed(ContextBudget | None),
left_out_changed(int). Thread: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.chat.request import ChatRequest, ContextBudget
from desktop.core.prompting import ContextPlan

#: How long the draft must rest before its token count is measured.
MEASURE_DELAY_MS = 250
#: Stands for the next question while the composer is empty.
PLACEHOLDER = "…"


class ContextTracker(QObject):
    """Debounced measuring of the next request; see the module docstring."""

    measure_requested = Signal(int, list, int, int)
    measure_grounded_requested = Signal(int, list, int, int, object)
    budget_changed = Signal(object)
    left_out_changed = Signal(int)

    def __init__(
        self,
        build_request: Callable[[str], ChatRequest],
        can_measure: Callable[[], bool | None],
        reserve: Callable[[], int],
        parent: QObject | None = None,
    ) -> None:
        """`can_measure()`: True to measure, False to wait (a reply is streaming), None
        when there is no model (the meter is cleared)."""
        super().__init__(parent)
        self._build_request = build_request
        self._can_measure = can_measure
        self._reserve = reserve
        self._draft = ""
        self._next_id = 0
        self._pending: tuple[int, ChatRequest] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(MEASURE_DELAY_MS)
        self._timer.timeout.connect(self.measure_now)

    def set_draft(self, text: str) -> None:
        self._draft = text
        self.schedule()

    def schedule(self) -> None:
        """Measure again shortly (changes in quick succession are measured once)."""
        self._timer.start()

    def stop(self) -> None:
        """No more measuring (the window is closing)."""
        self._timer.stop()
        self._pending = None

    def clear_marks(self) -> None:
        """A new branch is shown: nothing is marked until it is measured."""
        self.left_out_changed.emit(0)
        self.schedule()

    @Slot()
    def measure_now(self) -> None:
        state = self._can_measure()
        if state is None:
            self._pending = None
            self.budget_changed.emit(None)
            return
        if not state:
            return  # measured again when the reply ends
        typed = self._draft.strip()
        request = self._build_request(typed or PLACEHOLDER)
        if len(request.turn_items) <= 1 and not typed:  # an empty chat: nothing to show
            self._pending = None
            self.budget_changed.emit(None)
            self.left_out_changed.emit(0)
            return
        self._next_id += 1
        self._pending = (self._next_id, request)
        if request.query is not None:
            self.measure_grounded_requested.emit(
                self._next_id, request.messages, self._reserve(), request.pinned, request.query
            )
            return
        self.measure_requested.emit(
            self._next_id, request.messages, self._reserve(), request.pinned
        )

    @Slot(int, object)
    def on_measured(self, request_id: int, plan: ContextPlan | str) -> None:
        """The worker's answer to `measure_requested` (a str: why the request cannot fit)."""
        pending = self._pending
        if pending is None or pending[0] != request_id or not self._can_measure():
            return
        if isinstance(plan, str):
            self.budget_changed.emit(ContextBudget(0, 0, self._reserve(), 0, plan))
            return
        self._report(pending[1], plan)

    def planned(self, request: ChatRequest, plan: ContextPlan) -> None:
        """What a generation that has started actually sent."""
        self._pending = None
        self._report(request, plan)

    def _report(self, request: ChatRequest, plan: ContextPlan) -> None:
        left_out = request.left_out_items(plan.omitted)
        self.left_out_changed.emit(left_out)
        self.budget_changed.emit(
            ContextBudget(plan.prompt_tokens, plan.n_ctx, plan.reserve, left_out, note=plan.note)
        )
