"""`LlamaCppEngine`: runs GGUF v2/v3 models with llama-cpp-python (the default engine).

Owned by one thread (llama.cpp aborts the process when two threads share a model).
The chat prompt is rendered by Hearth (`templates.ChatTemplate`) and tokenized here,
so prompt length is known exactly before anything is evaluated. Cancellation is
checked between tokens and, through llama.cpp's abort callback, during prompt
evaluation. llama.cpp's own log lines go to Python logging (`hearth.llama_cpp`).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.errors import ContextOverflowError, GenerationError, ModelLoadError
from desktop.core.files import file_sha256
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken, EngineInfo, ProgressCallback, Usage
from desktop.inference.kv_states import DEFAULT_BUDGET, KvStates, SavedState
from desktop.inference.native_stop import NativeStop
from desktop.inference.templates import ChatTemplate

if TYPE_CHECKING:
    from desktop.inference.kv_disk import DiskStates

log = logging.getLogger("hearth.llama_cpp")

# ggml log levels as this llama.cpp defines them (llama-cpp-python's own table predates the
# change): 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continuation of the last line.
# llama.cpp's info lines (hundreds per load) are kept at debug level.
_LEVELS = {
    0: logging.DEBUG,
    1: logging.DEBUG,
    2: logging.DEBUG,
    3: logging.WARNING,
    4: logging.ERROR,
}


#: llama.cpp rounds the context up to a multiple of this; llama-cpp-python sizes its token
#: buffer from the number asked for, so a context of 300 would overflow that buffer past
#: 300 tokens ("could not broadcast input array"). Asking for the rounded size keeps both equal.
CONTEXT_STEP = 256

#: A conversation's cache is kept for a later switch back when it holds at least this many
#: tokens (below, evaluating it again costs about as much as restoring it).
SAVE_MIN_TOKENS = 256

_SHORTEN = {
    "conversation": "Shorten the message or start a new conversation.",
    "prompt": "Shorten the prompt.",
}


def padded_context(n_ctx: int) -> int:
    """`n_ctx` rounded up to what llama.cpp allocates anyway."""
    return max(CONTEXT_STEP, -(-n_ctx // CONTEXT_STEP) * CONTEXT_STEP)


class _LogRouter:
    """Collects llama.cpp's log fragments into lines and hands them to Python logging."""

    def __init__(self) -> None:
        self._buffer = ""
        self._level = logging.DEBUG
        self.recent_errors: list[str] = []
        #: True while the engine is stopping a request on purpose: llama.cpp then reports the
        #: abort it was asked for ("llama_decode: failed to decode, ret = 2") as errors.
        self.stopping: Callable[[], bool] = lambda: False

    def __call__(self, level: int, text: bytes | None, _user_data: ctypes.c_void_p) -> None:
        if level != 5:
            self._level = _LEVELS.get(level, logging.DEBUG)
        self._buffer += (text or b"").decode("utf-8", errors="replace")
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                level = self._level
                if level >= logging.WARNING and self.stopping():
                    level = logging.DEBUG  # the abort Stop asked for, not a fault
                log.log(level, "%s", line)
                if level >= logging.WARNING:
                    self.recent_errors = [*self.recent_errors[-9:], line.strip()]


_installed: dict[str, Any] = {}


