"""Run one generation on an engine and measure it: shared by the worker thread and the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from desktop.core.prompting import fit_messages
from desktop.core.types import ChatMessage, GenerationParams, GenerationStats
from desktop.inference.engine import CancelToken, Engine


def run_generation(
    engine: Engine,
    messages: Sequence[ChatMessage],
    params: GenerationParams,
    cancel: CancelToken,
    on_token: Callable[[str], None],
) -> GenerationStats:
    """Fit `messages` into the context, stream the reply into `on_token`, return the stats.

    Known failures (`ContextOverflowError`, `GenerationError`, ...) propagate unchanged.
    A cancelled generation returns normally with `cancelled=True`.
    """
    fitted = fit_messages(messages, engine.n_ctx, params.max_tokens, engine.count_prompt_tokens)
    start = time.perf_counter()
    first: float | None = None
    pieces = 0
    stream = engine.stream(fitted, params, cancel)
    try:
        for piece in stream:
            if first is None:
                first = time.perf_counter() - start
            if piece:
                pieces += 1
                on_token(piece)
            if cancel.cancelled:
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    total = time.perf_counter() - start
    return GenerationStats(
        prompt_tokens=engine.usage.prompt_tokens,
        generated_tokens=max(engine.usage.generated_tokens, pieces),
        time_to_first_token_s=first if first is not None else total,
        total_s=total,
        cancelled=cancel.cancelled,
    )
