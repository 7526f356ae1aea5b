"""The ctransformers engine on tiny generated models, and its generation loop on a scripted fake.

Everything that might crash the interpreter (non-ASCII input, files ctransformers must not
get, a file its loader rejects) runs in a subprocess, so a segfault fails one test instead
of ending the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from desktop.core.errors import (
    ContextOverflowError,
    GenerationError,
    ModelNotLoadedError,
    ModelRefusedError,
)
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.ctransformers_engine import CTransformersEngine
from desktop.inference.engine import CancelToken
from desktop.inference.inspect import inspect_model
from tests import tinymodels

ROOT = Path(__file__).resolve().parents[2]
HELLO = [ChatMessage("user", "hello")]
SEEDED = GenerationParams(max_tokens=8, seed=1)


def run_isolated(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in a fresh interpreter: a crash there cannot take the test run down."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def reply(
    engine: CTransformersEngine, messages: Sequence[ChatMessage], params: GenerationParams
) -> str:
    return "".join(engine.stream(messages, params, CancelToken()))


# -- real models, in process (ASCII only) ------------------------------------------------------


@pytest.mark.parametrize("engine_name", ["llama_engine", "gpt2_engine"])
def test_streams_text_and_fills_usage(engine_name: str, request: pytest.FixtureRequest) -> None:
    engine: CTransformersEngine = request.getfixturevalue(engine_name)
    assert engine.n_ctx == 128
    pieces = list(engine.stream(HELLO, SEEDED, CancelToken()))
    assert pieces and all(pieces)
    assert engine.usage.prompt_tokens == engine.count_prompt_tokens(HELLO) > 10
    assert 1 <= engine.usage.generated_tokens <= SEEDED.max_tokens


def test_same_seed_gives_the_same_reply_with_a_reused_cache(
    llama_engine: CTransformersEngine,
) -> None:
    params = GenerationParams(max_tokens=12, seed=42)
    first = reply(llama_engine, HELLO, params)
    second = reply(llama_engine, HELLO, params)  # the prompt's cache is reused this time
    assert first and first == second


def test_max_tokens_is_respected(gpt2_engine: CTransformersEngine) -> None:
    reply(gpt2_engine, HELLO, GenerationParams(max_tokens=3, seed=2))
    assert gpt2_engine.usage.generated_tokens == 3
    assert reply(gpt2_engine, HELLO, GenerationParams(max_tokens=0)) == ""
    assert gpt2_engine.usage.generated_tokens == 0


def test_cancel_after_the_first_piece_stops(llama_engine: CTransformersEngine) -> None:
    cancel = CancelToken()
    pieces = []
    for piece in llama_engine.stream(HELLO, GenerationParams(max_tokens=60, seed=3), cancel):
        pieces.append(piece)
        cancel.cancel()
    assert len(pieces) == 1
    assert llama_engine.usage.generated_tokens < 60
    cancel.reset()
    assert reply(llama_engine, HELLO, SEEDED)  # the engine still works afterwards


def test_stop_string_is_never_emitted(gpt2_engine: CTransformersEngine) -> None:
    params = GenerationParams(max_tokens=30, seed=11)
    full = reply(gpt2_engine, HELLO, params)
    assert len(full) >= 8
    stop = full[3:6]
    expected = full[: full.find(stop)]
    stopped = reply(gpt2_engine, HELLO, GenerationParams(max_tokens=30, seed=11, stop=(stop,)))
    assert stopped == expected
    assert stop not in stopped


def test_prompt_longer_than_the_context_is_refused(gpt2_engine: CTransformersEngine) -> None:
    # gpt2 tokenizes at most one token per byte, so even a regressed token buffer could not
    # overflow here; the SentencePiece case runs in a subprocess below.
    long = [ChatMessage("user", "tell me more " * 40)]
    assert gpt2_engine.count_prompt_tokens(long) > gpt2_engine.n_ctx
    with pytest.raises(ContextOverflowError) as caught:
        gpt2_engine.stream(long, SEEDED, CancelToken())
    message = str(caught.value)
    assert f"holds {gpt2_engine.n_ctx}" in message
    assert "shorten the message or start a new conversation" in message
    assert reply(gpt2_engine, HELLO, SEEDED)  # nothing was evaluated, the engine still works


def test_gguf_v1_loads_and_streams(tiny_llama_gguf: Path, tmp_path: Path) -> None:
    path = tinymodels.write_gguf_v1_copy(tiny_llama_gguf, tmp_path / "tiny-v1.gguf")
    info = inspect_model(path)
    assert info.engine == "ctransformers"
    engine = CTransformersEngine(info)
    engine.load(path, LoadOptions(n_ctx=64, n_threads=1))
    try:
        assert engine.n_ctx == 64
        assert reply(engine, HELLO, SEEDED)
    finally:
        engine.close()


def test_close_is_idempotent_and_unloads(tiny_gpt2_ggml: Path) -> None:
    engine = CTransformersEngine(inspect_model(tiny_gpt2_ggml))
    engine.load(tiny_gpt2_ggml, LoadOptions(n_threads=1))
    assert engine.n_ctx == tinymodels.GPT2_N_CTX  # a gpt2 file fixes its own context
    engine.close()
    engine.close()
    with pytest.raises(ModelNotLoadedError):
        engine.stream(HELLO, SEEDED, CancelToken())


def test_load_rechecks_a_different_path(tiny_llama_gguf: Path, tmp_path: Path) -> None:
    engine = CTransformersEngine(inspect_model(tiny_llama_gguf))
    bpe = tinymodels.write_tiny_llama_gguf(tmp_path, tokenizer="gpt2")
    with pytest.raises(ModelRefusedError, match="BPE"):
        engine.load(bpe, LoadOptions())


# -- real models, in a subprocess ------------------------------------------------------------

_STREAM_SCRIPT = r"""
import json, sys
from pathlib import Path
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.ctransformers_engine import CTransformersEngine
from desktop.inference.engine import CancelToken
from desktop.inference.inspect import inspect_model

