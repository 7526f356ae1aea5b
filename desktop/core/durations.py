"""How long something takes, as the user reads it: "8 s", "80 s", "4 min", "1.5 h".

One rule for every estimate and time left in Hearth (training, indexing, downloads): seconds
up to two minutes (rounded to ten above twenty: an estimate is not more precise than that),
then minutes, then hours. Plain Python."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    if seconds < 20:
        return f"{max(1, round(seconds))} s"
    if seconds < 115:
        return f"{round(seconds / 10) * 10} s"
    if seconds < 3600:
        return f"{max(2, round(seconds / 60))} min"
    return f"{seconds / 3600:.1f} h"