class _UncompiledChatFormat:
    """Takes the place of llama-cpp-python's `Jinja2ChatFormatter` while a model loads.

    `Llama()` compiles every chat template in the file with an unbounded jinja2 environment,
    and jinja2 folds constants while compiling: `{{ "a" * 3000000000 }}` alone takes gigabytes
    and minutes. Hearth renders prompts itself, within limits (`templates.ChatTemplate`), and
    never uses llama-cpp-python's chat handlers, so the template is not compiled there at all.
    """

    def __init__(self, **_kwargs: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        def unavailable(**_kwargs: Any) -> Any:
            raise GenerationError("Hearth renders chat prompts itself; use create_completion.")

        return unavailable


def _adapter(options: LoadOptions) -> dict[str, Any]:
    """llama-cpp-python's arguments for the LoRA adapter of `options` (none: none)."""
    if options.adapter is None:
        return {}
    return {"lora_path": options.adapter, "lora_scale": float(options.adapter_scale)}


@contextlib.contextmanager
def _templates_left_alone(llama_cpp: Any) -> Iterator[None]:
    module = llama_cpp.llama_chat_format
    original = module.Jinja2ChatFormatter
    module.Jinja2ChatFormatter = _UncompiledChatFormat
    try:
        yield
    finally:
        module.Jinja2ChatFormatter = original


def _import_llama_cpp() -> Any:
    """Import llama_cpp and route its (process-wide) log to Python logging, once.

    The ctypes callback is kept in a module-level dict because llama.cpp holds the
    pointer for the life of the process: freeing it would crash the next log line.
    """
    import llama_cpp

    if "callback" not in _installed:
        router = _LogRouter()
        callback = llama_cpp.llama_log_callback(router)
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        _installed.update(router=router, callback=callback)
    return llama_cpp


import_llama_cpp = _import_llama_cpp  # for the embedder, which shares the log routing


class LlamaCppEngine:
    """The Engine protocol over `llama_cpp.Llama`. See the module docstring for threading."""

    def __init__(self, chat_format: str = "chatml", state_budget: int = DEFAULT_BUDGET) -> None:
        self._llama_cpp = _import_llama_cpp()
        self.info = EngineInfo("llama.cpp", str(self._llama_cpp.__version__), ("gguf",))
        self.usage = Usage()
        self._fallback_format = chat_format
        self._llm: Any = None
        self._template: ChatTemplate | None = None
        self._cached_prompt: tuple[str, list[int]] | None = None  # the last prompt, rendered
        # The last message list rendered and tokenized (a count, then the stream of the same
        # messages: the conversation is rendered and tokenized once per turn, not twice).
        self._rendered: tuple[tuple[ChatMessage, ...], str, list[int]] | None = None
        self._cancel: CancelToken | None = None
        # Other conversations' evaluated prompts, so switching back to one answers warm.
        self._states = KvStates(state_budget)
        # ...and on disk, encrypted, for after a restart (when the window gives a key).
        self._disk: DiskStates | None = None
        self._fingerprint = ""  # the model, context and engine a state belongs to
        self._router: _LogRouter = _installed["router"]
        # The abort callback must stay referenced for as long as the context may call it.
        # Native when ggml allows (a Python one costs ~10% of the tokens per second).
        self._abort_cb = self._llama_cpp.ggml_abort_callback(self._should_abort)
        self._native_stop = NativeStop.make(self._llama_cpp)

    # -- loading ---------------------------------------------------------------------------
    def load(
        self, path: Path, options: LoadOptions, progress: ProgressCallback | None = None
    ) -> None:
        self.close()
        if progress:
            progress(0.0)
        threads = options.n_threads or max(1, (os.cpu_count() or 2))
        self._router.recent_errors = []
        captured = io.StringIO()
        try:
            # verbose=True keeps llama-cpp-python from redirecting the process's fds 1 and 2;
            # its Python-side chatter is captured here and logged at debug level.
            with (
                contextlib.redirect_stderr(captured),
                contextlib.redirect_stdout(captured),
                _templates_left_alone(self._llama_cpp),
            ):
                llm = self._llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=padded_context(options.n_ctx),
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_batch=min(options.batch_size, padded_context(options.n_ctx)),
                    verbose=True,
                    **_adapter(options),
                )
        except (ValueError, RuntimeError, OSError) as exc:
            detail = "; ".join(self._router.recent_errors[-3:]) or str(exc)
            raise ModelLoadError(f"llama.cpp could not load {path.name}: {detail}") from exc
        finally:
            for line in captured.getvalue().splitlines():
                log.debug("%s", line)
        llm.verbose = False  # from here on: no per-call prints to stderr
        if self._native_stop is not None:
            stop = self._native_stop
            self._llama_cpp.llama_set_abort_callback(llm.ctx, stop.callback, stop.data)
        else:
            self._llama_cpp.llama_set_abort_callback(llm.ctx, self._abort_cb, None)
        self._llm = llm
        self._template = self._make_template(llm)
        stat = Path(path).stat()
        self._fingerprint = (
            f"llama.cpp {self.info.version}|{Path(path).resolve()}|{stat.st_size}|"
            f"{stat.st_mtime_ns}|ctx {llm.n_ctx()}"
        )
        if options.adapter is not None:  # another model, as far as its states go
            digest = file_sha256(Path(options.adapter))[:32]
            self._fingerprint += f"|adapter {digest} x{options.adapter_scale:g}"
        if progress:
            progress(1.0)

    def _make_template(self, llm: Any) -> ChatTemplate:
        model = llm._model
        bos = model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
        eos = model.token_get_text(llm.token_eos()) if llm.token_eos() >= 0 else ""
        source = llm.metadata.get("tokenizer.chat_template")
        return ChatTemplate.from_model(source, bos, eos, fallback=self._fallback_format)

    @property
    def n_ctx(self) -> int:
        return int(self._require().n_ctx())

    @property
    def template(self) -> ChatTemplate:
        self._require()
        assert self._template is not None
        return self._template

    @property
    def template_note(self) -> str | None:
        return self.template.replaced_note

    def _require(self) -> Any:
        if self._llm is None:
            from desktop.core.errors import ModelNotLoadedError

            raise ModelNotLoadedError("No model is loaded yet.")
        return self._llm

    # -- prompts ---------------------------------------------------------------------------
    def _tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        return self._prompt(messages)[1]

    def _prompt(self, messages: Sequence[ChatMessage]) -> tuple[str, list[int]]:
        """The rendered prompt and its tokens."""
        llm = self._require()
        key = tuple(messages)
        if self._rendered is not None and self._rendered[0] == key:
            return self._rendered[1], list(self._rendered[2])
        text = self.template.render(messages)
        tokens = self._reuse_cached(llm, text)
        if tokens is None:
            add_bos = bool(llm._model.add_bos_token()) and not (
                self.template.bos_token and text.startswith(self.template.bos_token)
            )
            tokens = list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))
        self._rendered = (key, text, tokens)
        return text, list(tokens)

    def _reuse_cached(self, llm: Any, text: str) -> list[int] | None:
        """`text`'s tokens, starting with those already in the KV cache where they spell it.

        A reply re-rendered into the next prompt does not always tokenize back into the
        tokens the model generated (BPE merges a word differently, a piece splits a
        character): from that point on llama.cpp would evaluate the prompt again. So the
        last prompt's tokens, then the generated tokens whose bytes the new text repeats,
        are kept as they are, and only the rest is tokenized.
        """
        if self._cached_prompt is None:
            return None
        prompt_text, prompt_tokens = self._cached_prompt
        if not text.startswith(prompt_text):
            return None
        cached = [int(t) for t in llm._input_ids[: llm.n_tokens]]
        if cached[: len(prompt_tokens)] != prompt_tokens:
            return None
        rest = text[len(prompt_text) :].encode("utf-8")
        kept, position = list(prompt_tokens), 0
        for token in cached[len(prompt_tokens) :]:
            piece = llm._model.detokenize([token], special=True)
            if not piece or not rest.startswith(piece, position):
                break
            kept.append(token)
            position += len(piece)
        return kept + list(llm.tokenize(rest[position:], add_bos=False, special=True))

    # -- other conversations' caches -------------------------------------------------------
    def _evaluation_prompt(
        self, llm: Any, messages: Sequence[ChatMessage]
    ) -> tuple[str, list[int]]:
        """The prompt about to be evaluated, with the cache switched to its conversation."""
        key = tuple(messages)
        if self._rendered is not None and self._rendered[0] == key:
            text = self._rendered[1]
        else:
            text = self.template.render(messages)
        self._switch_cache(llm, text)
        return self._prompt(messages)

    def _switch_cache(self, llm: Any, text: str) -> None:
        """When `text` does not continue the conversation in the cache, that one is saved,
        and a saved state that `text` continues is restored (then only the rest is new)."""
        live = self._cached_prompt
        if live is None or not text.startswith(live[0]):
            saved = self._states.take(text)
            if saved is None and self._disk is not None:
                saved = self._disk.find(self._fingerprint, text)
            if live is not None and llm.n_tokens >= SAVE_MIN_TOKENS:
                data = _state(llm, self._states.budget)
                if data is not None:
                    tokens = tuple(int(t) for t in llm._input_ids[: llm.n_tokens])
                    self._states.put(SavedState(live[0], tuple(live[1]), tokens, data))
            if saved is not None and _restore(llm, saved):
                self._cached_prompt = (saved.text, list(saved.prompt_tokens))
                self._rendered = None  # tokenize again: the restored tokens are reused

    def use_disk_states(self, disk: DiskStates | None) -> None:
        """Keep conversations' states in `disk` too (None: in memory only)."""
        self._disk = disk

    def keep_state(self, label: str) -> bool:
        """After a reply: hand the conversation's state (`label` names it) to the disk
        states, which write it on their own thread. True if one was handed over."""
        llm, disk, live = self._llm, self._disk, self._cached_prompt
        if llm is None or disk is None or live is None or llm.n_tokens < SAVE_MIN_TOKENS:
            return False
        data = _state(llm, disk.budget)
        if data is None:
            return False
        tokens = tuple(int(t) for t in llm._input_ids[: llm.n_tokens])
        disk.save(self._fingerprint, label, SavedState(live[0], tuple(live[1]), tokens, data))
        return True

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self._tokens(messages))

    def prefill(self, messages: Sequence[ChatMessage], cancel: CancelToken) -> int:
        """Evaluate the prompt of `messages` into the KV cache now, before it is sent.

        The engine host calls this with the request the context meter measured while the
        user typed (the conversation, the draft and the reply's header), so at Send only
        what changed since is evaluated; that part would otherwise grow with the attention
        over a longer conversation. `cancel` stops it between batches and inside llama.cpp;
        the next request sets it. Returns how many tokens were evaluated.
        """
        llm = self._require()
        text, tokens = self._evaluation_prompt(llm, messages)
        common = _common_prefix(llm, tokens)
        if common >= len(tokens) or len(tokens) >= llm.n_ctx():
            return 0
        self._cached_prompt = (text, tokens)
        llm.n_tokens = common  # eval() drops the cache from here, then evaluates the rest
        unwatch = self._listen(cancel)
        try:
            llm.eval(tokens[common:])
        except RuntimeError as exc:
            llm._requires_eval = True  # the aborted batch may have left partial logits
            if cancel.cancelled and "llama_decode" in str(exc):
                return 0
            raise GenerationError(f"llama.cpp failed while reading ahead: {exc}") from exc
        finally:
            unwatch()
        return len(tokens) - common

    # -- generation ------------------------------------------------------------------------
    def _should_abort(self, _data: ctypes.c_void_p) -> bool:
        return bool(self._cancel is not None and self._cancel.cancelled)

    def _listen(self, cancel: CancelToken) -> Callable[[], None]:
        """Let `cancel` stop llama.cpp mid-batch until the returned call is made."""
        self._cancel = cancel
        self._router.stopping = lambda: cancel.cancelled
        native = self._native_stop
        unwatch: Callable[[], None] = lambda: None  # noqa: E731
        if native is not None:
            native.set(False)
            unwatch = cancel.watch(lambda: native.set(True))

        def stop_listening() -> None:
            unwatch()
            if native is not None:
                native.set(False)
            self._cancel = None
            self._router.stopping = lambda: False

        return stop_listening

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]:
        llm = self._require()
        text, tokens = self._evaluation_prompt(llm, messages)
        stop = list(dict.fromkeys((*self.template.stop, *params.stop)))
        yield from self._continue(llm, (text, tokens), params, stop, cancel, "conversation")

    def complete(self, prompt: str, params: GenerationParams, cancel: CancelToken) -> Iterator[str]:
        """Continue the raw text `prompt` (no chat template; only `params.stop` stops it)."""
        llm = self._require()
        self._switch_cache(llm, prompt)
        self._rendered = None
        add_bos = bool(llm._model.add_bos_token())
        tokens = list(llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True))
        stop = list(params.stop)
        yield from self._continue(llm, (prompt, tokens), params, stop, cancel, "prompt")

    def _continue(
        self,
        llm: Any,
        prompt: tuple[str, list[int]],
        params: GenerationParams,
        stop: list[str],
        cancel: CancelToken,
        what: str,
    ) -> Iterator[str]:
        """Stream what follows the evaluated `prompt` (its text and tokens)."""
        tokens = prompt[1]
        self._cached_prompt = prompt
        self.usage = Usage(prompt_tokens=len(tokens), cached_tokens=_common_prefix(llm, tokens))
        room = llm.n_ctx() - len(tokens)
        if room < 1:
            raise ContextOverflowError(
                f"The {what} is too long for this model: the prompt takes {len(tokens)} "
                f"tokens and the context window holds {llm.n_ctx()}. {_SHORTEN[what]}"
            )
        seed = params.seed if params.seed is not None else random.randrange(2**31)
        unwatch = self._listen(cancel)
        before = 0
        try:
            chunks = llm.create_completion(
                prompt=tokens,
                max_tokens=min(params.max_tokens, room),
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k,
                min_p=params.min_p,
                repeat_penalty=params.repeat_penalty,
                seed=seed,
                stop=stop,
                stream=True,
            )
            try:
                for chunk in chunks:
                    text = chunk["choices"][0]["text"]
                    if text:
                        self.usage.generated_tokens = max(
                            self.usage.generated_tokens + 1, llm.n_tokens - len(tokens)
                        )
                        before += 1
                        yield text
                    if cancel.cancelled:
                        break
            finally:
                chunks.close()
        except RuntimeError as exc:
            if cancel.cancelled and "llama_decode" in str(exc):
                return  # aborted during prompt evaluation: a normal cancellation
            raise GenerationError(f"llama.cpp failed while generating: {exc}") from exc
        except ValueError as exc:
            raise GenerationError(f"llama.cpp refused the request: {exc}") from exc
        finally:
            unwatch()
            self.usage.generated_tokens = max(before, llm.n_tokens - len(tokens))

    def close(self) -> None:
        llm, self._llm = self._llm, None
        self._template = None
        self._cached_prompt = None
        self._rendered = None
        self._states.clear()
        if llm is not None:
            llm.close()


