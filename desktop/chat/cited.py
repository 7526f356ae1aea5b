"""Sources in the window: the passages of the chosen collections packed into the question
of a request, and the sources kept with the reply (in its stats) so they survive a restart.

`ground_request` replaces the last question of a request's messages by the question with
the best passages (`grounding.ground`, the same packing `hearth ask --docs` uses) within
`budget_tokens`, counted by the engine (in the window: on the inference thread, which owns
it; the passages are found on the GUI thread and travel with the request).
`to_stats` / `from_stats` keep the sources, the question's words (highlighted in the side
panel) and the collections used in a reply's stats.

Plain Python. Thread: the caller's (the GUI thread in the window).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from desktop.chat.grounding import Source, ground
from desktop.core.types import ChatMessage
from desktop.storage.documents import STOPWORDS, PassageHit

#: How many passages are looked up for one question (a small model is misled by many).
SEARCH_LIMIT = 5


@dataclass(frozen=True)
class Cited:
    """The sources of a reply, the words of its question, and the collections searched."""

    sources: tuple[Source, ...]
    terms: tuple[str, ...]
    collections: tuple[int, ...]


def question_terms(question: str) -> tuple[str, ...]:
    """The question's words worth highlighting (no common words), lowercased, in order."""
    words = re.findall(r"\w+", question.casefold())
    return tuple(dict.fromkeys(w for w in words if len(w) > 1 and w not in STOPWORDS))


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each word of `text` starting with one of `terms` (case-insensitive)."""
    if not terms:
        return []
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\w*",
        re.IGNORECASE,
    )
    return [match.span() for match in pattern.finditer(text)]


def ground_request(
    messages: Sequence[ChatMessage],
    hits: Sequence[PassageHit],
    budget_tokens: int,
    count_tokens: Callable[[Sequence[ChatMessage]], int],
) -> tuple[list[ChatMessage], list[Source]]:
    """`messages` with the last question grounded in `hits` (best first), as many as fit in
    `budget_tokens` counted by `count_tokens` (the engine's own count)."""
    if not hits or not messages or messages[-1].role != "user":
        return list(messages), []
    head = list(messages[:-1])
    question = messages[-1].content

    def render(text: str) -> list[ChatMessage]:
        return [*head, ChatMessage("user", text)]

    grounding = ground(question, hits, render, count_tokens, budget_tokens)
    return render(grounding.text), list(grounding.sources)


def to_stats(cited: Cited) -> dict[str, Any]:
    """What a reply's stats keep of its sources."""
    return {
        "sources": [asdict(source) for source in cited.sources],
        "source_terms": list(cited.terms),
        "collections": list(cited.collections),
    }


def from_stats(stats: dict[str, Any] | None) -> Cited | None:
    """The sources kept in a reply's stats; None when it has none (or they are unreadable)."""
    if not stats or not isinstance(stats.get("collections"), list):
        return None
    try:
        sources = tuple(
            Source(int(s["number"]), str(s["path"]), _page(s), str(s["heading"]), str(s["text"]))
            for s in stats.get("sources") or []
        )
        terms = tuple(str(t) for t in stats.get("source_terms") or [])
        collections = tuple(int(c) for c in stats["collections"])
    except (KeyError, TypeError, ValueError):
        return None
    return Cited(sources, terms, collections)


def _page(source: dict[str, Any]) -> int | None:
    page = source.get("page")
    return None if page is None else int(page)
