"""Going back to an earlier chat: how long until the first word, with and without the
conversation's evaluated prompt kept in memory.

A fresh process per round loads the built-in model twice (`LlamaCppEngine`, 2 threads):
once as Hearth runs it (states kept) and once with no memory for states, the old way. On
each: chat A (a long first message, about `--tokens` tokens, and its reply), then chat B (a
short question and its reply), then A's next question; the time to A's first token is
printed for both, with how many prompt tokens llama.cpp had to evaluate. Medians of
`--rounds`, the two engines interleaved within each round.

    python packaging/bench/bench_switch.py [--rounds 3] [--tokens 1200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import textwrap
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_fixture import ROOT, run_driver

DRIVER = textwrap.dedent("""
    import json, sys, time
    from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
    from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
    from desktop.inference.embedded import find_embedded_model
    from desktop.inference.engine import CancelToken
    from desktop.inference.llamacpp_engine import LlamaCppEngine

    words = int(sys.argv[1]) * 3 // 4
    notes = " ".join(f"Room {n} is on floor {n % 9}." for n in range(words // 6))
    params = GenerationParams(max_tokens=16, temperature=0.0, seed=1)
    path = find_embedded_model()

    def turn(engine, messages):
        started, first = time.perf_counter(), None
        pieces = []
        for piece in engine.stream(messages, params, CancelToken()):
            if first is None:
                first = time.perf_counter() - started
            pieces.append(piece)
        usage = engine.usage
        return "".join(pieces), first, usage.prompt_tokens - usage.cached_tokens

    result = {}
    for name, budget in (("kept", None), ("not kept", 0)):
        engine = LlamaCppEngine(**({} if budget is None else {"state_budget": budget}))
        engine.load(path, LoadOptions(n_ctx=4096, n_threads=2))
        system = ChatMessage("system", DEFAULT_SYSTEM_PROMPT)
        chat_a = [system, ChatMessage("user", notes + " Which floor is room 3 on?")]
        reply, _, _ = turn(engine, chat_a)
        chat_a.append(ChatMessage("assistant", reply))
        chat_b = [system, ChatMessage("user", "Name a bird.")]
        turn(engine, chat_b)
        chat_a.append(ChatMessage("user", "And room 12?"))
        _, ttft, evaluated = turn(engine, chat_a)
        prompt = engine.usage.prompt_tokens
        result[name] = {"ttft_s": ttft, "evaluated": evaluated, "prompt": prompt}
        engine.close()
    print("RESULT " + json.dumps(result))
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=1200)
    args = parser.parse_args()
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        got = run_driver(DRIVER, [str(args.tokens)], ROOT, {}, timeout_s=1200)
        rounds.append(got)
        print(
            f"round {number + 1}: "
            + ", ".join(
                f"{k} {v['ttft_s'] * 1000:.0f} ms ({v['evaluated']})" for k, v in got.items()
            ),
            file=sys.stderr,
        )
    print(f"built-in model, 2 threads, medians of {args.rounds} rounds")
    print("| chat A's prompt | states | first token after going back | tokens evaluated |")
    print("|---|---|---|---|")
    for name in rounds[0]:
        ttft = statistics.median(r[name]["ttft_s"] for r in rounds)
        evaluated = statistics.median(r[name]["evaluated"] for r in rounds)
        prompt = statistics.median(r[name]["prompt"] for r in rounds)
        print(f"| {prompt:.0f} tokens | {name} | {ttft * 1000:.0f} ms | {evaluated:.0f} |")


if __name__ == "__main__":
    main()
