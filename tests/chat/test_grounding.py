"""Packing passages into the question within the context budget."""

from __future__ import annotations

from collections.abc import Sequence

from desktop.chat.grounding import INSTRUCTION, Source, compose, ground
from desktop.core.types import ChatMessage
from desktop.storage.documents import PassageHit


def hit(n: int, words: int, page: int | None = None, heading: str = "") -> PassageHit:
    text = " ".join(f"w{n}" for _ in range(words))
    return PassageHit(n, "c", f"/docs/file{n}.pdf", page, heading, text, text, -1.0 / n)


def render(text: str) -> list[ChatMessage]:
    return [ChatMessage("system", "Be brief."), ChatMessage("user", text)]


def words(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content.split()) for m in messages)


def test_passages_best_first_until_the_budget_is_spent() -> None:
    hits = [hit(1, 50, 3, "Intro"), hit(2, 400), hit(3, 50), hit(4, 50)]
    grounding = ground("why?", hits, render, words, budget_tokens=170)
    assert [s.path for s in grounding.sources] == ["/docs/file1.pdf", "/docs/file3.pdf"]
    assert [s.number for s in grounding.sources] == [1, 2]  # numbered as sent
    assert words(render(grounding.text)) <= 170
    assert grounding.text.startswith("[1] file1.pdf, page 3 — Intro\nw1 w1")
    assert grounding.text.endswith(f"{INSTRUCTION}\n\nQuestion: why?")


def test_no_passage_fits_or_none_found_leaves_the_question_alone() -> None:
    assert ground("why?", [hit(1, 500)], render, words, 100).text == "why?"
    assert ground("why?", [], render, words, 100).sources == []


def test_labels() -> None:
    assert Source(2, "/a/b.md", None, "", "t").label() == "[2] b.md"
    assert compose("q", []) == "q"
