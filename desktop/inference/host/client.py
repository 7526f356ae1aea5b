"""`HostedEngine`: the `Engine` protocol, served by an engine host child process.

The inference worker and `hearth ask` use it like any engine; the engines' native code runs
only in the child (`host.server`). What the child's end means:

- it crashes (abort, segfault, out of memory, killed): the call raises `EngineCrashedError`
  with a sentence for the user, the exit signal is logged with the engine's last words, and
  the next request starts a new child with the same model and options. A crash *while
  loading* forgets the model instead: nothing is restarted until `load` is called again.
  `waiting_for_restart` is True meanwhile: the context meter skips measuring then, so a
  draft that kills the engine does not restart it on every keystroke.
- Stop: the generation's `CancelToken` is polled every few milliseconds and forwarded; the
  stream ends once the child confirms, or after `stop_wait_s` at the latest. A child that
  has not confirmed within `grace_s` ignores cancellation: it is killed (a watchdog thread
  does it even while nobody calls) and the next request restarts it.
- `close()` ends the child, so an unloaded model's memory goes back to the system.
- Overlapping: `prepare()` starts a child before the model is known (Python and its imports
  start meanwhile); `begin_load()` sends the model and returns at once, `finish_load()`
  waits for it, so a caller can do its own slow work (unlocking the store) in between.
  `load()` is both.
- Counts are remembered per message list (`PromptCounts`): the context plan at Send usually
  finds the count the meter asked for while the user typed, so a turn starts without a
  round trip that renders and tokenizes the whole conversation again.

Owned by one thread, like every engine; `CancelToken.cancel()` is the only call from others.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import logging
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from desktop.core.errors import EngineCrashedError, ModelNotLoadedError
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference import child_process
from desktop.inference.engine import CancelToken, EngineInfo, ProgressCallback, Usage
from desktop.inference.host import protocol
from desktop.inference.host.server import FROZEN_COMMAND, MODULE
from desktop.inference.prompt_cache import PromptCounts

if TYPE_CHECKING:
    from desktop.inference.kv_disk import DiskStatesConfig

log = logging.getLogger("hearth.host")
child_log = logging.getLogger("hearth.host.child")

POLL_S = 0.02  # how often a streaming call looks at its cancel token
STOP_WAIT_S = 0.15  # Stop returns after this at the latest, confirmed or not
GRACE_S = 3.0  # a child that has not stopped by then ignores cancellation: it is killed
COUNT_TIMEOUT_S = 30.0  # tokenizing never takes this long; a child that does is stuck
CLOSE_WAIT_S = 3.0
_LEVELS = {name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR")}
_DOING = {
    "loading": "loading",
    "counting": "reading your message",
    "reading": "reading your message",
    "writing": "writing its reply",
}


def default_command() -> list[str]:
    """The child's command line: this interpreter, or the frozen app's hidden command."""
    return child_process.child_command(MODULE, FROZEN_COMMAND)


class _Child:
    """One engine host process, its event queue and the tail of its stderr."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str] | None) -> None:
        self.proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_process.child_env(env),
            **child_process.group_kwargs(),
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.finished: set[int] = set()  # requests whose done/error was read
        self.killed = False  # by us (ignored cancellation, or closing), not a crash
        self.states: DiskStatesConfig | None = None  # where it keeps states, as last told
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=80)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_events, args=(self.proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict[str, Any]) -> bool:
        """Write one request; False when the child has gone (its end shows as an event)."""
        assert self.proc.stdin is not None
        try:
            protocol.write_frame(self.proc.stdin, message)
        except (OSError, ValueError):
            return False
        return True

    def _read_events(self, stream: IO[bytes]) -> None:
        try:
            while (event := protocol.read_frame(stream)) is not None:
                if event.get("ev") in ("done", "error", "closed"):
                    self.finished.add(int(event.get("id", 0)))
                self.events.put(event)
        except (OSError, ValueError, protocol.ProtocolError) as error:
            log.error("engine host %d: unreadable event: %s", self.pid, error)
        self.events.put(None)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            if not line:
                continue
            self.stderr_tail.append(line)
            head, _, rest = line.partition(" ")
            level = _LEVELS.get(head)
            if level is not None:
                child_log.log(level, "%s", rest)
            else:  # native code's own prints: an abort's last words among them
                child_log.info("%s", line)

    def kill(self) -> None:
        self.killed = True
        child_process.kill_group(self.proc)
        self.wait()

    def wait(self, timeout: float = 5.0) -> int | None:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for thread in self._threads:
            thread.join(1.0)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return code

    def release(self) -> None:
        """Ask the child to end and do not wait for it: for a command about to exit (the
        child ends on the request, or when its input closes with this process)."""
        self.killed = True
        if self.alive():
            self.send({"op": "close", "id": 0})
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def close(self) -> None:
        """Ask the child to end; kill it if it does not within `CLOSE_WAIT_S`."""
        if self.alive() and self.send({"op": "close", "id": 0}):
            try:
                self.proc.wait(CLOSE_WAIT_S)
            except subprocess.TimeoutExpired:
                log.warning("engine host %d did not end when asked; killed", self.pid)
        self.killed = True
        if self.alive():
            child_process.kill_group(self.proc)
        self.wait()


