"""The ctransformers engine: legacy GGML files and the few GGUF files it can run safely.

ctransformers 0.2.27 (September 2023, unmaintained) crashes the process instead of raising
on several inputs, so this engine never trusts it with anything the inspector has not
cleared (`ModelFileInfo.ctransformers_refusal`), and it drives the C library directly:

* Tokenizing: `LLM.tokenize` allocates `len(text) + 1` ints while the C side writes one int
  per token without a bound. A SentencePiece vocabulary without a "▁" piece turns every
  space into 3 byte tokens, so even `len(utf8) + 2` overflows ("a b c d e f g h": 15 bytes,
  30 tokens). The buffer here holds `3 * len(utf8) + 8` ints, the worst case.
* Sampling: a negative seed reseeds from the clock on every token, and the C side builds a
  fresh `mt19937(seed)` per token, so a constant seed would draw the same number every time.
  Each token gets `(base + i) mod 2**31`, `base` being `params.seed` or a random draw.
* `top_k` larger than the vocabulary aborts the process (the GGML sampler sorts past the end
  of its array: "malloc(): invalid size" with a 265-token gpt2). It is clamped, and
  `temperature <= 0` (a division by zero in the sampler) becomes greedy `top_k=1`.
* A batch above llama.cpp's `n_batch` (512) can abort the process (1,900 tokens at once:
  GGML_ASSERT "not enough space in the buffer"). Overflowing the context only logs a
  warning and produces garbage, so the prompt is checked and generation stops when full.
* Detokenized pieces are raw bytes: an incremental UTF-8 decoder joins split characters.
"""

from __future__ import annotations

import codecs
import ctypes
import importlib.metadata
import logging
import platform
import secrets
import sys
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

from desktop.core.errors import (
    ContextOverflowError,
    GenerationError,
    ModelLoadError,
    ModelNotLoadedError,
    ModelRefusedError,
)
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken, EngineInfo, ProgressCallback, Usage
from desktop.inference.inspect import ModelFileInfo, inspect_model
from desktop.inference.templates import ChatTemplate

log = logging.getLogger(__name__)

MAX_BATCH = 512  # llama.cpp's n_batch inside ctransformers: a larger batch can abort
LAST_N_TOKENS = 64  # window of the repetition penalty
_SEED_MODULUS = 2**31


_SHORTEN = {
    "conversation": "shorten the message or start a new conversation.",
    "prompt": "shorten the prompt.",
}


def cpu_library() -> str:
    """Which bundled ctransformers build this CPU runs: "avx2", "avx" or "basic".

    Read from /proc/cpuinfo (or the Windows API), never through py-cpuinfo, which
    ctransformers would otherwise run in a subprocess.
    """
    if sys.platform == "win32":
        present = ctypes.windll.kernel32.IsProcessorFeaturePresent
        if present(40):  # PF_AVX2_INSTRUCTIONS_AVAILABLE
            return "avx2"
        return "avx" if present(39) else "basic"  # PF_AVX_INSTRUCTIONS_AVAILABLE
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
                    if "avx2" in flags:
                        return "avx2"
                    return "avx" if {"avx", "f16c"} <= flags else "basic"
    except OSError:
        pass
    # macOS: Intel Macs since 2013 have AVX2; Apple silicon only runs the basic build.
    return "avx2" if platform.machine().lower() in ("x86_64", "amd64") else "basic"


