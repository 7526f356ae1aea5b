"""Time to first token turn after turn: is the conversation's prompt prefix reused?

Drives real turns of one conversation through the engine host (`HostedEngine`, the path the
window and `hearth ask` use) with the built-in model: each turn sends the system prompt,
every earlier question and reply (as the window stores them) and a new question, like the
window does, and records the time to first token as `run_generation` measures it (from
the request, context planning included) and how many prompt tokens were evaluated at Send
(not found in llama.cpp's cache): that count does not depend on how busy the machine is.

Two ways of sending, interleaved in each run, each with a fresh engine host:
- `typed`: as in the window, where the context meter measures the draft once the typing
  rests (`measure_context`, then `HostedEngine.prefill`, as `InferenceWorker` does), and the
  question is sent once that read-ahead is done (typing a question takes seconds; at most
  `--typing` seconds are waited);
- `sent`: the question sent at once, with nothing measured before (as `hearth ask` does).
Prints the median per turn and the ratio of the last turn to turn 2 for each.
`--in-process` runs `LlamaCppEngine` in this process instead (`sent` only).

    python packaging/bench/bench_turns.py [--runs 3] [--turns 20] [--threads 2] [--tokens 64]
"""

from __future__ import annotations

import argparse
import statistics
import time

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.embedded import find_embedded_model
from desktop.inference.engine import CancelToken, Engine
from desktop.inference.host.client import HostedEngine
from desktop.inference.llamacpp_engine import LlamaCppEngine
from desktop.inference.runner import measure_context, run_generation

QUESTIONS = (
    "What is the capital of France?",
    "And how many people live there?",
    "Name a famous museum in that city.",
    "What can I see in it?",
    "Suggest a short walk nearby.",
    "What should I eat for lunch there?",
    "How do I say thank you in French?",
    "And good evening?",
    "What is the weather like in spring?",
    "Which train goes to the sea from there?",
    "How long does the trip take?",
    "What is a typical dish of that coast?",
    "Give me a simple recipe for it.",
    "Which wine goes with it?",
    "Is there a cheaper alternative?",
    "What time do shops close on Sunday?",
    "How do I get back to the airport?",
    "Summarise my trip plan in three lines.",
    "Translate the first line into French.",
    "Thank you, that is all.",
)


Result = list[tuple[float, int, int]]


def one_run(engine: Engine, turns: int, tokens: int, seed: int, typing: float | None) -> Result:
    """(time to first token in s, prompt tokens, tokens evaluated) for each turn.

    With `typing`, each question is measured and read ahead as the window's meter does,
    then sent when the read-ahead is done (or after `typing` seconds).
    """
    history = [ChatMessage("system", DEFAULT_SYSTEM_PROMPT)]
    results = []
    for turn in range(turns):
        history.append(ChatMessage("user", QUESTIONS[turn % len(QUESTIONS)]))
        pieces: list[str] = []
        params = GenerationParams(max_tokens=tokens, seed=seed + turn)
        if typing is not None and isinstance(engine, HostedEngine):
            ahead = engine.prefill(measure_context(engine, history, tokens).messages)
            if ahead is not None:
                engine.wait_prefilled(ahead, typing)
        stats = run_generation(engine, history, params, CancelToken(), pieces.append)
        evaluated = stats.prompt_tokens - engine.usage.cached_tokens
        results.append((stats.time_to_first_token_s, stats.prompt_tokens, evaluated))
        ttft_ms = stats.time_to_first_token_s * 1000
        print(
            f"  turn {turn + 1}: {ttft_ms:.0f} ms, prompt {stats.prompt_tokens} tokens, "
            f"{evaluated} evaluated",
            flush=True,
        )
        history.append(ChatMessage("assistant", "".join(pieces)))  # as the window saves it
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64, help="max new tokens per reply")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--in-process", action="store_true", help="LlamaCppEngine, no host")
    parser.add_argument("--modes", default="typed,sent", help="typed, sent or both")
    parser.add_argument("--typing", type=float, default=10.0, help="max s from meter to Send")
    args = parser.parse_args()
    path = find_embedded_model()
    modes = ["sent"] if args.in_process else args.modes.split(",")
    runs: dict[str, list[Result]] = {mode: [] for mode in modes}
    for run in range(args.runs):
        for mode in modes:
            engine: Engine = LlamaCppEngine() if args.in_process else HostedEngine()
            engine.load(path, LoadOptions(n_ctx=args.ctx, n_threads=args.threads))
            started = time.perf_counter()
            typing = args.typing if mode == "typed" else None
            try:
                runs[mode].append(one_run(engine, args.turns, args.tokens, 100 * run, typing))
            finally:
                engine.close()
            print(f"run {run + 1} {mode}: {time.perf_counter() - started:.1f} s", flush=True)
    where = "in process" if args.in_process else "engine host"
    for mode in modes:
        report(mode, runs[mode], args.turns, f"{args.threads} threads, {where}")


def report(mode: str, runs: list[Result], turns: int, how: str) -> None:
    print(f"\n{mode}: built-in model, {how}, medians of {len(runs)} runs")
    print("turn  prompt tokens  evaluated  TTFT ms (each run)")
    medians = []
    for turn in range(turns):
        ttfts = [r[turn][0] * 1000 for r in runs]
        prompt = int(statistics.median(r[turn][1] for r in runs))
        evaluated = int(statistics.median(r[turn][2] for r in runs))
        medians.append(statistics.median(ttfts))
        each = " ".join(f"{t:6.0f}" for t in ttfts)
        print(f"{turn + 1:4d}  {prompt:13d}  {evaluated:9d}  {medians[-1]:7.0f}   ({each})")
    if turns >= 2:
        print(f"{mode}: turn {turns} / turn 2: {medians[-1] / medians[1]:.2f}x")


if __name__ == "__main__":
    main()