def _common_prefix(llm: Any, tokens: list[int]) -> int:
    """How many of `tokens` llama.cpp's cache holds already (it evaluates only the rest)."""
    count = 0
    for cached, token in zip(llm._input_ids[: llm.n_tokens], tokens, strict=False):
        if int(cached) != token:
            break
        count += 1
    return count


def _state(llm: Any, limit: int) -> bytes | None:
    """The context's state (its KV cache), serialised by llama.cpp; None when it would be
    larger than `limit` bytes (a big model's cache is not copied only to be refused)."""
    llama_cpp = _import_llama_cpp()
    size = int(llama_cpp.llama_state_get_size(llm.ctx))
    if size > limit:
        return None
    buffer = (ctypes.c_uint8 * size)()
    written = int(llama_cpp.llama_state_get_data(llm.ctx, buffer, size))
    return ctypes.string_at(buffer, min(written, size))


def _restore(llm: Any, saved: SavedState) -> bool:
    """Put `saved` back as the context's state; False (and an empty cache) if refused."""
    llama_cpp = _import_llama_cpp()
    buffer = (ctypes.c_uint8 * len(saved.data)).from_buffer_copy(saved.data)
    if int(llama_cpp.llama_state_set_data(llm.ctx, buffer, len(saved.data))) != len(saved.data):
        log.warning("llama.cpp refused a saved conversation state; evaluating again")
        llm.reset()
        llm._ctx.kv_cache_clear()
        return False
    count = len(saved.tokens)
    llm.input_ids[:count] = saved.tokens
    llm.n_tokens = count
    llm._requires_eval = True  # logits come from the next decode, not the restored state
    return True