path = Path(sys.argv[1])
engine = CTransformersEngine(inspect_model(path))
engine.load(path, LoadOptions(n_ctx=256, n_threads=1))
for text in json.loads(sys.argv[2]):
    messages = [ChatMessage("user", text)]
    params = GenerationParams(max_tokens=12, seed=7)
    pieces = list(engine.stream(messages, params, CancelToken()))
    print(json.dumps({"text": "".join(pieces), "usage": [
        engine.usage.prompt_tokens, engine.usage.generated_tokens]}), flush=True)
engine.close()
"""

NON_ASCII = ["😀😀😀 hello", "你好，世界", "😀" * 6 + " 👍 café ß ¿qué? Привет"]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tiny_llama_gguf", "tiny_gpt2_ggml"])
def test_emoji_and_cjk_input_do_not_crash(model: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(model)
    result = run_isolated(_STREAM_SCRIPT, str(path), json.dumps(NON_ASCII))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(NON_ASCII)
    for text, line in zip(NON_ASCII, lines, strict=True):
        prompt_tokens, generated = line["usage"]
        assert line["text"]
        assert prompt_tokens >= len(text.encode("utf-8")) // 4
        assert generated >= 1


_TOKENS_SCRIPT = r"""
import json, sys
from pathlib import Path
from desktop.core.errors import ContextOverflowError
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.ctransformers_engine import CTransformersEngine
from desktop.inference.engine import CancelToken
from desktop.inference.inspect import inspect_model
from desktop.inference.templates import ChatTemplate

path = Path(sys.argv[1])
engine = CTransformersEngine(inspect_model(path))
engine.load(path, LoadOptions(n_ctx=256, n_threads=1))
messages = [ChatMessage("user", "x " * 30)]
prompt = ChatTemplate.named("chatml").render(messages)
counts = [engine.count_prompt_tokens(messages), len(prompt), len(prompt.encode())]
try:
    engine.stream([ChatMessage("user", "tell me more " * 40)], GenerationParams(), CancelToken())
