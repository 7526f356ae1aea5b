"""The engine host process with real engines: answers, crashes, Stop, restarts, closing."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from desktop.core.errors import EngineCrashedError, ModelNotLoadedError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken
from desktop.inference.host.client import HostedEngine
from desktop.inference.llamacpp_engine import LlamaCppEngine
from tests import tinymodels

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="signals")]

QUESTION = [
    ChatMessage("system", DEFAULT_SYSTEM_PROMPT),
    ChatMessage("user", "What is the capital of France?"),
]
#: A child whose llama.cpp engine aborts while loading: the real server, one method replaced.
ABORT_AT_LOAD = (
    "import os, sys\n"
    "from desktop.inference import llamacpp_engine\n"
    "llamacpp_engine.LlamaCppEngine.load = lambda *a, **k: os.abort()\n"
    "from desktop.inference.host.server import child_main\n"
    "sys.exit(child_main())\n"
)


@pytest.fixture(scope="module")
def no_byte_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A llama GGUF without byte tokens: llama.cpp aborts on any text it cannot spell."""
    path = tmp_path_factory.mktemp("host") / "no-bytes.gguf"
    return tinymodels.write_tiny_llama_gguf(path, byte_tokens=False)


@pytest.fixture
def hosted(embedded_model: Path) -> Iterator[HostedEngine]:
    engine = HostedEngine(grace_s=0.5)
    engine.load(embedded_model, LoadOptions(n_ctx=1024, n_threads=2))
    yield engine
    engine.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_answers_and_counts_like_the_engine_in_process(
    hosted: HostedEngine, embedded_model: Path
) -> None:
    params = GenerationParams(max_tokens=12, temperature=0.0, seed=1)
    remote = "".join(hosted.stream(QUESTION, params, CancelToken()))
    local = LlamaCppEngine()
    local.load(embedded_model, LoadOptions(n_ctx=1024, n_threads=2))
    try:
        assert hosted.count_prompt_tokens(QUESTION) == local.count_prompt_tokens(QUESTION)
        assert remote == "".join(local.stream(QUESTION, params, CancelToken()))
    finally:
        local.close()
    assert "Paris" in remote and hosted.usage.generated_tokens > 0
    assert hosted.info.name == "llama.cpp" and hosted.n_ctx == 1024


def test_the_next_turn_evaluates_only_the_new_tokens(hosted: HostedEngine) -> None:
    """The host keeps the model, and so llama.cpp's cache, from one turn to the next."""
    params = GenerationParams(max_tokens=16, temperature=0.0)
    reply = "".join(hosted.stream(QUESTION, params, CancelToken()))
    first = hosted.usage
    history = [*QUESTION, ChatMessage("assistant", reply), ChatMessage("user", "And Italy?")]
    "".join(hosted.stream(history, params, CancelToken()))
    assert hosted.usage.cached_tokens >= first.prompt_tokens + first.generated_tokens - 1
    assert hosted.usage.prompt_tokens - hosted.usage.cached_tokens < 20


def test_stop_is_immediate_and_the_model_stays_loaded(hosted: HostedEngine) -> None:
    cancel = CancelToken()
    params = GenerationParams(max_tokens=800, temperature=0.0)
    pid = hosted.pid
    stream = hosted.stream([ChatMessage("user", "Write a long story.")], params, cancel)
    next(stream)
    cancel.cancel()
    pressed = time.monotonic()
    rest = list(stream)
    elapsed = time.monotonic() - pressed
    assert elapsed < 0.2, f"Stop took {elapsed * 1000:.0f} ms"
    assert len(rest) <= 2
    # the stopped reply is counted from its frames (each says how many tokens it holds)
    assert hosted.usage.generated_tokens >= 1 + len(rest)
    assert "Paris" in "".join(
        hosted.stream(QUESTION, GenerationParams(temperature=0.0), CancelToken())
    )
    assert hosted.pid == pid and hosted.restarts == 0


