"""The context window asked for on the command line, against the model and the machine.

Past what the model was trained on, answers degrade: a warning. Past the memory free now,
loading would swap or fail: a refusal, before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Callable

from desktop.core.errors import HearthError
from desktop.core.memory import estimate_memory, format_bytes
from desktop.inference.inspect import ModelFileInfo
from desktop.inference.model_shape import read_details
from desktop.inference.sysmem import available_memory


def check_context(
    info: ModelFileInfo,
    n_ctx: int,
    warn: Callable[[str], None],
    free_bytes: Callable[[], int | None] = available_memory,
) -> None:
    """Warn when `n_ctx` exceeds the model's training; raise `HearthError` past free memory."""
    name = info.path.name
    trained = info.context_length
    if trained and n_ctx > trained:
        warn(
            f"{name} was trained on a context of {trained:,} tokens; with --ctx {n_ctx:,} its "
            "answers may degrade once a conversation grows past that."
        )
    estimate = estimate_memory(
        info.path.stat().st_size, read_details(info).shape, n_ctx, free_bytes()
    )
    if estimate.fits is False:
        assert estimate.available_bytes is not None
        raise HearthError(
            f"{name} needs about {format_bytes(estimate.total_bytes)} of memory with --ctx "
            f"{n_ctx:,}, but only {format_bytes(estimate.available_bytes)} is free. Choose a "
            "smaller --ctx or close other programs; nothing was loaded."
        )
