"""Passages: a document's text cut into pieces of about 200 words that keep where they came
from (the heading path and, for a PDF, the page).

Parsers produce `Section`s (a run of text under one heading path, on one page); `passages()`
packs each section's paragraphs into passages without crossing a section, so a passage's
heading and page are exact. A paragraph longer than a passage is cut between words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

TARGET_WORDS = 200
MAX_WORDS = 260
HEADING_SEPARATOR = " › "
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Section:
    """Text under one heading path (outermost first), on one page (1-based) if paged."""

    text: str
    headings: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True)
class Passage:
    """One searchable piece of a document."""

    text: str
    heading: str = ""
    page: int | None = None

    def to_json(self) -> list[object]:
        return [self.text, self.heading, self.page]

    @classmethod
    def from_json(cls, item: list[object]) -> Passage:
        text, heading, page = item
        return cls(str(text), str(heading), int(page) if isinstance(page, int) else None)


def heading_path(headings: Iterable[str]) -> str:
    return HEADING_SEPARATOR.join(" ".join(h.split()) for h in headings if h.strip())


def _paragraphs(text: str) -> Iterator[list[str]]:
    for block in _PARAGRAPH_BREAK.split(text):
        words = block.split()
        while len(words) > MAX_WORDS:
            yield words[:TARGET_WORDS]
            words = words[TARGET_WORDS:]
        if words:
            yield words


def passages(sections: Iterable[Section]) -> Iterator[Passage]:
    """The passages of `sections`, in order; empty sections give none."""
    for section in sections:
        heading = heading_path(section.headings)
        pending: list[str] = []
        for words in _paragraphs(section.text):
            if pending and len(pending) + len(words) > MAX_WORDS:
                yield Passage(" ".join(pending), heading, section.page)
                pending = []
            pending.extend(words)
            if len(pending) >= TARGET_WORDS:
                yield Passage(" ".join(pending), heading, section.page)
                pending = []
        if pending:
            yield Passage(" ".join(pending), heading, section.page)
