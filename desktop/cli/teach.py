"""`hearth teach EXAMPLES --base MODEL --out NAME`: an adapter taught from your examples.

Checks everything before the long part: the training component, the examples file (a
sentence naming the line at fault), the model (llama-family GGUF), the name (free) and the
store (the passphrase), then says how many examples and tokens and about how long. Training
runs in a child process with a progress line on stderr (step, loss, time left); Ctrl+C
stops it and keeps nothing. At the end the held-out examples are shown before and after,
and the adapter is kept in the encrypted store (`hearth ask --adapter NAME` uses it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from desktop.cli.adapters import base_label, base_model
from desktop.cli.store import open_store
from desktop.core.durations import duration_text
from desktop.core.errors import HearthError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.inference.adapters import check_fits
from desktop.paths import AppPaths
from desktop.storage.adapters import AdapterStore, check_name
from desktop.teach.examples import read_examples
from desktop.teach.plan import matches, plan_teaching
from desktop.teach.trainer import (
    TeachError,
    TeachJob,
    Trainer,
    missing_component,
    private_folder,
)

TEACH_ADVICE = "Close it, then teach again."


def run(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    if reason := missing_component(paths.data_dir):
        raise HearthError(reason)
    examples = read_examples(Path(args.examples).expanduser())
    key, model = base_model(args.base, paths)
    from desktop.inference.gguf_header import read_gguf_header

    architecture = read_gguf_header(model).metadata.get("general.architecture")
    if architecture != "llama":
        raise HearthError(
            f"Teaching works on llama-family models (SmolLM2, Llama 3.2, TinyLlama…) for now; "
            f"“{model.name}” is a {architecture} model."
        )
    name = check_name(args.out)
    threads = args.threads or max(1, min(os.cpu_count() or 2, 8))
    plan = plan_teaching(examples, epochs=args.epochs, threads=threads)
    training, held_out = plan.training, plan.held_out
    with open_store(paths, advice=TEACH_ADVICE) as store:
        adapters = AdapterStore(store.db)
        adapters.check_free(name)
        print(
            f"Teaching “{name}” to {base_label(key)} from {len(training)} examples "
            f"(~{plan.tokens:,} tokens) and {len(plan.anchors)} general ones; {len(held_out)} "
            f"held out to check it. About {duration_text(plan.seconds)} with "
            f"{threads} threads.",
            file=sys.stderr,
        )
        folder = private_folder()
        try:
            job = plan.job(model, folder / "adapter.gguf", name, DEFAULT_SYSTEM_PROMPT)
            done = _train(job, paths.data_dir)
            adapter_file = Path(done["adapter"])
            info = check_fits(adapter_file, model)
            kept = adapters.add(
                name,
                key,
                adapter_file.read_bytes(),
                info.rank,
                f"taught from {len(examples)} examples",
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    _report(out, held_out, done, kept.name, seconds=float(done["seconds"]))
    return 0


def _train(job: TeachJob, data_dir: Path) -> dict[str, Any]:
    cancel = threading.Event()
    from desktop.cli.docs import ProgressLine

    meter = ProgressLine(sys.stderr)

    def show(event: dict[str, Any]) -> None:
        if event["ev"] == "phase":
            meter.write(f"{event['name'].capitalize()}… {event['detail']}", True)
        elif event["ev"] == "step":
            left = float(event["seconds_left"])
            meter.write(
                f"[step {event['step']}/{event['total']}] loss {event['loss']:.3f}, "
                f"about {duration_text(left)} left",
                event["step"] == event["total"],
            )
        elif event["ev"] == "epoch":
            meter.write(
                f"Epoch {event['epoch']}: training loss {event['train_loss']:.3f}, "
                f"held-out loss {event['held_out_loss']:.3f}",
                True,
            )

    try:
        return Trainer(data_dir=data_dir).run(job, show, cancel)
    except KeyboardInterrupt:
        cancel.set()
        meter.end()
        raise TeachError("Stopped. Nothing was kept.") from None
    finally:
        meter.end()


def _report(
    out: TextIO, held_out: list[Any], done: dict[str, Any], name: str, seconds: float
) -> None:
    before, after = done["before"], done["after"]
    hits = [matches(held_out, before), matches(held_out, after)]
    print("Held-out examples, before → after:", file=out)
    for example, old, new in zip(held_out, before, after, strict=False):
        print(f"  Q: {example.prompt}", file=out)
        print(f"     expected: {example.answer}", file=out)
        print(f"     before:   {old}", file=out)
        print(f"     after:    {new}", file=out)
    compared = len(before)
    print(
        f"Answers exactly as expected: {hits[0]}/{compared} before, {hits[1]}/{compared} "
        f"after. Trained in {seconds:.0f} s (peak memory {done['peak_mb']:,.0f} MB; llama.cpp "
        f"agrees with the trained model: cosine {done['cosine']:.3f}).",
        file=out,
    )
    print(f"Kept the adapter “{name}”: hearth ask --adapter “{name}” …", file=out)
