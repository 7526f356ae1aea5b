"""Teaching measured: time and peak memory of a training run, held-out accuracy before and
after, and the adapter's effect on generation speed.

The task is fixed and generated (seeded): "What is A plus B?" answered "ANSWER: C" (a
format the built-in model does not use, and sums it may or may not get right). The run is
the product's own: `plan_teaching` (a held-out fifth, anchor prompts mixed in) and the
training child (`Trainer`), on the built-in model with the given threads. Then llama.cpp
generates the same 128 tokens with and without the adapter, interleaved, 3 runs each
(medians). The machine's load average is printed: on a shared machine the times vary.

    .venv/bin/python packaging/bench/bench_teach.py --examples 100 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.inference.embedded import find_embedded_model
from desktop.teach.examples import Example
from desktop.teach.plan import plan_teaching
from desktop.teach.trainer import Trainer, private_folder

PROMPT = "Write a short paragraph about the sea."


def sums(count: int, seed: int = 18) -> list[Example]:
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    examples: list[Example] = []
    while len(examples) < count:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        if (a, b) not in seen:
            seen.add((a, b))
            examples.append(Example(f"What is {a} plus {b}?", f"ANSWER: {a + b}"))
    return examples


def speed(model: Path, adapter: Path | None, threads: int, tokens: int) -> float:
    """Tokens per second generating exactly `tokens` tokens (greedy; the end of the text
    does not stop it), after the prompt."""
    import llama_cpp

    extra: dict[str, Any] = {} if adapter is None else {"lora_path": str(adapter)}
    llm = llama_cpp.Llama(
        model_path=str(model), n_ctx=1024, n_threads=threads, verbose=False, **extra
    )
    prompt = llm.tokenize(PROMPT.encode("utf-8"))
    llm.eval(prompt)
    started, count = time.perf_counter(), 0
    for _token in llm.generate([], temp=0.0, reset=False):
        count += 1
        if count == tokens:
            break
    elapsed = time.perf_counter() - started
    llm.close()
    return count / elapsed


def speeds(model: Path, adapter: Path, threads: int, tokens: int) -> dict[str, float]:
    """Medians of 3 runs each, with and without the adapter, interleaved."""
    rates: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(3):
        rates["without"].append(speed(model, None, threads, tokens))
        rates["with"].append(speed(model, adapter, threads, tokens))
    return {f"tok_s_{k}": round(statistics.median(v), 1) for k, v in rates.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--speed-only", type=Path, help="only the speed, with this adapter")
    args = parser.parse_args()
    model = find_embedded_model()
    if args.speed_only:
        print(f"load average {os.getloadavg()}", flush=True)
        print(json.dumps(speeds(model, args.speed_only, args.threads, args.tokens)))
        print(f"load average {os.getloadavg()}")
        return 0
    plan = plan_teaching(sums(args.examples), epochs=args.epochs, threads=args.threads)
    print(f"load average {os.getloadavg()}; {plan.summary()}", flush=True)
    folder = private_folder()
    child: list[Any] = []

    def child_peak_mb() -> float:
        """The training child's peak resident memory so far (Linux: VmHWM)."""
        try:
            status = Path(f"/proc/{child[0].pid}/status").read_text()
        except (IndexError, OSError):
            return float("nan")
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    steps: list[float] = []
    epochs: list[dict[str, Any]] = []

    def progress(event: dict[str, Any]) -> None:
        if event["ev"] == "phase":
            print(f"  {event['name']} {event['detail']} at {time.monotonic() - t0:.0f} s")
        elif event["ev"] == "epoch":
            epochs.append(event)
            print(f"  epoch {event['epoch']}: {event}", flush=True)
        elif event["ev"] == "step":
            steps.append(float(event["seconds"]))
            if event["step"] % 10 == 0 or event["step"] == event["total"]:
                print(
                    f"  step {event['step']}/{event['total']} at {event['seconds']:.0f} s, "
                    f"child peak {child_peak_mb():.0f} MB, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )

    try:
        t0 = time.monotonic()
        job = plan.job(model, folder / "adapter.gguf", "bench", DEFAULT_SYSTEM_PROMPT)
        job.batch = 8
        done = Trainer().run(job, progress, started=child.append)
        wall = time.monotonic() - t0
        adapter = Path(done["adapter"])
        held = plan.held_out[: len(done["before"])]
        exact = [
            sum(a.strip() == e.answer for e, a in zip(held, done[k], strict=False))
            for k in ("before", "after")
        ]
        form = [sum(a.strip().startswith("ANSWER:") for a in done[k]) for k in ("before", "after")]
        rates = speeds(model, adapter, args.threads, args.tokens)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = {
        "examples": args.examples,
        "trained_on": len(plan.training),
        "held_out": len(plan.held_out),
        "anchors": len(plan.anchors),
        "epochs_max": args.epochs,
        "epochs_run": len(epochs),
        "threads": args.threads,
        "seconds": round(wall, 1),
        "estimated_seconds": round(plan.seconds, 1),
        "training_seconds": round(steps[-1] - steps[0], 1) if len(steps) > 1 else None,
        "peak_mb": round(float(done["peak_mb"])),
        "cosine": round(float(done["cosine"]), 4),
        "held_out_compared": len(held),
        "exact_before": exact[0],
        "exact_after": exact[1],
        "format_before": form[0],
        "format_after": form[1],
        **rates,
        "load_average_end": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
