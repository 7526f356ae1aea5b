"""The engine host's child side: one loaded model, requests in, events out.

Runs as `python -m desktop.inference.host.server` (in a frozen build: the app's own
executable with the hidden `__engine-host` command). The protocol uses the child's original
stdin and stdout; file descriptor 1 is then pointed at stderr so nothing an engine prints can
corrupt a frame. Log records go to stderr as `LEVEL name: message` lines, which the parent
re-logs. `generate` streams a chat reply, `complete` the continuation of a raw prompt (the
same events). A reader thread takes frames off stdin: `cancel` sets the running generation's
`CancelToken` at once, everything else is queued for the main thread, which alone touches
the engine. `prefill` (evaluate a prompt ahead of its request, llama.cpp only) gives way:
any later request cancels it; it answers with how many tokens it evaluated. The end of
stdin (the parent has gone) cancels and ends the loop.
"""

from __future__ import annotations

import base64
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from desktop.inference.engine import CancelToken, Engine, PromptCompleter
from desktop.inference.host import protocol

if TYPE_CHECKING:
    from desktop.inference.kv_disk import DiskStates
    from desktop.inference.llama_embedder import LlamaEmbedder

FROZEN_COMMAND = "__engine-host"
MODULE = "desktop.inference.host.server"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
#: Reply pieces closer together than this are sent in one frame (the first at once).
COALESCE_S = 0.04

log = logging.getLogger("hearth.host")


