"""Try a model file in a child process before Hearth keeps it.

Some files pass inspection yet crash an engine (an impossible attention shape aborts
llama.cpp and ctransformers with `GGML_ASSERT`, a zero head count divides by zero) or may
hang it. `ModelProber` loads the file in a separate process with a time limit and has it
generate two tokens (so the file's chat template is also tried there, within its own render
limits; a template Hearth must replace comes back as `template_note`); a crash by signal,
a hang or an engine error becomes a `ProbeResult` with a reason written for a person, and
the app's own process never touches the file.

The child is `python -m desktop.inference.probe PATH` (in a frozen build: the app's own
executable with the hidden `__probe-model` command). It prints one JSON line on its
original stdout; everything the engines print goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import HearthError, ModelRefusedError
from desktop.inference.child_process import (
    child_command,
    child_env,
    crash_detail,
    describe_exit,
    group_kwargs,
    kill_group,
)

DEFAULT_TIMEOUT_S = 90.0
PROBE_CONTEXT = 256
FROZEN_COMMAND = "__probe-model"
_EXIT_REFUSED = 3
_EXIT_BUG = 4


@dataclass(frozen=True)
class ProbeResult:
    """How the trial load went. `reason` (a sentence for the user) is set when `ok` is False."""

    ok: bool
    reason: str | None = None
    engine: str | None = None
    load_time_s: float | None = None
    generated_tokens: int = 0
    elapsed_s: float = 0.0
    template_note: str | None = None  # the model's chat template replaced, and why


def default_command() -> list[str]:
    """The child's command line without the file: this interpreter or the frozen app."""
    return child_command("desktop.inference.probe", FROZEN_COMMAND)


class ModelProber:
    """Runs the trial load. Safe to call from any thread (it only waits on a process)."""

    def __init__(
        self,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        command: Sequence[str] | None = None,
        n_ctx: int = PROBE_CONTEXT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.command = list(command) if command is not None else default_command()
        self.n_ctx = n_ctx
        self._env = dict(env) if env is not None else None

    def check(self, path: Path, model_type_hint: str | None = None) -> ProbeResult:
        """`probe`, raising `ModelRefusedError` with the reason when the trial failed."""
        result = self.probe(path, model_type_hint)
        if not result.ok:
            raise ModelRefusedError(result.reason or f'"{Path(path).name}" failed its trial load.')
        return result

    def probe(self, path: Path, model_type_hint: str | None = None) -> ProbeResult:
        path = Path(path)
        argv = [*self.command, str(path), "--ctx", str(self.n_ctx)]
        if model_type_hint:
            argv += ["--model-type", model_type_hint]
        start = time.monotonic()
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(self._env),
            **group_kwargs(),
        )
        try:
            out, err = child.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            kill_group(child)
            child.communicate()
            return ProbeResult(
                False,
                f'Loading "{path.name}" did not finish within {self.timeout_s:g} seconds, so the '
                "file could hang Hearth; it was not added. If it is a very large model on a slow "
                "disk, try again with a longer time limit.",
                elapsed_s=time.monotonic() - start,
            )
        elapsed = time.monotonic() - start
        report = _last_json(out)
        if report is not None and child.returncode in (0, _EXIT_REFUSED, _EXIT_BUG):
            if report.get("ok"):
                return ProbeResult(
                    True,
                    engine=str(report.get("engine")),
                    load_time_s=float(report.get("load_s", 0.0)),
                    generated_tokens=int(report.get("tokens", 0)),
                    elapsed_s=elapsed,
                    template_note=report.get("template_note") or None,
                )
            return ProbeResult(False, str(report.get("reason")), elapsed_s=elapsed)
        return ProbeResult(False, _crash_reason(path, child.returncode, err), elapsed_s=elapsed)


def _last_json(out: bytes) -> dict[str, Any] | None:
    for line in reversed(out.decode("utf-8", errors="replace").splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _crash_reason(path: Path, code: int, err: bytes) -> str:
    how = describe_exit(code)
    detail = crash_detail(err)
    return (
        f'The engine {how} while trying "{path.name}"{f": {detail}" if detail else ""}. '
        "The file is damaged or a variant the engine cannot run, so Hearth refused it; "
        "look for another download or a GGUF version of the model."
    )


# -- the child -------------------------------------------------------------------------------


def child_main(argv: Sequence[str] | None = None) -> int:
    """Load the file, generate two tokens, print one JSON line. Runs in the child only."""
    parser = argparse.ArgumentParser(prog="hearth-probe")
    parser.add_argument("path", type=Path)
    parser.add_argument("--ctx", type=int, default=PROBE_CONTEXT)
    parser.add_argument("--model-type", default=None)
    args = parser.parse_args(argv)
    result = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # engines' prints must not mix with the result line
    sys.stdout = sys.stderr
    try:
        report, code = _try_model(args.path, args.ctx, args.model_type), 0
    except HearthError as exc:
        report, code = {"ok": False, "reason": str(exc)}, _EXIT_REFUSED
    except Exception as exc:  # an engine bug: report it rather than a traceback only
        reason = (
            f'The engine failed on "{args.path.name}" with an unexpected error ({exc!r}); '
            "Hearth refused the file."
        )
        report, code = {"ok": False, "reason": reason}, _EXIT_BUG
    result.write(json.dumps(report) + "\n")
    result.flush()
    return code


def _try_model(path: Path, n_ctx: int, model_type: str | None) -> dict[str, Any]:
    from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
    from desktop.inference.engine import CancelToken
    from desktop.inference.registry import EngineRegistry

    registry = EngineRegistry(model_type_hint=model_type)
    info = registry.inspect(path)
    engine = registry.create_engine(path)
    start = time.perf_counter()
    n_ctx = min(n_ctx, info.context_length or n_ctx)
    engine.load(path, LoadOptions(n_ctx=n_ctx, n_threads=min(2, os.cpu_count() or 1)))
    load_s = time.perf_counter() - start
    # Loading tried the model's chat template (within its limits) here, in the child.
    note = engine.template_note
    try:
        params = GenerationParams(max_tokens=2, temperature=0.0, seed=1)
        tokens = 0
        # With a system prompt, as Hearth always sends one.
        hello = [ChatMessage("system", "You are helpful."), ChatMessage("user", "Hello")]
        for piece in engine.stream(hello, params, CancelToken()):
            tokens += 1 if piece else 0
    finally:
        engine.close()
    return {
        "ok": True,
        "engine": engine.info.name,
        "load_s": load_s,
        "tokens": tokens,
        "template_note": note,
    }


if __name__ == "__main__":
    sys.exit(child_main())
