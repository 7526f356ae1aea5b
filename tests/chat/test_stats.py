"""The stats line after a reply, in the window and after `hearth ask --stats`."""

from __future__ import annotations

from desktop.chat.stats import format_stats
from desktop.core.types import GenerationStats


def _stats(cancelled: bool = False) -> GenerationStats:
    return GenerationStats(
        prompt_tokens=31,
        generated_tokens=24,
        time_to_first_token_s=0.0625,
        total_s=0.5625,
        cancelled=cancelled,
    )


def test_the_window_line_and_a_stopped_reply() -> None:
    assert format_stats(_stats()) == "24 tokens · 46.0 tok/s · first token 62 ms"
    assert format_stats(_stats(cancelled=True)).endswith(" · stopped")


def test_the_command_line_names_the_model_and_the_engine() -> None:
    line = format_stats(
        _stats(), model="tiny", engine="llama.cpp", load_time_s=0.25, separator=", "
    )
    assert line == (
        "model tiny on llama.cpp, load 0.25 s, prompt 31 tokens, 24 tokens, 46.0 tok/s, "
        "first token 62 ms"
    )
