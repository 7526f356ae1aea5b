"""Where each message of a long conversation sits, without laying it out.

`RowGeometry` keeps one height per message (estimated until the message has been on
screen, measured after) and answers "where does row i start" and "which row is at y"
from cached running sums, so a view can lay out only the rows on screen. `estimate_height`
guesses a message's height from its text (lines, code, tables) and the view's width.

Plain Python. Thread: GUI thread (used by `ChatView`).
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

#: Space between two messages, and above the first / below the last.
ROW_SPACING = 10
TOP_MARGIN = 20
BOTTOM_MARGIN = 20


class RowGeometry:
    """Heights and offsets of the rows (messages) of the view, in content pixels."""

    def __init__(self) -> None:
        self._heights: list[int] = []
        self._measured: list[bool] = []
        self._starts: list[int] | None = None

    def __len__(self) -> int:
        return len(self._heights)

    def reset(self, heights: list[int]) -> None:
        self._heights = list(heights)
        self._measured = [False] * len(heights)
        self._starts = None

    def append(self, height: int) -> None:
        self._heights.append(height)
        self._measured.append(False)
        self._starts = None

    def prepend(self, heights: list[int]) -> None:
        """Rows added above the first (older messages read later); estimates."""
        self._heights[:0] = heights
        self._measured[:0] = [False] * len(heights)
        self._starts = None

    def remove(self, row: int) -> None:
        del self._heights[row]
        del self._measured[row]
        self._starts = None

    def height(self, row: int) -> int:
        return self._heights[row]

    def measured(self, row: int) -> bool:
        return self._measured[row]

    def forget_measures(self) -> None:
        """The width changed: every height is an estimate again (kept as a good one)."""
        self._measured = [False] * len(self._heights)

    def set_height(self, row: int, height: int) -> int:
        """Record the measured height of `row`; returns how much it grew (or shrank)."""
        self._measured[row] = True
        delta = height - self._heights[row]
        if delta:
            self._heights[row] = height
            self._starts = None
        return delta

    def top(self, row: int) -> int:
        """The y where `row` starts (`len(self)` gives where the last one ends)."""
        return self._running()[row]

    def total(self) -> int:
        """The content's height, margins included."""
        return self._running()[-1] - ROW_SPACING + BOTTOM_MARGIN if self._heights else 0

    def row_at(self, y: int) -> int:
        """The row at content height `y` (clamped to the rows there are)."""
        if not self._heights:
            return 0
        return max(0, min(len(self._heights) - 1, bisect_right(self._running(), y) - 1))

    def _running(self) -> list[int]:
        if self._starts is None:
            steps = (height + ROW_SPACING for height in self._heights)
            self._starts = list(accumulate(steps, initial=TOP_MARGIN))
        return self._starts


def estimate_height(text: str, user: bool, width: int, char_width: float, line_height: int) -> int:
    """A guess of a message's height at `width`, corrected when it is first shown.

    Cheap on purpose (it runs for every message of a conversation when it opens): the
    text's lines, plus its length wrapped at `width`, plus the space a message's name,
    padding and actions take.
    """
    if user:
        width = int(width * 0.75) - 28
    per_line = max(10, int(width / max(char_width, 1.0)))
    lines = text.count("\n") + 1 + len(text) // per_line
    chrome = 60 if user else 64  # padding, name, status and action row
    return lines * line_height + chrome
