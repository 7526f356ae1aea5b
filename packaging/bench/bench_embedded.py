"""Measure the built-in model on this machine: load time, time to first token, tokens/s.

Runs Hearth's engine path (`LlamaCppEngine` + `run_generation`) and, as the baseline in
the same run, llama-cpp-python's own `create_completion` on the same prompt tokens.
Prints the median of several runs of each and the ratio Hearth / baseline.

    python packaging/bench/bench_embedded.py [--runs 5] [--threads 2] [--tokens 128]
"""

from __future__ import annotations

import argparse
import statistics
import time

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.embedded import find_embedded_model
from desktop.inference.engine import CancelToken
from desktop.inference.llamacpp_engine import LlamaCppEngine
from desktop.inference.runner import run_generation

QUESTION = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    path = find_embedded_model()
    options = LoadOptions(n_ctx=2048, n_threads=args.threads)
    params = GenerationParams(max_tokens=args.tokens, temperature=0.0, repeat_penalty=1.0)
    messages = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", QUESTION)])

    hearth: dict[str, list[float]] = {"load_s": [], "ttft_ms": [], "tok_s": [], "tokens": []}
    base: dict[str, list[float]] = {"load_s": [], "ttft_ms": [], "tok_s": [], "tokens": []}
    for _ in range(args.runs):
        # Hearth's path.
        engine = LlamaCppEngine()
        start = time.perf_counter()
        engine.load(path, options)
        hearth["load_s"].append(time.perf_counter() - start)
        tokens = engine._tokens(messages)
        stats = run_generation(engine, messages, params, CancelToken(), lambda _t: None)
        hearth["ttft_ms"].append(stats.time_to_first_token_s * 1000)
        hearth["tok_s"].append(stats.tokens_per_s)
        hearth["tokens"].append(stats.generated_tokens)
        llm = engine._llm
        # Baseline: llama-cpp-python directly, on the same model object and prompt tokens.
        llm.reset()
        start = time.perf_counter()
        first = None
        count = 0
        for _chunk in llm.create_completion(
            tokens, max_tokens=args.tokens, temperature=0.0, repeat_penalty=1.0, stream=True
        ):
            if first is None:
                first = time.perf_counter() - start
            count += 1
        total = time.perf_counter() - start
        assert first is not None
        base["load_s"].append(hearth["load_s"][-1])
        base["ttft_ms"].append(first * 1000)
        base["tok_s"].append((count - 1) / (total - first) if count > 1 else 0.0)
        base["tokens"].append(count)
        engine.close()

    print(f"built-in model {path.name}, {args.threads} threads, {args.runs} runs, medians")
    print(f"{'':10}{'load s':>10}{'ttft ms':>10}{'tok/s':>10}{'tokens':>8}")
    for name, data in (("hearth", hearth), ("baseline", base)):
        row = [statistics.median(data[k]) for k in ("load_s", "ttft_ms", "tok_s", "tokens")]
        print(f"{name:10}{row[0]:10.3f}{row[1]:10.1f}{row[2]:10.1f}{row[3]:8.0f}")
    ratio = statistics.median(hearth["tok_s"]) / statistics.median(base["tok_s"])
    print(f"hearth/baseline generation speed: {ratio:.2f}")
    print(f"prompt: {len(tokens)} tokens; prompt prefix reused across runs: no (fresh load)")


if __name__ == "__main__":
    main()