except ContextOverflowError as exc:
    counts.append(str(exc))
print(json.dumps(counts))
"""


@pytest.mark.slow
def test_tokenizer_needs_more_than_one_int_per_byte_and_long_prompts_overflow(
    tiny_llama_gguf: Path,
) -> None:
    # Why the token buffer holds 3 ints per byte: without a "▁" piece, every space becomes
    # the three byte tokens of "▁", so LLM.tokenize's len(text) + 1 ints (and even
    # len(utf8) + 2) overflow. In a subprocess: a regression would corrupt the heap.
    result = run_isolated(_TOKENS_SCRIPT, str(tiny_llama_gguf))
    assert result.returncode == 0, result.stderr[-2000:]
    n_tokens, n_chars, n_bytes, overflow = json.loads(result.stdout)
    assert n_tokens > n_bytes + 2 >= n_chars + 1
    assert "context window holds 256" in overflow


_SAMPLER_SCRIPT = r"""
import json, sys
from pathlib import Path
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.ctransformers_engine import CTransformersEngine
from desktop.inference.engine import CancelToken
from desktop.inference.inspect import inspect_model

path = Path(sys.argv[1])
engine = CTransformersEngine(inspect_model(path))
engine.load(path, LoadOptions(n_threads=1))
hello = [ChatMessage("user", "hello")]
wide = GenerationParams(max_tokens=5, top_k=100_000, seed=1)
greedy = GenerationParams(max_tokens=5, temperature=0.0, seed=None)
runs = [wide, greedy, greedy]
print(json.dumps(["".join(engine.stream(hello, p, CancelToken())) for p in runs]))
"""


@pytest.mark.slow
def test_sampler_survives_a_huge_top_k_and_zero_temperature(tiny_gpt2_ggml: Path) -> None:
    # ctransformers aborts ("malloc(): invalid size") when top_k exceeds the vocabulary.
    result = run_isolated(_SAMPLER_SCRIPT, str(tiny_gpt2_ggml))
    assert result.returncode == 0, result.stderr[-2000:]
    wide, greedy, greedy_again = json.loads(result.stdout)
    assert wide and greedy
    assert greedy == greedy_again  # temperature 0 is greedy: the seed does not matter


_REFUSE_SCRIPT = r"""
import json, sys
from pathlib import Path
from desktop.core.errors import ModelRefusedError
from desktop.inference.ctransformers_engine import CTransformersEngine
from desktop.inference.inspect import inspect_model

messages = []
for name in sys.argv[1:]:
    try:
        CTransformersEngine(inspect_model(Path(name)))
    except ModelRefusedError as exc:
        messages.append(str(exc))
print(json.dumps({"messages": messages, "imported": "ctransformers" in sys.modules}))
"""


@pytest.mark.slow
def test_bpe_and_tied_files_are_refused_before_ctransformers(tmp_path: Path) -> None:
    bpe = tinymodels.write_tiny_llama_gguf(tmp_path, tokenizer="gpt2")
    tied = tinymodels.write_tiny_llama_gguf(tmp_path, tied=True)
    result = run_isolated(_REFUSE_SCRIPT, str(bpe), str(tied))
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    assert outcome["imported"] is False  # refused before ctransformers was even imported
    bpe_message, tied_message = outcome["messages"]
    assert bpe.name in bpe_message and "BPE tokenizer" in bpe_message
    assert tied.name in tied_message and "tied embeddings" in tied_message


_LOAD_SCRIPT = r"""
import sys
from pathlib import Path
from desktop.core.errors import ModelLoadError
from desktop.core.types import LoadOptions
from desktop.inference.ctransformers_engine import CTransformersEngine
from desktop.inference.inspect import inspect_model

path = Path(sys.argv[1])
engine = CTransformersEngine(inspect_model(path))
try:
    engine.load(path, LoadOptions())
