"""`hearth --self-test`: load the model, answer one question headless, print one line."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TextIO

from desktop.chat.stats import format_stats
from desktop.cli.ask import load_engine, option
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.embedded import find_embedded_model
from desktop.inference.engine import CancelToken
from desktop.inference.runner import run_generation
from desktop.storage.selfcheck import check_store

SELF_TEST_QUESTION = "What is the capital of France?"


def self_test_options(args: argparse.Namespace) -> LoadOptions:
    threads, ctx = option(args, "threads"), option(args, "ctx")
    return LoadOptions(n_ctx=int(ctx or 4096), n_threads=int(threads) if threads else None)


def cmd_self_test(args: argparse.Namespace, out: TextIO) -> int:
    start = time.perf_counter()
    store = check_store()
    model = option(args, "model")
    path = Path(str(model)).expanduser() if model else find_embedded_model()
    engine, load_time = load_engine(args, path, self_test_options(args))
    try:
        pieces: list[str] = []
        stats = run_generation(
            engine,
            with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", SELF_TEST_QUESTION)]),
            GenerationParams(max_tokens=48, temperature=0.0, seed=1),
            CancelToken(),
            pieces.append,
        )
    finally:
        engine.close()
    answer = "".join(pieces).strip()
    ok = bool(answer) and stats.generated_tokens > 0
    status = "ok" if ok else "FAILED"
    print(
        f"self-test {status}: model {path.name} on {engine.info.name}, "
        f"{format_stats(stats, load_time_s=load_time, separator=', ')}, store {store}, "
        f"total {time.perf_counter() - start:.2f} s; "
        f"answer: {answer[:80]!r}",
        file=out,
    )
    return 0 if ok else 1