class HostServer:
    """Serves one connection. `serve()` returns when the parent closes or asks to close."""

    def __init__(self, requests: IO[bytes], events: IO[bytes]) -> None:
        self._requests = requests
        self._events = events
        self._write_lock = threading.Lock()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._tokens: dict[int, CancelToken] = {}
        self._tokens_lock = threading.Lock()
        self._prefills: list[CancelToken] = []  # read-aheads queued or running
        self._engine: Engine | None = None
        self._embedder: LlamaEmbedder | None = None
        self._disk: DiskStates | None = None  # conversations' states kept on disk

    def send(self, message: dict[str, Any]) -> None:
        with self._write_lock:
            protocol.write_frame(self._events, message)

    def serve(self) -> None:
        reader = threading.Thread(target=self._read, name="hearth-host-reader", daemon=True)
        reader.start()
        try:
            while (request := self._queue.get()) is not None:
                if not self._handle(request):
                    break
        finally:
            self._close_engine()
            if self._disk is not None:
                self._disk.close()  # the last reply's state is written before the end

    def _read(self) -> None:
        """Take frames off stdin; a cancel acts at once, other requests wait their turn."""
        try:
            while (request := protocol.read_frame(self._requests)) is not None:
                if request.get("op") == "cancel":
                    with self._tokens_lock:
                        token = self._tokens.get(int(request.get("target", -1)))
                    if token is not None:
                        token.cancel()
                    continue
                with self._tokens_lock:
                    for token in self._prefills:  # a real request goes first
                        token.cancel()
                    self._prefills.clear()
                    if request.get("op") in ("generate", "complete"):
                        self._tokens[int(request["id"])] = CancelToken()
                    elif request.get("op") == "prefill":
                        request["cancel"] = CancelToken()
                        self._prefills.append(request["cancel"])
                self._queue.put(request)
        except (OSError, ValueError, protocol.ProtocolError) as error:
            log.error("engine host: reading a request failed: %s", error)
        with self._tokens_lock:
            for token in self._tokens.values():
                token.cancel()
        self._queue.put(None)

    def _handle(self, request: dict[str, Any]) -> bool:
        op, request_id = request.get("op"), int(request.get("id", 0))
        try:
            if op == "load":
                self._load(request_id, request)
            elif op == "count":
                engine = self._require()
                messages = protocol.decode_messages(request["messages"])
                n = engine.count_prompt_tokens(messages)
                self.send({"ev": "count", "id": request_id, "n": n})
            elif op in ("generate", "complete"):
                self._generate(request_id, request)
            elif op in ("embed_load", "embed"):
                self._embedding(op, request_id, request)
            elif op == "warm":
                self._warm()
            elif op == "prefill":
                self.send({"ev": "prefilled", "id": request_id, "n": self._prefill(request)})
            elif op == "states":
                self._use_states(request)
            elif op == "close":
                self._close_engine()
                self.send({"ev": "closed", "id": request_id})
                return False
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as error:
            if not isinstance(error, protocol.errors.HearthError):
                log.error("engine host: %s failed", op, exc_info=error)
            self.send(protocol.encode_error(request_id, error))
        return True

    def _warm(self) -> None:
        """Load llama.cpp's library before a model is asked for; a failure here is only
        logged (the load that follows reports it)."""
        try:
            from desktop.inference.llamacpp_engine import import_llama_cpp

            import_llama_cpp()
        except Exception as error:  # the load will say what is wrong, in its own words
            log.debug("engine host: loading llama.cpp ahead failed: %s", error)

    def _require(self) -> Engine:
        if self._engine is None:
            raise protocol.errors.ModelNotLoadedError("No model is loaded yet.")
        return self._engine

    def _load(self, request_id: int, request: dict[str, Any]) -> None:
        from desktop.inference.inspection_cache import InspectionCache
        from desktop.inference.registry import EngineRegistry

        self._close_engine()
        path = Path(request["path"])
        kept = request.get("inspections")
        registry = EngineRegistry(
            chat_format=str(request.get("chat_format") or "chatml"),
            model_type_hint=request.get("model_type") or None,
            inspections=InspectionCache(Path(kept)) if isinstance(kept, str) else None,
        )
        engine = registry.create_engine(path)

        def progress(value: float) -> None:
            self.send({"ev": "progress", "id": request_id, "value": value})

        start = time.perf_counter()
        engine.load(path, protocol.decode_options(request["options"]), progress)
        load_s = time.perf_counter() - start
        self._engine = engine
        use_disk = getattr(engine, "use_disk_states", None)
        if use_disk is not None:
            use_disk(self._disk)
        info = engine.info
        self.send(
            {
                "ev": "loaded",
                "id": request_id,
                "n_ctx": engine.n_ctx,
                "engine": [info.name, info.version, list(info.formats)],
                "template_note": engine.template_note,
                "load_s": load_s,
            }
        )

    def _generate(self, request_id: int, request: dict[str, Any]) -> None:
        with self._tokens_lock:
            cancel = self._tokens.setdefault(request_id, CancelToken())
        try:
            engine = self._require()
            params = protocol.decode_params(request["params"])
            if request.get("op") == "complete":  # raw text, no chat template
                if not isinstance(engine, PromptCompleter):
                    raise protocol.errors.GenerationError(
                        f"{engine.info.name} cannot continue a raw prompt."
                    )
                stream = engine.complete(str(request["prompt"]), params, cancel)
            else:
                messages = protocol.decode_messages(request["messages"])
                stream = engine.stream(messages, params, cancel)
            # Pieces that come faster than `COALESCE_S` apart travel together: each frame
            # wakes a thread in the window's process, on cores the model's threads need.
            pending: list[str] = []
            sent_at = 0.0
            try:
                for piece in stream:
                    if piece:
                        pending.append(piece)
                        now = time.monotonic()
                        if now - sent_at >= COALESCE_S:
                            self._send_pieces(request_id, pending)
                            sent_at = now
                    if cancel.cancelled:
                        break
            finally:
                if pending:  # the end of the reply (or what came before a failure)
                    self._send_pieces(request_id, pending)
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            usage = engine.usage
            self.send(
                {
                    "ev": "done",
                    "id": request_id,
                    "prompt_tokens": usage.prompt_tokens,
                    "generated_tokens": usage.generated_tokens,
                    "cached_tokens": usage.cached_tokens,
                    "cancelled": cancel.cancelled,
                }
            )
            keep = getattr(engine, "keep_state", None)
            if keep is not None and params.state_label:
                keep(params.state_label)  # after `done`: written on another thread
        finally:
            with self._tokens_lock:
                self._tokens.pop(request_id, None)

    def _send_pieces(self, request_id: int, pending: list[str]) -> None:
        """One frame of pieces; `n` says how many (a stopped reply's count is known from
        them: its `done` is not waited for)."""
        self.send({"ev": "token", "id": request_id, "text": "".join(pending), "n": len(pending)})
        pending.clear()

    def _use_states(self, request: dict[str, Any]) -> None:
        """Keep conversations' states on disk from now on (`kv_disk`), or no longer."""
        from desktop.inference.kv_disk import DiskStates, DiskStatesConfig

        if self._disk is not None:
            self._disk.close()
        self._disk = None
        key = request.get("key")
        if isinstance(key, str) and key:
            config = DiskStatesConfig(
                Path(request["folder"]), base64.b64decode(key), int(request["budget"])
            )
            self._disk = DiskStates(config)
            self._disk.remove_leftovers()
        use_disk = getattr(self._engine, "use_disk_states", None)
        if use_disk is not None:
            use_disk(self._disk)

    def _prefill(self, request: dict[str, Any]) -> int:
        """Read a prompt ahead; a failure is only logged (the request itself will say)."""
        cancel: CancelToken = request["cancel"]
        prefill = getattr(self._engine, "prefill", None)
        if prefill is None or cancel.cancelled:
            return 0
        try:
            return int(prefill(protocol.decode_messages(request["messages"]), cancel))
        except protocol.errors.HearthError as error:
            log.debug("engine host: reading ahead failed: %s", error)
            return 0

    def _embedding(self, op: str, request_id: int, request: dict[str, Any]) -> None:
        """Embedding requests, on their own model (a host may hold it alone)."""
        from desktop.inference.llama_embedder import LlamaEmbedder

        if op == "embed_load":
            self._close_embedder()
            threads = int(request.get("n_threads") or 2)
            self._embedder = LlamaEmbedder(Path(request["path"]), threads)
            self.send({"ev": "embed_ready", "id": request_id, "dims": self._embedder.dimensions})
            return
        if self._embedder is None:
            raise protocol.errors.EmbeddingError("No embedding model is loaded yet.")
        rows = self._embedder.embed([str(text) for text in request["texts"]])
        self.send({"ev": "embedded", "id": request_id, **protocol.encode_vectors(rows)})

    def _close_embedder(self) -> None:
        embedder, self._embedder = self._embedder, None
        if embedder is not None:
            embedder.close()

    def _close_engine(self) -> None:
        self._close_embedder()
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


def child_main(argv: Sequence[str] | None = None) -> NoReturn:
    """The child's entry point: frames on the original stdin/stdout, everything else on stderr."""
    del argv  # no options: everything arrives as requests
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    events = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # engines' prints must not mix with the frames
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG, format=LOG_FORMAT, force=True)
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    HostServer(requests, events).serve()  # closes the engine before it returns
    events.close()
    # Nothing is left to clean up: end now rather than after the interpreter has torn down
    # numpy and the engines' modules (about 0.1 s that `hearth ask` would wait for).
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(child_main())