def _ctransformers_version() -> str:
    try:
        return importlib.metadata.version("ctransformers")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class CTransformersEngine:
    """Runs one model file with ctransformers. Owned by one thread, like every engine."""

    def __init__(self, file_info: ModelFileInfo, chat_format: str = "chatml") -> None:
        _check_allowed(file_info)
        self.info = EngineInfo("ctransformers", _ctransformers_version(), ("ggml", "gguf"))
        self.usage = Usage()
        self._file_info = file_info
        self._chat_format = chat_format
        self._template = ChatTemplate.named(chat_format)
        self._llm: Any = None
        self._n_ctx = 0
        self._vocab_size = 0
        self._batch = 8
        self._threads = -1
        self._add_bos = False
        self._context: list[int] = []  # tokens whose keys and values are in the model's cache
        self._busy = False

    # -- loading ---------------------------------------------------------------------------

    def load(
        self, path: Path, options: LoadOptions, progress: ProgressCallback | None = None
    ) -> None:
        self.close()
        if options.adapter is not None:
            raise ModelLoadError(
                f"Adapters need the llama.cpp engine; “{Path(path).name}” runs on ctransformers."
            )
        # Inspect again (milliseconds): the path may differ, or the file may have changed.
        hint = self._file_info.architecture if self._file_info.container == "ggml" else None
        info = inspect_model(Path(path), hint)
        _check_allowed(info)
        self._file_info = info
        if progress is not None:
            progress(0.0)
        n_ctx = options.n_ctx
        if info.context_length:
            n_ctx = min(n_ctx, info.context_length)
        self._batch = max(1, min(options.batch_size, MAX_BATCH))
        self._threads = options.n_threads or -1
        try:
            from ctransformers import AutoModelForCausalLM
        except ImportError as exc:
            raise ModelLoadError(f"The ctransformers engine is not installed ({exc}).") from exc
        try:
            llm = AutoModelForCausalLM.from_pretrained(
                str(info.path),
                model_type=info.ctransformers_model_type,
                local_files_only=True,
                lib=cpu_library(),
                context_length=n_ctx,
                batch_size=self._batch,
                threads=self._threads,
            )
        except RuntimeError as exc:  # "Failed to create LLM 'gpt2' from '...'"
            raise ModelLoadError(
                f'ctransformers could not load "{info.path.name}" as a {info.architecture} '
                "model: the file may be damaged or a variant it does not support; try a GGUF "
                "version of the model."
            ) from exc
        except OSError as exc:  # no bundled build for this platform, or it fails to load
            log.warning("ctransformers library unavailable: %s", exc)
            raise ModelLoadError(
                "The ctransformers engine has no working build for this computer; use a GGUF "
                "model, which runs with llama.cpp."
            ) from exc
        except ValueError as exc:
            raise ModelLoadError(f'ctransformers could not open "{info.path.name}": {exc}') from exc
        self._llm = llm
        self._n_ctx = int(llm.context_length)
        self._vocab_size = int(llm.vocab_size)
        self._add_bos = info.tokenizer_model == "llama" and info.architecture == "llama"
        # Special tokens are plain text to this tokenizer: the BOS token is added by id.
        self._template = ChatTemplate.from_model(
            info.chat_template, "", info.eos_token, fallback=self._chat_format
        )
        if progress is not None:
            progress(1.0)

    @property
    def n_ctx(self) -> int:
        self._require()
        return self._n_ctx

    @property
    def template_note(self) -> str | None:
        self._require()
        return self._template.replaced_note

    def close(self) -> None:
        llm, self._llm = self._llm, None
        self._context = []
        if llm is not None:
            llm.ctransformers_llm_delete()
            llm._llm = None  # so that LLM.__del__ does not free it a second time

    # -- generation ------------------------------------------------------------------------

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self._tokenize(self._template.render(messages)))

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Generator[str, None, None]:
        """Check the prompt now (raising `ContextOverflowError`), then generate lazily."""
        tokens = self._prompt_tokens(self._template.render(messages), "conversation")
        stops = (*self._template.stop, *params.stop)
        return self._generate(tokens, params, cancel, stops, self._strips_space)

    def complete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken
    ) -> Generator[str, None, None]:
        """Continue the raw text `prompt` (no chat template; only `params.stop` stops it)."""
        tokens = self._prompt_tokens(prompt, "prompt")
        return self._generate(tokens, params, cancel, params.stop, False)

    def _prompt_tokens(self, text: str, what: str) -> list[int]:
        """The tokens of `text`, checked to fit (`what`: "conversation" or "prompt")."""
        tokens = self._tokenize(text)
        if not tokens:
            raise GenerationError("The prompt produced no tokens for this model.")
        if len(tokens) + 1 > self._n_ctx:
            shorten = (
                "the prompt" if what == "prompt" else "the message or start a new conversation"
            )
            raise ContextOverflowError(
                f"The {what} is too long for this model: the prompt takes {len(tokens)} "
                f"tokens but the context window holds {self._n_ctx}; shorten {shorten}."
            )
        self.usage.prompt_tokens = len(tokens)
        self.usage.generated_tokens = 0
        return tokens

    @property
    def _strips_space(self) -> bool:
        """SentencePiece: a reply's first "▁" is a space, not text."""
        return self._file_info.tokenizer_model == "llama"

    def _generate(
        self,
        tokens: list[int],
        params: GenerationParams,
        cancel: CancelToken,
        stop: Sequence[str],
        strip_space: bool,
    ) -> Generator[str, None, None]:
        if self._busy:
            raise GenerationError("A reply is already being generated with this model.")
        llm = self._require()
        self._busy = True
        try:
            self._evaluate_prompt(llm, tokens, cancel)
            stops = tuple(s for s in stop if s)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            base = secrets.randbelow(_SEED_MODULUS) if params.seed is None else params.seed
            pending = ""
            for i in range(max(0, params.max_tokens)):
                if cancel.cancelled or self._llm is not llm:
                    return
                if len(self._context) >= self._n_ctx:
                    break  # the context window is full: the reply ends here
                token = self._sample(llm, params, (base + i) % _SEED_MODULUS)
                if llm.ctransformers_llm_is_eos_token(token):
                    break
                self.usage.generated_tokens += 1
                piece = decoder.decode(llm.ctransformers_llm_detokenize(token) or b"")
                if strip_space and piece:
                    piece, strip_space = piece.removeprefix(" "), False
                emit, pending, stopped = _split_stop(pending + piece, stops)
                if emit:
                    yield emit
                if stopped:
                    return
                if cancel.cancelled or self._llm is not llm:
                    return
                self._eval(llm, [token])
            emit, _, _ = _split_stop(pending + decoder.decode(b"", final=True), stops, True)
            if emit:
                yield emit
        finally:
            self._busy = False

    def _evaluate_prompt(self, llm: Any, tokens: list[int], cancel: CancelToken) -> None:
        # Reuse the cache for the prefix shared with the last conversation; evaluate at
        # least one token so that the logits belong to the end of this prompt.
        keep = 0
        limit = min(len(tokens) - 1, len(self._context))
        while keep < limit and tokens[keep] == self._context[keep]:
            keep += 1
        self._context = self._context[:keep]
        for start in range(keep, len(tokens), self._batch):
            if cancel.cancelled:
                return
            self._eval(llm, tokens[start : start + self._batch])

    def _eval(self, llm: Any, batch: list[int]) -> None:
        array = (ctypes.c_int * len(batch))(*batch)
        n_past = len(self._context)
        if not llm.ctransformers_llm_batch_eval(
            array, len(batch), n_past, self._batch, self._threads
        ):
            self._context = []
            raise GenerationError(
                "The model failed while reading the conversation; try again, or reload the model."
            )
        self._context.extend(batch)

    def _sample(self, llm: Any, params: GenerationParams, seed: int) -> int:
        top_k = params.top_k if 0 < params.top_k <= self._vocab_size else self._vocab_size
        temperature = params.temperature
        if temperature <= 0:
            top_k, temperature = 1, 1.0
        last = self._context[-LAST_N_TOKENS:]
        token: int = llm.ctransformers_llm_sample(
            (ctypes.c_int * len(last))(*last),
            len(last),
            top_k,
            min(max(params.top_p, 0.0), 1.0),
            temperature,
            params.repeat_penalty,
            seed,
        )
        return token

    def _tokenize(self, text: str) -> list[int]:
        llm = self._require()
        raw = text.encode("utf-8").replace(b"\x00", b"")  # a C string ends at NUL anyway
        capacity = 3 * len(raw) + 8
        buffer = (ctypes.c_int * capacity)()
        n = int(llm.ctransformers_llm_tokenize(raw, self._add_bos, buffer))
        if n > capacity:  # cannot happen by the bound above; memory would be corrupt
            raise GenerationError("The tokenizer overflowed its buffer; restart Hearth.")
        return list(buffer[:n])

    def _require(self) -> Any:
        if self._llm is None:
            raise ModelNotLoadedError("No model is loaded; load a model first.")
        return self._llm


def _check_allowed(info: ModelFileInfo) -> None:
    if info.ctransformers_refusal or not info.ctransformers_model_type:
        reason = info.ctransformers_refusal or "is not a format it can read"
        raise ModelRefusedError(
            f'The model "{info.path.name}" cannot be run with ctransformers because it {reason}.'
        )


def _split_stop(text: str, stops: Sequence[str], final: bool = False) -> tuple[str, str, bool]:
    """Split `text` into (safe to emit, held back, stopped).

    Text up to the first stop string is emitted and generation stops. Otherwise the longest
    end of the text that could begin a stop string is held back (unless `final`).
    """
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    if cut >= 0:
        return text[:cut], "", True
    if final:
        return text, "", False
    hold = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), hold, -1):
            if text.endswith(stop[:n]):
                hold = n
                break
    return text[: len(text) - hold], text[len(text) - hold :], False
