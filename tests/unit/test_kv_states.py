"""Saved conversation states: the longest one a prompt continues is found, a conversation
keeps one state, and the memory budget holds."""

from __future__ import annotations

from desktop.inference.kv_states import KvStates, SavedState


def saved(text: str, size: int) -> SavedState:
    return SavedState(text, (1, 2), (1, 2, 3), b"x" * size)


def test_the_longest_state_the_prompt_continues_is_taken_out() -> None:
    states = KvStates(budget=1000)
    states.put(saved("system|a", 10))
    states.put(saved("system|b", 10))
    assert states.take("system|c|more") is None
    found = states.take("system|b|reply|next question")
    assert found is not None and found.text == "system|b"
    assert len(states) == 1 and states.take("system|b|x") is None  # taken, not copied


def test_a_conversation_keeps_only_its_latest_state() -> None:
    states = KvStates(budget=1000)
    states.put(saved("system|a", 10))
    states.put(saved("system|a|reply|question 2", 20))
    assert len(states) == 1 and states.size == 20


def test_the_oldest_states_go_beyond_the_budget() -> None:
    states = KvStates(budget=100)
    for name in "abcd":
        states.put(saved(f"system|{name}", 40))
    assert len(states) == 2 and states.size == 80
    assert states.take("system|a|x") is None and states.take("system|d|x") is not None
    states.put(saved("system|huge", 101))  # larger than the whole budget: not kept
    assert states.take("system|huge|x") is None
