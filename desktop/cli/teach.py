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
from desktop.core.errors import HearthError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.inference.adapters import check_fits
from desktop.paths import AppPaths
from desktop.storage.adapters import AdapterStore, check_name
from desktop.teach.examples import read_examples, split
from desktop.teach.trainer import (
    TeachError,
    TeachJob,
    Trainer,
    estimate_seconds,
    missing_component,
    private_folder,
    read_anchors,
)

TEACH_ADVICE = "Close it, then teach again."
#: Anchor prompts mixed in: one for every two of the user's examples, at most this many.
MAX_ANCHORS = 24


def _tokens(examples: list[Any]) -> int:
    """About how many tokens the examples are (4 characters a token, plus the template)."""
    return sum((len(e.prompt) + len(e.answer)) // 4 + 12 for e in examples)


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .!")


def run(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    if reason := missing_component():
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
    training, held_out = split(examples)
    anchors = read_anchors(min(MAX_ANCHORS, max(2, len(training) // 2)))
    with open_store(paths, advice=TEACH_ADVICE) as store:
        adapters = AdapterStore(store.db)
        if adapters.find(name) is not None:
            raise HearthError(f"There is already an adapter named “{name}”; choose another name.")
        tokens = _tokens(training) + 40 * len(anchors)
        seconds = estimate_seconds(tokens, args.epochs, threads)
        print(
            f"Teaching “{name}” to {base_label(key)} from {len(training)} examples "
            f"(~{tokens:,} tokens) and {len(anchors)} general ones; {len(held_out)} held out "
            f"to check it. About {max(1, round(seconds / 60))} min with {threads} threads.",
            file=sys.stderr,
        )
        folder = private_folder()
        try:
            job = TeachJob(
                base=str(model),
                out=str(folder / "adapter.gguf"),
                name=name,
                examples=TeachJob.pairs(training),
                held_out=TeachJob.pairs(held_out),
                system=DEFAULT_SYSTEM_PROMPT,
                anchors=anchors,
                threads=threads,
                epochs=args.epochs,
            )
            done = _train(job)
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


def _train(job: TeachJob) -> dict[str, Any]:
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
                f"about {left:.0f} s left",
                event["step"] == event["total"],
            )
        elif event["ev"] == "epoch":
            meter.write(
                f"Epoch {event['epoch']}: training loss {event['train_loss']:.3f}, "
                f"held-out loss {event['held_out_loss']:.3f}",
                True,
            )

    try:
        return Trainer().run(job, show, cancel)
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
    hits = [0, 0]
    print("Held-out examples, before → after:", file=out)
    for example, old, new in zip(held_out, before, after, strict=False):
        wanted = _normal(example.answer)
        hits[0] += _normal(old) == wanted
        hits[1] += _normal(new) == wanted
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
