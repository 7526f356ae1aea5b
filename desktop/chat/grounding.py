"""Answers grounded in the user's documents: the best passages packed into the question
within the context budget, numbered so the reply can cite them, and the sources listed.

`ground()` takes the passages best first (from `DocumentStore.search`) and adds them one
by one while the whole prompt, as the model will see it, still leaves room for the reply;
a passage too long for what is left is skipped for a shorter one after it.

Plain Python. Thread: the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.types import ChatMessage
from desktop.storage.documents import PassageHit

INSTRUCTION = (
    "Answer the question using the numbered passages from my documents above. Cite the "
    "passages you use like [1]. If they do not contain the answer, say so."
)


@dataclass(frozen=True)
class Source:
    """A passage sent with the question, numbered as the reply may cite it."""

    number: int
    path: str
    page: int | None
    heading: str
    text: str

    def label(self) -> str:
        """ "[2] manual.pdf, page 4 — Safety" (the file's name, its page and heading)."""
        where = Path(self.path).name + (f", page {self.page}" if self.page else "")
        return f"[{self.number}] {where}" + (f" — {self.heading}" if self.heading else "")


@dataclass(frozen=True)
class Grounding:
    """The question as sent (passages, then the question) and the passages it holds."""

    text: str
    sources: list[Source]


def compose(question: str, sources: Sequence[Source]) -> str:
    if not sources:
        return question
    passages = "\n\n".join(f"{s.label()}\n{s.text}" for s in sources)
    return f"{passages}\n\n{INSTRUCTION}\n\nQuestion: {question}"


def ground(
    question: str,
    hits: Sequence[PassageHit],
    render: Callable[[str], Sequence[ChatMessage]],
    count_tokens: Callable[[Sequence[ChatMessage]], int],
    budget_tokens: int,
) -> Grounding:
    """The most passages of `hits` (best first) whose prompt fits in `budget_tokens`.

    `render` turns the question's text into the messages sent (system prompt, examples);
    `count_tokens` counts them as the model will.
    """
    chosen: list[Source] = []
    for hit in hits:
        candidate = Source(len(chosen) + 1, hit.path, hit.page, hit.heading, hit.text)
        if count_tokens(render(compose(question, [*chosen, candidate]))) <= budget_tokens:
            chosen.append(candidate)
    return Grounding(compose(question, chosen), chosen)