class HostedEngine:
    """An `Engine` whose model lives in a child process. See the module docstring."""

    def __init__(
        self,
        chat_format: str = "chatml",
        model_type_hint: str | None = None,
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        grace_s: float = GRACE_S,
        stop_wait_s: float = STOP_WAIT_S,
        inspections: Path | None = None,
        disk_states: Callable[[], DiskStatesConfig | None] | None = None,
    ) -> None:
        self.info = EngineInfo("engine host", "", ())
        self.usage = Usage()
        self.chat_format = chat_format
        self.model_type_hint = model_type_hint
        self.command = list(command) if command is not None else default_command()
        self._env = env
        self.grace_s = grace_s
        self.stop_wait_s = stop_wait_s
        #: The records file of model inspections the child may use (`inspection_cache`).
        self.inspections = inspections
        #: Where (and with which key) the child keeps conversations' states on disk, asked
        #: before each load and reply: the window knows it once the store is unlocked.
        self.disk_states = disk_states
        self._child: _Child | None = None
        self._spare: _Child | None = None  # started by `prepare`, no model asked for yet
        self._pending: tuple[_Child, int, Path, LoadOptions] | None = None  # begun, not loaded
        self._model: tuple[Path, LoadOptions] | None = None  # what a restart loads
        self._unusable: str | None = None  # why, after a crash while loading
        self._draining: int | None = None  # a cancelled request the child has not confirmed
        self._n_ctx = 0
        #: How long the child's engine took to load the model last time (seconds).
        self.load_time_s = 0.0
        self._template_note: str | None = None
        self._next_id = 0
        self._counts = PromptCounts()
        self.restarts = 0

    # -- the Engine protocol ---------------------------------------------------------------
    def load(
        self, path: Path, options: LoadOptions, progress: ProgressCallback | None = None
    ) -> None:
        self.begin_load(path, options)
        self.finish_load(progress)

    def prepare(self, warm: bool = False, started: Any = None) -> None:
        """Start a child now, with no model yet: the next load uses it instead of waiting.
        `warm`: it also loads llama.cpp's library at once (most models are GGUF files), so
        a command that is still choosing its model does not wait for that later.
        `started`: a child `spare()` started earlier, taken instead of a new one."""
        if self._spare is not None:
            return
        if isinstance(started, _Child) and started.alive():
            self._spare = started
            return
        self._spare = _Child(self.command, self._env)
        if warm:
            self._spare.send({"op": "warm", "id": 0})

    @staticmethod
    def spare() -> _Child:
        """An engine host process started now, llama.cpp's library loading, for a
        `prepare` to come (a command starts it before importing the rest of itself)."""
        child = _Child(default_command(), None)
        child.send({"op": "warm", "id": 0})
        return child

    def begin_load(self, path: Path, options: LoadOptions) -> None:
        """Ask a child to load `path` and return at once; `finish_load` waits for it."""
        self._end_child()
        self._unusable = None
        self._begin(Path(path), options)

    def finish_load(self, progress: ProgressCallback | None = None) -> None:
        """Wait for the load `begin_load` asked for; raises its error or crash."""
        pending, self._pending = self._pending, None
        if pending is None:
            raise ModelNotLoadedError(self._unusable or "No model is loaded yet.")
        self._finish(*pending, progress)

    @property
    def n_ctx(self) -> int:
        if self._model is None:
            raise ModelNotLoadedError(self._unusable or "No model is loaded yet.")
        return self._n_ctx

    @property
    def template_note(self) -> str | None:
        """Why the model's own chat template is not used (as the child's engine said)."""
        return self._template_note

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for tests and the log)."""
        return None if self._child is None else self._child.pid

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        known = self._counts.get(messages)
        if known is not None and self._model is not None:
            return known
        child = self._ready()
        request_id = self._send(child, "count", messages=protocol.encode_messages(messages))
        deadline = time.monotonic() + COUNT_TIMEOUT_S
        while True:
            event = self._next(child, request_id, "counting", deadline)
            if event["ev"] == "count":
                self._counts.put(messages, int(event["n"]))
                return int(event["n"])

    def prefill(self, messages: Sequence[ChatMessage]) -> int | None:
        """Let the child evaluate this prompt now, in the background; returns at once.

        For the request the context meter just measured: if it is sent as it is (or with
        more text after it), only the rest is evaluated at Send. Any later request takes
        precedence over it in the child. Does nothing (None) while no child is ready; else
        returns the request id for `wait_prefilled`.
        """
        child = self._child
        if self._model is None or child is None or not child.alive() or self._draining:
            return None
        return self._send(child, "prefill", messages=protocol.encode_messages(messages))

    def wait_prefilled(self, request_id: int, timeout_s: float) -> int | None:
        """How many tokens the `prefill` `request_id` evaluated; None if not done in time.

        Nothing in the app waits for a read-ahead; benchmarks and tests do.
        """
        child = self._child
        deadline = time.monotonic() + timeout_s
        while child is not None and (left := deadline - time.monotonic()) > 0:
            try:
                event = child.events.get(timeout=left)
            except queue.Empty:
                break
            if event is None:
                child.events.put(None)  # the end stays visible to whoever reads next
                break
            if event.get("ev") == "prefilled" and int(event.get("id", -1)) == request_id:
                return int(event["n"])
        return None

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]:
        messages_data = protocol.encode_messages(messages)
        return self._generation("generate", cancel, params, messages=messages_data)

    def complete(self, prompt: str, params: GenerationParams, cancel: CancelToken) -> Iterator[str]:
        """Continue the raw text `prompt` in the host (no chat template)."""
        return self._generation("complete", cancel, params, prompt=prompt)

    def _generation(
        self, op: str, cancel: CancelToken, params: GenerationParams, **fields: Any
    ) -> Iterator[str]:
        child = self._ready()
        self.usage = Usage()
        self._tell_states(child)
        request_id = self._send(child, op, params=protocol.encode_params(params), **fields)
        phase = "reading"
        ended = False
        try:
            while not cancel.cancelled:
                event = self._next(child, request_id, phase, poll=True)
                if event.get("ev") == "token":
                    phase = "writing"
                    # Counted as they come: a stopped reply's `done` is not waited for.
                    self.usage.generated_tokens += int(event.get("n", 1))
                    yield str(event["text"])
                elif event.get("ev") == "done":
                    self.usage = Usage(
                        int(event["prompt_tokens"]),
                        int(event["generated_tokens"]),
                        int(event.get("cached_tokens", 0)),
                    )
                    ended = True
                    return
        finally:
            if not ended and self._child is child:
                self._stop(child, request_id)

    def close(self, wait: bool = True) -> None:
        """End the child: the model's memory goes back to the system. Safe to call twice.
        `wait=False` (a command that is about to exit): ask it to end, do not wait."""
        self._end_child(wait)
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.close() if wait else spare.release()

    def _end_child(self, wait: bool = True) -> None:
        child, self._child = self._child, None
        self._model = None
        self._draining = None
        self._pending = None
        self._counts.clear()
        if child is not None:
            if wait:
                child.close()
                log.info("engine host %d ended", child.pid)
            else:
                child.release()

    # -- the child -------------------------------------------------------------------------
    def _start(self, path: Path, options: LoadOptions, progress: ProgressCallback | None) -> None:
        self._begin(path, options)
        pending, self._pending = self._pending, None
        assert pending is not None
        self._finish(*pending, progress)

    def _begin(self, path: Path, options: LoadOptions) -> None:
        child, self._spare = self._spare, None
        if child is None or not child.alive():
            if child is not None:
                child.close()
            child = _Child(self.command, self._env)
        self._child = child
        self._tell_states(child)
        log.info("engine host %d loading %s", child.pid, path.name)
        request_id = self._send(
            child,
            "load",
            path=str(path),
            options=protocol.encode_options(options),
            chat_format=self.chat_format,
            model_type=self.model_type_hint,
            inspections=None if self.inspections is None else str(self.inspections),
        )
        self._pending = (child, request_id, path, options)

    def _finish(
        self,
        child: _Child,
        request_id: int,
        path: Path,
        options: LoadOptions,
        progress: ProgressCallback | None,
    ) -> None:
        try:
            while True:
                event = self._next(child, request_id, "loading", model=path)
                if event["ev"] == "progress" and progress is not None:
                    progress(float(event["value"]))
                elif event["ev"] == "loaded":
                    break
        except EngineCrashedError:
            raise
        except BaseException:
            self._child = None
            child.close()
            raise
        name, version, formats = event["engine"]
        self.info = EngineInfo(str(name), str(version), tuple(formats))
        self._n_ctx = int(event["n_ctx"])
        note = event.get("template_note")
        self._template_note = str(note) if note else None
        self.load_time_s = float(event.get("load_s", 0.0))
        self._model = (path, options)

    @property
    def waiting_for_restart(self) -> bool:
        """True after a crash (not while loading): the next request starts a new child."""
        return self._model is not None and (self._child is None or not self._child.alive())

    def _ready(self) -> _Child:
        """The running child, after a pending Stop settled; restarted after a crash."""
        self._settle()
        child = self._child
        if child is not None and child.alive():
            return child
        if child is not None:  # ended while idle: killed from outside, out of memory...
            self._child = None
            code = child.wait()
            if not child.killed:
                log.error(
                    "engine host %d ended while idle: %s",
                    child.pid,
                    child_process.describe_exit(code or 0),
                )
        if self._model is None:
            raise ModelNotLoadedError(self._unusable or "No model is loaded yet.")
        path, options = self._model
        self.restarts += 1
        log.info("engine host: starting again with %s", path.name)
        self._start(path, options, None)
        assert self._child is not None
        return self._child

    def _tell_states(self, child: _Child) -> None:
        """Send the child where to keep states (the key over its pipe, never its command
        line or environment) when that changed since it was last told."""
        config = None if self.disk_states is None else self.disk_states()
        if config == child.states:
            return
        child.states = config
        if config is None:
            self._send(child, "states", key="")
            return
        key = base64.b64encode(config.key).decode("ascii")
        self._send(child, "states", folder=str(config.folder), key=key, budget=config.budget)

    def _send(self, child: _Child, op: str, **fields: Any) -> int:
        self._next_id += 1
        child.send({"op": op, "id": self._next_id, **fields})  # a dead child shows as EOF
        return self._next_id

    def _next(
        self,
        child: _Child,
        request_id: int,
        phase: str,
        deadline: float | None = None,
        *,
        poll: bool = False,
        model: Path | None = None,
    ) -> dict[str, Any]:
        """The next event of `request_id`; raises its error, or the crash if the child ended.

        With `poll`, returns `{}` after `POLL_S` without an event (to look at a cancel token).
        """
        while True:
            timeout = POLL_S if poll else 0.5
            try:
                event = child.events.get(timeout=timeout)
            except queue.Empty:
                if poll:
                    return {}
                if deadline is not None and time.monotonic() > deadline:
                    log.error("engine host %d stuck while %s; killed", child.pid, phase)
                    self._child = None
                    child.kill()
                    raise EngineCrashedError(
                        "The model stopped responding; it was restarted. Your conversation "
                        "is saved.",
                        phase=phase,
                    ) from None
                continue
            if event is None:
                raise self._crashed(child, phase, model)
            if int(event.get("id", -1)) != request_id:
                continue  # the tail of a cancelled request
            if event.get("ev") == "error":
                raise protocol.decode_error(event)
            return event

    def _crashed(self, child: _Child, phase: str, model: Path | None) -> EngineCrashedError:
        code = child.wait()
        self._child = None
        status = code if code is not None else -9
        how, name_of_exit = child_process.describe_exit(status), child_process.exit_name(status)
        detail = child_process.crash_detail("\n".join(child.stderr_tail).encode())
        log.error(
            "engine host %d %s while %s (exit status %s)%s",
            child.pid,
            how,
            phase,
            code,
            f": {detail}" if detail else "",
        )
        doing = _DOING.get(phase, phase)
        short = f"The model crashed while {doing} ({name_of_exit})."
        message = f"{short[:-1]}; your conversation is saved."
        if phase == "loading":
            name = (model or (self._model[0] if self._model else Path("model"))).name
            self._model = None
            self._unusable = (
                f'"{name}" crashed while loading, so it is marked unusable until you choose it '
                "again."
            )
            message += f' "{name}" is marked unusable until you choose it again.'
        return EngineCrashedError(message, phase=phase, short=short)

    # -- Stop --------------------------------------------------------------------------------
    def _stop(self, child: _Child, request_id: int) -> None:
        """Forward the cancel; wait for the child's confirmation at most `stop_wait_s`."""
        child.send({"op": "cancel", "id": 0, "target": request_id})
        deadline = time.monotonic() + self.stop_wait_s
        if self._wait_finished(child, request_id, deadline):
            return
        self._draining = request_id
        watchdog = threading.Timer(self.grace_s, self._watchdog, args=(child, request_id))
        watchdog.daemon = True
        watchdog.start()

    def _watchdog(self, child: _Child, request_id: int) -> None:
        """Runs on a timer thread: kill a child that ignored the cancel of `request_id`."""
        if request_id not in child.finished and child.alive():
            log.warning(
                "engine host %d ignored Stop for %.1f s; killed, it restarts with the next request",
                child.pid,
                self.grace_s,
            )
            child.killed = True
            child_process.kill_group(child.proc)

    def _settle(self) -> None:
        """Before a new request: let a cancelled one finish, or kill the child at the grace."""
        request_id, self._draining = self._draining, None
        child = self._child
        if request_id is None or child is None:
            return
        if not self._wait_finished(child, request_id, time.monotonic() + self.grace_s):
            if child.alive():
                log.warning("engine host %d ignored Stop; killed", child.pid)
            self._child = None
            child.kill()

    def _wait_finished(self, child: _Child, request_id: int, deadline: float) -> bool:
        """Drop events until `request_id` ends; False at the deadline or if the child ended."""
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = child.events.get(timeout=min(left, POLL_S))
            except queue.Empty:
                continue
            if event is None:
                child.events.put(None)  # the end stays visible to whoever reads next
                return False
            if int(event.get("id", -1)) == request_id and event.get("ev") in ("done", "error"):
                return True
        return False
