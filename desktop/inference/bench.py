"""How fast a model runs on this machine: load time, prompt and generation speed, TTFT.

Each run loads the model afresh (so no run reuses another's cached prompt), generates a
fixed reply greedily, and closes it. The figures are medians over the runs. Prompt tokens/s
is the prompt length over the time to the first token (prompt evaluation plus one step).
Runs on the calling thread, which owns the engine for the duration.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken
from desktop.inference.registry import EngineRegistry
from desktop.inference.runner import run_generation

BENCH_QUESTION = "Write a short story about a lighthouse keeper who finds a message in a bottle."


@dataclass(frozen=True)
class BenchRun:
    load_s: float
    prompt_tokens: int
    generated_tokens: int
    ttft_s: float
    prompt_tokens_per_s: float
    generation_tokens_per_s: float


@dataclass(frozen=True)
class BenchResult:
    """Medians of `runs`, plus each run. Speeds are tokens per second."""

    model: str
    engine: str
    threads: int | None
    n_ctx: int
    max_tokens: int
    runs: list[BenchRun] = field(default_factory=list)

    def _median(self, name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in self.runs)) if self.runs else 0.0

    @property
    def load_s(self) -> float:
        return self._median("load_s")

    @property
    def ttft_s(self) -> float:
        return self._median("ttft_s")

    @property
    def prompt_tokens_per_s(self) -> float:
        return self._median("prompt_tokens_per_s")

    @property
    def generation_tokens_per_s(self) -> float:
        return self._median("generation_tokens_per_s")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "engine": self.engine,
            "threads": self.threads,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "runs": len(self.runs),
            "load_s": round(self.load_s, 4),
            "time_to_first_token_s": round(self.ttft_s, 4),
            "prompt_tokens_per_s": round(self.prompt_tokens_per_s, 1),
            "generation_tokens_per_s": round(self.generation_tokens_per_s, 1),
            "prompt_tokens": self.runs[0].prompt_tokens if self.runs else 0,
            "generated_tokens": int(self._median("generated_tokens")),
            "per_run": [asdict(r) for r in self.runs],
        }


def benchmark(
    path: Path,
    registry: EngineRegistry,
    *,
    runs: int = 3,
    threads: int | None = None,
    n_ctx: int = 2048,
    max_tokens: int = 128,
    on_run: Callable[[int, BenchRun], None] | None = None,
) -> BenchResult:
    """Measure `path` `runs` times; raises the engines' known errors unchanged."""
    messages = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", BENCH_QUESTION)])
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.0, seed=1)
    trained = registry.inspect(path).context_length
    n_ctx = min(n_ctx, trained) if trained else n_ctx
    engine_name = ""
    done: list[BenchRun] = []
    for index in range(max(1, runs)):
        engine = registry.create_engine(path)
        engine_name = engine.info.name
        start = time.perf_counter()
        engine.load(path, LoadOptions(n_ctx=n_ctx, n_threads=threads))
        load_s = time.perf_counter() - start
        try:
            stats = run_generation(engine, messages, params, CancelToken(), lambda _t: None)
        finally:
            engine.close()
        ttft = stats.time_to_first_token_s
        run = BenchRun(
            load_s=load_s,
            prompt_tokens=stats.prompt_tokens,
            generated_tokens=stats.generated_tokens,
            ttft_s=ttft,
            prompt_tokens_per_s=stats.prompt_tokens / ttft if ttft > 0 else 0.0,
            generation_tokens_per_s=stats.tokens_per_s,
        )
        done.append(run)
        if on_run is not None:
            on_run(index, run)
    return BenchResult(str(path), engine_name, threads, n_ctx, max_tokens, done)
