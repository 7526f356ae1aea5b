"""Plain value types shared by every layer: messages, parameters, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation as the model sees it."""

    role: Role
    content: str


@dataclass(frozen=True)
class LoadOptions:
    """How to load a model: context window and CPU threads (None: engine default), and a
    LoRA adapter's file applied with `adapter_scale` (llama.cpp only)."""

    n_ctx: int = 4096
    n_threads: int | None = None
    batch_size: int = 256
    adapter: str | None = None
    adapter_scale: float = 1.0


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters for one reply. `seed=None` means a random seed."""

    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    #: The conversation this reply belongs to, as the engine may keep its evaluated prompt
    #: under (on disk, encrypted); None keeps nothing on disk.
    state_label: str | None = None


@dataclass(frozen=True)
class GenerationStats:
    """What one generation cost. Times in seconds; `tokens_per_s` counts generated tokens."""

    prompt_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    total_s: float
    cancelled: bool = False

    @property
    def tokens_per_s(self) -> float:
        gen_time = self.total_s - self.time_to_first_token_s
        if self.generated_tokens <= 1 or gen_time <= 0:
            return 0.0
        return (self.generated_tokens - 1) / gen_time


@dataclass(frozen=True)
class ModelDescription:
    """What is known about a loaded model, for the status line and the CLI."""

    path: str
    name: str
    engine: str
    architecture: str
    context_length: int
    n_ctx: int
    load_time_s: float
    template_note: str | None = None  # why the model's chat template is replaced, and by what
