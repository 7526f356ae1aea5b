"""The real embedded model on the real llama.cpp engine."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.errors import ContextOverflowError, ModelLoadError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken
from desktop.inference.llamacpp_engine import LlamaCppEngine
from desktop.inference.runner import run_generation

GREEDY = GenerationParams(max_tokens=48, temperature=0.0, seed=1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(embedded_model: Path) -> Iterator[LlamaCppEngine]:
    engine = LlamaCppEngine()
    engine.load(embedded_model, LoadOptions(n_ctx=2048, n_threads=2))
    yield engine
    engine.close()


def ask(engine: LlamaCppEngine, question: str, params: GenerationParams = GREEDY) -> str:
    pieces: list[str] = []
    messages = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", question)])
    run_generation(engine, messages, params, CancelToken(), pieces.append)
    return "".join(pieces)


def test_capital_of_france(engine: LlamaCppEngine) -> None:
    assert "Paris" in ask(engine, "What is the capital of France?")


def test_streams_token_by_token_with_stats(engine: LlamaCppEngine) -> None:
    pieces: list[str] = []
    stats = run_generation(
        engine,
        [ChatMessage("user", "Count from one to twenty in words.")],
        GenerationParams(max_tokens=40, temperature=0.0),
        CancelToken(),
        pieces.append,
    )
    assert len(pieces) >= 20
    assert stats.generated_tokens >= len(pieces) - 1
    assert stats.prompt_tokens > 5
    assert 0 < stats.time_to_first_token_s < stats.total_s
    assert stats.tokens_per_s > 0  # speed is benchmarked, not asserted
    assert not stats.cancelled


def test_multi_turn_sees_earlier_turns(engine: LlamaCppEngine) -> None:
    history = [
        ChatMessage("user", "My name is Zorblax. Please remember it."),
        ChatMessage("assistant", "Nice to meet you, Zorblax! I will remember your name."),
        ChatMessage("user", "What is my name?"),
    ]
    pieces: list[str] = []
    run_generation(engine, history, GREEDY, CancelToken(), pieces.append)
    assert "Zorblax" in "".join(pieces)


def test_cancel_mid_stream(engine: LlamaCppEngine) -> None:
    cancel = CancelToken()
    pieces: list[str] = []

    def on_token(text: str) -> None:
        pieces.append(text)
        if len(pieces) == 3:
            cancel.cancel()

    stats = run_generation(
        engine,
        [ChatMessage("user", "Write a long story about a dragon.")],
        GenerationParams(max_tokens=400, temperature=0.0),
        cancel,
        on_token,
    )
    assert stats.cancelled
    assert len(pieces) == 3
    # The model is still usable afterwards.
    assert "Paris" in ask(engine, "What is the capital of France?")


def test_cancel_during_prompt_evaluation(
    embedded_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = LlamaCppEngine()
    engine.load(embedded_model, LoadOptions(n_ctx=8192, n_threads=1, batch_size=64))
    try:
        long_text = "The quick brown fox jumps over the lazy dog. " * 600  # ~6000 tokens
        cancel = CancelToken()
        pieces: list[str] = []
        timer = threading.Timer(0.05, cancel.cancel)
        start = time.perf_counter()
        timer.start()
        with caplog.at_level(logging.DEBUG, logger="hearth.llama_cpp"):
            stats = run_generation(
                engine,
                [ChatMessage("user", long_text + "\nSummarise.")],
                GenerationParams(max_tokens=16, temperature=0.0),
                cancel,
                pieces.append,
            )
        elapsed = time.perf_counter() - start
        assert stats.cancelled
        # llama.cpp reports the abort Stop asked for; it is not an error for the log.
        aborts = [r for r in caplog.records if "failed to decode" in r.getMessage()]
        assert aborts and all(r.levelno == logging.DEBUG for r in aborts)
        assert pieces == []
        assert elapsed < 1.5, f"prompt evaluation was not interrupted ({elapsed:.2f} s)"
        assert "Paris" in ask(engine, "What is the capital of France?")
    finally:
        engine.close()


def test_over_long_prompt_is_a_clear_error(embedded_model: Path) -> None:
    engine = LlamaCppEngine()
    engine.load(embedded_model, LoadOptions(n_ctx=256, n_threads=2))
    try:
        with pytest.raises(ContextOverflowError, match="too long"):
            ask(engine, "word " * 2000)
        assert "Paris" in ask(engine, "What is the capital of France?")
    finally:
        engine.close()


def test_context_not_a_multiple_of_256_holds_a_long_history(embedded_model: Path) -> None:
    """Asked for 300 tokens, llama.cpp allocates 512: the engine must use all of them.

    Before, the second turn of a long chat failed with "could not broadcast input array".
    """
    engine = LlamaCppEngine()
    engine.load(embedded_model, LoadOptions(n_ctx=300, n_threads=2))
    try:
        assert engine.n_ctx == 512
        history = [
            ChatMessage("user", "Tell me about lighthouses. " * 20),
            ChatMessage("assistant", "Lighthouses guide ships along dangerous coasts. " * 16),
            ChatMessage("user", "What did their keepers eat?"),
        ]
        messages = with_system_prompt(DEFAULT_SYSTEM_PROMPT, history)
        pieces: list[str] = []
        params = GenerationParams(max_tokens=512, temperature=0.0, seed=1)
        run_generation(engine, messages[:2], params, CancelToken(), pieces.append)
        assert engine.count_prompt_tokens(messages) > 300
        pieces.clear()
        stats = run_generation(engine, messages, params, CancelToken(), pieces.append)
        assert stats.generated_tokens > 0 and "".join(pieces).strip()
    finally:
        engine.close()


def test_truncated_model_is_a_load_error(embedded_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    with embedded_model.open("rb") as src:
        broken.write_bytes(src.read(20_000_000))
    engine = LlamaCppEngine()
    with pytest.raises(ModelLoadError) as info:
        engine.load(broken, LoadOptions(n_ctx=512))
    assert "broken.gguf" in str(info.value)


def test_the_next_turn_reuses_every_cached_token(engine: LlamaCppEngine) -> None:
    """Turn 2's prompt starts with all of turn 1's prompt and reply tokens, so llama.cpp
    evaluates only the new question; also when a reply is re-tokenized differently."""
    llm = engine._llm
    history = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", "Name a fruit.")])
    params = GenerationParams(max_tokens=24, temperature=0.8, seed=3)
    for question in ("And a vegetable?", "And a colour?"):
        reply = "".join(engine.stream(history, params, CancelToken()))
        cached = [int(t) for t in llm._input_ids[: llm.n_tokens]]
        history += [ChatMessage("assistant", reply), ChatMessage("user", question)]
        tokens = engine._tokens(history)
        assert tokens[: len(cached)] == cached
        assert len(tokens) - len(cached) < 30  # only the new question and the markup


def test_a_reply_that_tokenizes_differently_keeps_its_cached_tokens(
    engine: LlamaCppEngine,
) -> None:
    llm = engine._llm
    history = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", "Where to go?")])
    list(engine.stream(history, GenerationParams(max_tokens=1), CancelToken()))
    prompt = engine._tokens(history)
    reply = "Paris is lovely."
    # As if the model had spelt its reply one character a token (not how it tokenizes).
    spelt = [t for ch in reply for t in llm.tokenize(ch.encode(), add_bos=False)]
    assert spelt != llm.tokenize(reply.encode(), add_bos=False)
    llm.n_tokens = len(prompt)
    llm._ctx.kv_cache_seq_rm(-1, len(prompt), -1)
    llm.eval(spelt)
    history += [ChatMessage("assistant", reply), ChatMessage("user", "Why?")]
    tokens = engine._tokens(history)
    assert tokens[: len(prompt) + len(spelt)] == prompt + spelt


def test_a_prompt_read_ahead_is_not_evaluated_again_and_answers_the_same(
    engine: LlamaCppEngine,
) -> None:
    """What the meter measured is evaluated before Send; the reply does not change."""
    history = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", "Name a city.")])
    params = GenerationParams(max_tokens=12, temperature=0.0, seed=5)
    history += [ChatMessage("assistant", "".join(engine.stream(history, params, CancelToken())))]
    history += [ChatMessage("user", "What is it known for?")]
    plain = LlamaCppEngine()
    plain.load(engine._llm.model_path, LoadOptions(n_ctx=2048, n_threads=2))
    try:
        expected = "".join(plain.stream(history, params, CancelToken()))
    finally:
        plain.close()
    assert 0 < engine.prefill(history, CancelToken()) < 30  # the new question and markup
    assert engine.prefill(history, CancelToken()) == 0  # already there
    assert "".join(engine.stream(history, params, CancelToken())) == expected
    assert engine.usage.cached_tokens == engine.usage.prompt_tokens


def test_a_cancelled_read_ahead_leaves_the_engine_as_it_was(engine: LlamaCppEngine) -> None:
    history = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", "Name a river.")])
    params = GenerationParams(max_tokens=12, temperature=0.0, seed=5)
    expected = "".join(engine.stream(history, params, CancelToken()))
    history2 = [*history, ChatMessage("assistant", expected), ChatMessage("user", "Where?")]
    cancelled = CancelToken()
    cancelled.cancel()
    assert engine.prefill(history2, cancelled) == 0  # aborted inside llama.cpp
    assert "".join(engine.stream(history, params, CancelToken())) == expected


def test_going_back_to_an_earlier_chat_restores_its_cache_and_answers_the_same(
    engine: LlamaCppEngine,
) -> None:
    """Chat A, then chat B, then A again: A's evaluated prompt comes back from memory
    (only A's new question is evaluated) and the reply is the one a fresh engine gives."""
    params = GenerationParams(max_tokens=12, temperature=0.0, seed=5)
    notes = " ".join(f"Note {n}: the meeting room {n} is on floor {n % 7}." for n in range(40))
    chat_a = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", notes)])
    chat_a += [ChatMessage("assistant", "".join(engine.stream(chat_a, params, CancelToken())))]
    a_tokens = engine.usage.prompt_tokens
    assert a_tokens > 400
    chat_b = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", "Name a bird.")])
    list(engine.stream(chat_b, params, CancelToken()))
    assert engine.usage.cached_tokens < 100  # B shares only the system prompt with A
    assert len(engine._states) == 1  # A was kept when B replaced it

    chat_a += [ChatMessage("user", "Which floor is room 12 on?")]
    reply = "".join(engine.stream(chat_a, params, CancelToken()))
    assert engine.usage.cached_tokens >= a_tokens  # A's prompt and reply were not evaluated
    plain = LlamaCppEngine()
    plain.load(engine._llm.model_path, LoadOptions(n_ctx=2048, n_threads=2))
    try:
        assert reply == "".join(plain.stream(chat_a, params, CancelToken()))
    finally:
        plain.close()


def test_a_state_larger_than_the_budget_is_not_kept(
    embedded_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llama_cpp

    def copied(*_args: object) -> int:
        raise AssertionError("a state over the budget was copied")

    monkeypatch.setattr(llama_cpp, "llama_state_get_data", copied)
    small = LlamaCppEngine(state_budget=64 * 1024)  # a few tokens' worth
    small.load(embedded_model, LoadOptions(n_ctx=1024, n_threads=2))
    try:
        params = GenerationParams(max_tokens=2, temperature=0.0)
        notes = " ".join(f"Item {n} costs {n} coins." for n in range(60))
        list(small.stream([ChatMessage("user", notes)], params, CancelToken()))
        assert small._llm.n_tokens >= 256
        list(small.stream([ChatMessage("user", "Name a bird.")], params, CancelToken()))
        assert len(small._states) == 0  # refused before anything was copied
    finally:
        small.close()