def test_an_engine_ignoring_stop_is_killed_and_restarted(hosted: HostedEngine) -> None:
    cancel = CancelToken()
    pid = hosted.pid
    assert pid is not None
    stream = hosted.stream(
        [ChatMessage("user", "Write a long story.")], GenerationParams(max_tokens=800), cancel
    )
    next(stream)
    os.kill(pid, signal.SIGSTOP)  # the engine no longer answers anything, Stop included
    cancel.cancel()
    pressed = time.monotonic()
    list(stream)
    assert time.monotonic() - pressed < 0.2
    deadline = time.monotonic() + 5  # the watchdog kills it after the 0.5 s grace
    while _alive(pid) and not _zombie(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid) or _zombie(pid), "the stuck engine was not killed after the grace"
    assert hosted.count_prompt_tokens(QUESTION) > 5  # a new child with the same model
    assert hosted.pid != pid and hosted.restarts == 1


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


def test_a_killed_engine_becomes_a_message_and_the_next_reply_restarts_it(
    hosted: HostedEngine,
) -> None:
    pid = hosted.pid
    assert pid is not None
    stream = hosted.stream(
        [ChatMessage("user", "Write a long story.")],
        GenerationParams(max_tokens=800),
        CancelToken(),
    )
    next(stream)
    os.kill(pid, signal.SIGKILL)  # what the out-of-memory killer does
    with pytest.raises(EngineCrashedError) as crash:
        list(stream)
    assert crash.value.phase == "writing"
    assert str(crash.value) == (
        "The model crashed while writing its reply (SIGKILL); your conversation is saved."
    )
    assert "Paris" in "".join(
        hosted.stream(QUESTION, GenerationParams(temperature=0.0), CancelToken())
    )
    assert hosted.pid != pid


