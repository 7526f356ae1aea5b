"""What a teaching run will do, before it starts: the split, the anchors, tokens and time.

`plan_teaching` splits the user's examples (a held-out fifth to check on), picks the anchor
prompts mixed in against the style collapse (one for every two examples, at most
`MAX_ANCHORS`), counts tokens about and estimates the time here; `TeachPlan.job` turns it
into the `TeachJob` the training child runs. `matches` counts held-out answers given
exactly as expected (case, spacing and a final full stop aside), for the before/after
comparison. The command line and the window's Teach page both use it. Plain Python.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.durations import duration_text
from desktop.teach.examples import Example, split
from desktop.teach.trainer import TeachJob, estimate_seconds, read_anchors

#: Anchor prompts mixed in: one for every two of the user's examples, at most this many.
MAX_ANCHORS = 24
#: Tokens an anchor example adds to training, about (a prompt and the model's answer).
ANCHOR_TOKENS = 40


def approx_tokens(examples: Sequence[Example]) -> int:
    """About how many tokens the examples are (4 characters a token, plus the template)."""
    return sum((len(e.prompt) + len(e.answer)) // 4 + 12 for e in examples)


def normal(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .!")


def matches(expected: Sequence[Example], answers: Sequence[str]) -> int:
    """How many `answers` are the expected answer (case, spacing, a final stop aside)."""
    return sum(normal(e.answer) == normal(a) for e, a in zip(expected, answers, strict=False))


@dataclass(frozen=True)
class TeachPlan:
    examples: list[Example]
    training: list[Example]
    held_out: list[Example]
    anchors: list[str]
    tokens: int
    epochs: int
    threads: int
    busy: bool = False  # other work keeps the cores busy now: it takes longer

    @property
    def seconds(self) -> float:
        return estimate_seconds(self.tokens, self.epochs, self.threads)

    def summary(self) -> str:
        """ "50 examples (40 to learn from, 10 held out to check), ~2,900 tokens with 20
        general ones mixed in; about 4 min here with 2 threads"."""
        count = len(self.examples)
        return (
            f"{count} example{'s' * (count != 1)} ({len(self.training)} to learn from, "
            f"{len(self.held_out)} held out to check), ~{self.tokens:,} tokens with "
            f"{len(self.anchors)} general ones mixed in; about "
            f"{duration_text(self.seconds)} here with {self.threads} threads"
            + (" (longer now: this computer is busy with other work)" if self.busy else "")
        )

    def job(self, model: Path, out: Path, name: str, system: str) -> TeachJob:
        return TeachJob(
            base=str(model),
            out=str(out),
            name=name,
            examples=TeachJob.pairs(self.training),
            held_out=TeachJob.pairs(self.held_out),
            system=system,
            anchors=self.anchors,
            threads=self.threads,
            epochs=self.epochs,
        )


def plan_teaching(
    examples: Sequence[Example], *, epochs: int, threads: int, anchors: bool = True
) -> TeachPlan:
    training, held_out = split(examples)
    chosen = read_anchors(min(MAX_ANCHORS, max(2, len(training) // 2))) if anchors else []
    tokens = approx_tokens(training) + ANCHOR_TOKENS * len(chosen)
    return TeachPlan(
        list(examples), training, held_out, chosen, tokens, epochs, threads, busy=machine_busy()
    )


def machine_busy() -> bool:
    """Whether other work keeps this computer's cores busy (the estimate is for a quiet
    one: training and llama.cpp slow down several times when they share the cores)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Windows
        return False
    return load > (os.cpu_count() or 1) * 1.5