except ModelLoadError as exc:
    print(exc)
"""


@pytest.mark.slow
def test_a_file_the_loader_rejects_raises_model_load_error(
    tiny_gpt2_ggml: Path, tmp_path: Path
) -> None:
    data = bytearray(tiny_gpt2_ggml.read_bytes())
    data[12:16] = (32).to_bytes(4, "little")  # n_embd 64 -> 32: every tensor has the wrong shape
    path = tmp_path / "bad-gpt2.bin"
    path.write_bytes(bytes(data))
    result = run_isolated(_LOAD_SCRIPT, str(path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'ctransformers could not load "bad-gpt2.bin" as a gpt2 model' in result.stdout


# -- the generation loop on a scripted fake ----------------------------------------------------

EOS = 0


class FakeLLM:
    """Stands in for ctransformers' LLM: scripted pieces, recorded calls."""

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self.pieces = list(pieces)
        self.seeds: list[int] = []
        self.evaluated: list[list[int]] = []
        self.deleted = 0
        self._llm: object = object()

    def ctransformers_llm_tokenize(self, raw: bytes, add_bos: bool, buffer: Any) -> int:
        for i, byte in enumerate(raw):
            buffer[i] = byte + 1
        return len(raw)

    def ctransformers_llm_batch_eval(
        self, array: Any, n: int, n_past: int, batch: int, threads: int
    ) -> bool:
        self.evaluated.append(list(array)[:n])
        return True

    def ctransformers_llm_sample(self, *args: Any) -> int:
        seed = args[-1]
        self.seeds.append(seed)
        index = len(self.seeds) - 1
        return 1000 + index if index < len(self.pieces) else EOS

    def ctransformers_llm_is_eos_token(self, token: int) -> bool:
        return token == EOS

    def ctransformers_llm_detokenize(self, token: int) -> bytes:
        return self.pieces[token - 1000]

    def ctransformers_llm_delete(self) -> None:
        self.deleted += 1


@pytest.fixture
def fake_engine(tiny_llama_gguf: Path) -> CTransformersEngine:
    engine = CTransformersEngine(inspect_model(tiny_llama_gguf))
    engine._n_ctx = 512  # white box: the engine as `load` leaves it, with a fake model
    engine._vocab_size = 300
    return engine


def attach(engine: CTransformersEngine, pieces: Sequence[bytes]) -> FakeLLM:
    fake = FakeLLM(pieces)
    engine._llm = fake
    engine._context = []
    return fake


def test_multibyte_characters_split_across_tokens_are_joined(
    fake_engine: CTransformersEngine,
) -> None:
    text = "你好😀 ok"
    raw = text.encode("utf-8")
    attach(fake_engine, [raw[:2], raw[2:4], raw[4:8], raw[8:9], raw[9:]])
    pieces = list(fake_engine.stream(HELLO, SEEDED, CancelToken()))
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)
    assert fake_engine.usage.generated_tokens == 5


def test_stop_string_split_across_tokens_is_held_back(fake_engine: CTransformersEngine) -> None:
    attach(fake_engine, [b"Hel", b"lo <|im", b"_end|>", b"never"])  # chatml stops at <|im_end|>
    pieces = list(fake_engine.stream(HELLO, SEEDED, CancelToken()))
    assert "".join(pieces) == "Hello "
    assert not any("<" in p for p in pieces)


def test_user_stop_strings_and_false_alarms(fake_engine: CTransformersEngine) -> None:
    attach(fake_engine, [b"a #", b"# b #", b"## c", b"d"])
    params = GenerationParams(max_tokens=10, stop=("###",))
    assert reply(fake_engine, HELLO, params) == "a ## b "
    attach(fake_engine, [b"x <|im", b"agine"])  # looked like a stop, was not
    assert reply(fake_engine, HELLO, SEEDED) == "x <|imagine"