def test_an_abort_while_counting_waits_for_the_next_request(
    no_byte_tokens: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = HostedEngine()
    engine.load(no_byte_tokens, LoadOptions(n_ctx=128, n_threads=1))
    try:
        with pytest.raises(EngineCrashedError) as crash:
            engine.count_prompt_tokens([ChatMessage("user", "café 你好")])
        assert crash.value.phase == "counting"
        assert "crashed (SIGABRT) while counting" in caplog.text
        assert "unordered_map::at" in caplog.text
        assert engine.waiting_for_restart  # the context meter leaves it alone now
        with pytest.raises(EngineCrashedError) as again:  # a reply restarts it (and it aborts)
            list(engine.stream([ChatMessage("user", "café")], GenerationParams(), CancelToken()))
        assert again.value.phase == "reading" and engine.restarts == 1
    finally:
        engine.close()


def test_a_crash_while_loading_makes_the_model_unusable_until_loaded_again(
    embedded_model: Path,
) -> None:
    engine = HostedEngine(command=[sys.executable, "-c", ABORT_AT_LOAD])
    with pytest.raises(EngineCrashedError) as crash:
        engine.load(embedded_model, LoadOptions(n_ctx=256, n_threads=1))
    assert crash.value.phase == "loading"
    assert "crashed while loading (SIGABRT)" in str(crash.value)
    with pytest.raises(ModelNotLoadedError, match="marked unusable"):
        engine.count_prompt_tokens(QUESTION)
    with pytest.raises(ModelNotLoadedError, match="marked unusable"):
        list(engine.stream(QUESTION, GenerationParams(), CancelToken()))
    assert engine.pid is None and engine.restarts == 0
    engine.command = HostedEngine().command  # the user tries again, and it works
    engine.load(embedded_model, LoadOptions(n_ctx=256, n_threads=1))
    assert engine.count_prompt_tokens(QUESTION) > 5
    engine.close()


def test_closing_ends_the_process(embedded_model: Path) -> None:
    engine = HostedEngine()
    engine.load(embedded_model, LoadOptions(n_ctx=256, n_threads=1))
    pid = engine.pid
    assert pid is not None and _alive(pid)
    engine.close()
    assert engine.pid is None and not _alive(pid)
    with pytest.raises(ModelNotLoadedError):
        engine.count_prompt_tokens(QUESTION)
    engine.close()  # twice is fine


def test_a_read_ahead_in_the_host_leaves_nothing_to_evaluate_at_send(
    hosted: HostedEngine,
) -> None:
    params = GenerationParams(max_tokens=12, temperature=0.0, seed=2)
    reply = "".join(hosted.stream(QUESTION, params, CancelToken()))
    history = [*QUESTION, ChatMessage("assistant", reply), ChatMessage("user", "And Italy?")]
    count = hosted.count_prompt_tokens(history)
    sent = hosted._next_id
    assert hosted.count_prompt_tokens(history) == count and hosted._next_id == sent  # known
    ahead = hosted.prefill(history)
    assert ahead is not None
    assert 0 < (hosted.wait_prefilled(ahead, 60.0) or 0) < 30
    "".join(hosted.stream(history, params, CancelToken()))
    assert hosted.usage.cached_tokens == hosted.usage.prompt_tokens == count


def test_a_request_goes_before_a_read_ahead(hosted: HostedEngine) -> None:
    """The read-ahead of a long draft gives way as soon as anything else is asked."""
    long_draft = [*QUESTION[:1], ChatMessage("user", "Tell me about Paris. " * 150)]
    ahead = hosted.prefill(long_draft)
    assert ahead is not None and hosted._child is not None
    hosted._send(hosted._child, "count", messages=[{"role": "user", "content": "Hi"}])
    assert hosted.wait_prefilled(ahead, 60.0) == 0  # cancelled inside llama.cpp
    reply = "".join(hosted.stream(QUESTION, GenerationParams(temperature=0.0), CancelToken()))
    assert "Paris" in reply and hosted.restarts == 0


def test_an_engine_host_started_early_is_the_one_that_answers(embedded_model: Path) -> None:
    """`hearth ask` starts its engine host (llama.cpp loading) before importing the rest of
    itself; that process is the one that loads the model and answers, no second one."""
    started = HostedEngine.spare()
    engine = HostedEngine()
    try:
        engine.prepare(warm=True, started=started)
        engine.load(embedded_model, LoadOptions(n_ctx=1024, n_threads=2))
        assert engine._child is started
        reply = "".join(engine.stream(QUESTION, GenerationParams(max_tokens=8), CancelToken()))
        assert reply.strip()
    finally:
        engine.close()
    assert not _alive(started.pid) or _zombie(started.pid)


def test_a_raw_prompt_is_continued_streamed_stopped_and_cancelled(hosted: HostedEngine) -> None:
    """`complete`: the text goes on from the prompt, with no chat template around it."""
    params = GenerationParams(max_tokens=8, temperature=0.0)
    pieces = list(hosted.complete("The capital of France is", params, CancelToken()))
    text = "".join(pieces)
    assert "Paris" in text and len(pieces) > 1  # streamed piece by piece
    assert "<|im_start|>" not in text and "assistant" not in text.lower()
    assert hosted.usage.prompt_tokens == 5  # the five words only: no template's tokens
    stopped = "".join(
        hosted.complete("The capital of France is", replace(params, stop=("Paris",)), CancelToken())
    )
    assert stopped == text[: text.index("Paris")]
    cancel = CancelToken()
    stream = hosted.complete("Once upon a time", replace(params, max_tokens=800), cancel)
    next(stream)
    cancel.cancel()
    assert len(list(stream)) <= 2 and hosted.usage.generated_tokens < 800
    assert "Paris" in "".join(hosted.stream(QUESTION, params, CancelToken()))  # chat still works


def test_a_crash_while_completing_is_a_message_and_the_next_request_restarts(
    hosted: HostedEngine,
) -> None:
    pid = hosted.pid
    assert pid is not None
    stream = hosted.complete("Once upon a time", GenerationParams(max_tokens=800), CancelToken())
    next(stream)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(EngineCrashedError, match="crashed while writing its reply"):
        list(stream)
    params = GenerationParams(max_tokens=8, temperature=0.0)
    assert "Paris" in "".join(hosted.complete("The capital of France is", params, CancelToken()))
    assert hosted.pid != pid
