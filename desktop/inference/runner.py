"""Run one generation on an engine and measure it: shared by the worker thread and the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from desktop.core.errors import GenerationError
from desktop.core.prompting import ContextPlan, plan_context
from desktop.core.types import ChatMessage, GenerationParams, GenerationStats
from desktop.inference.engine import CancelToken, Engine, PromptCompleter


def run_generation(
    engine: Engine,
    messages: Sequence[ChatMessage],
    params: GenerationParams,
    cancel: CancelToken,
    on_token: Callable[[str], None],
    pinned: int = 0,
    on_plan: Callable[[ContextPlan], None] | None = None,
) -> GenerationStats:
    """Fit `messages` into the context, stream the reply into `on_token`, return the stats.

    The first `pinned` non-system messages (an assistant's examples) are kept like the
    system prompt when older turns must go; `on_plan` hears what was sent before the
    first token. Known failures (`ContextOverflowError`, `GenerationError`, ...) propagate
    unchanged. A cancelled generation returns normally with `cancelled=True`. Times count
    from this call, context planning included: that is how long the user waits.
    """
    start = time.perf_counter()
    plan = measure_context(engine, messages, params.max_tokens, pinned)
    if on_plan is not None:
        on_plan(plan)
    return _measured(engine, engine.stream(plan.messages, params, cancel), cancel, on_token, start)


def run_completion(
    engine: Engine,
    prompt: str,
    params: GenerationParams,
    cancel: CancelToken,
    on_token: Callable[[str], None],
) -> GenerationStats:
    """Stream the continuation of the raw text `prompt` (no chat template) into `on_token`.

    Raises `GenerationError` when the engine cannot continue raw text (a server's model),
    `ContextOverflowError` when the prompt does not fit; otherwise like `run_generation`.
    """
    start = time.perf_counter()
    if not isinstance(engine, PromptCompleter):
        raise GenerationError(f"The {engine.info.name} engine cannot continue a raw prompt.")
    return _measured(engine, engine.complete(prompt, params, cancel), cancel, on_token, start)


def _measured(
    engine: Engine,
    stream: Iterator[str],
    cancel: CancelToken,
    on_token: Callable[[str], None],
    start: float,
) -> GenerationStats:
    first: float | None = None
    pieces = 0
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


def measure_context(
    engine: Engine, messages: Sequence[ChatMessage], reserve: int, pinned: int = 0
) -> ContextPlan:
    """What a request of `messages` would send to `engine`, keeping `reserve` for the reply."""
    return plan_context(messages, engine.n_ctx, reserve, engine.count_prompt_tokens, pinned)
