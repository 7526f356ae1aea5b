"""`PromptCounts`: the counts of the last few message lists."""

from __future__ import annotations

from desktop.core.types import ChatMessage
from desktop.inference.prompt_cache import PromptCounts


def _chat(*texts: str) -> list[ChatMessage]:
    return [ChatMessage("user", text) for text in texts]


def test_a_message_list_is_known_by_its_content() -> None:
    counts = PromptCounts()
    counts.put(_chat("a", "b"), 12)
    assert counts.get(_chat("a", "b")) == 12  # equal lists, other objects
    assert counts.get(_chat("a", "b", "c")) is None
    assert counts.get([ChatMessage("assistant", "a"), ChatMessage("user", "b")]) is None


def test_the_least_recently_used_goes_first() -> None:
    counts = PromptCounts(size=2)
    counts.put(_chat("a"), 1)
    counts.put(_chat("b"), 2)
    assert counts.get(_chat("a")) == 1  # now the newest
    counts.put(_chat("c"), 3)
    assert counts.get(_chat("b")) is None
    assert (counts.get(_chat("a")), counts.get(_chat("c")), len(counts)) == (1, 3, 2)
    counts.clear()
    assert len(counts) == 0
