"""How a finished reply's numbers read, in the window's status line and after `hearth ask`.

Plain Python. Any thread.
"""

from __future__ import annotations

from desktop.core.types import GenerationStats


def format_stats(
    stats: GenerationStats,
    *,
    model: str | None = None,
    engine: str | None = None,
    load_time_s: float | None = None,
    separator: str = " · ",
) -> str:
    """'model M on E · load L s · prompt P tokens · N tokens · X tok/s · first token Y ms'.

    Only the parts given are shown; 'stopped' ends the line of a cancelled reply.
    """
    parts: list[str] = []
    if model:
        parts.append(f"model {model} on {engine}" if engine else f"model {model}")
    if load_time_s is not None:
        parts.append(f"load {load_time_s:.2f} s")
    if model or load_time_s is not None:
        parts.append(f"prompt {stats.prompt_tokens} tokens")
    parts += [
        f"{stats.generated_tokens} tokens",
        f"{stats.tokens_per_s:.1f} tok/s",
        f"first token {stats.time_to_first_token_s * 1000:.0f} ms",
    ]
    if stats.cancelled:
        parts.append("stopped")
    return separator.join(parts)