def test_seeds_are_non_negative_and_change_per_token(fake_engine: CTransformersEngine) -> None:
    for seed in (None, -5, 2**31 - 1):
        fake = attach(fake_engine, [b"a", b"b", b"c"])
        reply(fake_engine, HELLO, GenerationParams(max_tokens=3, seed=seed))
        assert len(fake.seeds) == 3
        assert all(0 <= s < 2**31 for s in fake.seeds)
        assert len(set(fake.seeds)) == 3
    fake = attach(fake_engine, [b"a", b"b"])
    reply(fake_engine, HELLO, GenerationParams(max_tokens=2, seed=7))
    assert fake.seeds == [7, 8]


def test_cancel_and_max_tokens_stop_sampling(fake_engine: CTransformersEngine) -> None:
    fake = attach(fake_engine, [b"a", b"b", b"c", b"d"])
    cancel = CancelToken()
    for _ in fake_engine.stream(HELLO, SEEDED, cancel):
        cancel.cancel()
    assert len(fake.seeds) == 1
    fake = attach(fake_engine, [b"a", b"b", b"c", b"d"])
    assert reply(fake_engine, HELLO, GenerationParams(max_tokens=2)) == "ab"
    assert len(fake.seeds) == 2


def test_generation_ends_when_the_context_is_full(fake_engine: CTransformersEngine) -> None:
    fake = attach(fake_engine, [b"x"] * 50)
    prompt_tokens = fake_engine.count_prompt_tokens(HELLO)
    fake_engine._n_ctx = prompt_tokens + 3
    assert reply(fake_engine, HELLO, GenerationParams(max_tokens=50)) == "xxx"
    assert len(fake.seeds) == 3
    fake_engine._n_ctx = prompt_tokens
    with pytest.raises(ContextOverflowError):
        fake_engine.stream(HELLO, SEEDED, CancelToken())


def test_prompt_cache_is_reused_and_batched(fake_engine: CTransformersEngine) -> None:
    fake = attach(fake_engine, [b"a"])
    fake_engine._batch = 16
    reply(fake_engine, HELLO, GenerationParams(max_tokens=1))
    prompt_tokens = fake_engine.usage.prompt_tokens
    assert all(len(batch) <= 16 for batch in fake.evaluated)
    assert sum(len(batch) for batch in fake.evaluated) == prompt_tokens + 1  # + the reply
    fake.evaluated.clear()
    fake.seeds.clear()
    reply(fake_engine, HELLO, GenerationParams(max_tokens=1))
    assert fake.evaluated[0] == [fake_engine._context[prompt_tokens - 1]]  # only the last


def test_two_streams_at_once_are_refused(fake_engine: CTransformersEngine) -> None:
    attach(fake_engine, [b"a", b"b", b"c"])
    first = fake_engine.stream(HELLO, SEEDED, CancelToken())
    next(first)
    second = fake_engine.stream(HELLO, SEEDED, CancelToken())
    with pytest.raises(GenerationError, match="already being generated"):
        next(second)
    first.close()
    attach(fake_engine, [b"z"])
    assert reply(fake_engine, HELLO, GenerationParams(max_tokens=1)) == "z"


def test_close_frees_the_model_once(fake_engine: CTransformersEngine) -> None:
    fake = attach(fake_engine, [b"a"])
    fake_engine.close()
    fake_engine.close()
    assert fake.deleted == 1
    assert fake._llm is None


def test_a_raw_prompt_is_continued_without_the_chat_template(
    llama_engine: CTransformersEngine,
) -> None:
    text = "hello world"
    pieces = list(llama_engine.complete(text, SEEDED, CancelToken()))
    assert pieces and llama_engine.usage.prompt_tokens == len(llama_engine._tokenize(text))
    assert llama_engine.usage.prompt_tokens < llama_engine.count_prompt_tokens(HELLO)
    assert 1 <= llama_engine.usage.generated_tokens <= SEEDED.max_tokens
    with pytest.raises(ContextOverflowError, match="The prompt is too long"):
        llama_engine.complete("hello " * 200, SEEDED, CancelToken())
