"""One rule for every estimate and time left: seconds up to two minutes, then minutes, hours."""

from __future__ import annotations

import pytest

from desktop.core.durations import duration_text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "1 s"),
        (8.4, "8 s"),
        (19.4, "19 s"),
        (77.3, "80 s"),
        (86.0, "90 s"),
        (114.0, "110 s"),
        (118.0, "2 min"),
        (150.0, "2 min"),
        (236.0, "4 min"),
        (3599.0, "60 min"),
        (5400.0, "1.5 h"),
    ],
)
def test_durations_read_as_a_person_would_say_them(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
