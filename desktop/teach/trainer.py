"""Running a teaching job: the training child process, its events, and what it needs.

Teaching is an optional component (`pip install "hearth[teach]"`: torch for the CPU,
transformers, peft): `missing_component()` says what is missing, in a sentence with the
command that adds it. `Trainer.run` starts `desktop.teach.train_child` in a process of its
own (torch never loads into Hearth's), sends the job, passes each event to `on_event`, and
returns the final one; a crash, a refusal or a cancel raises `TeachError` and leaves no
adapter file behind. The adapter is written to a private temporary folder that the caller
removes once it has kept the adapter (in the encrypted store).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.errors import HearthError
from desktop.core.files import private_temp_folder
from desktop.inference.child_process import child_env, group_kwargs, kill_group
from desktop.teach.addon import CHILD, INDEX, addon_env, addon_python, how_to_add
from desktop.teach.examples import Example
from desktop.teach.export import TARGETS

log = logging.getLogger(__name__)

COMPONENT = ("torch", "transformers", "peft")
INSTALL = 'pip install "hearth[teach]" --extra-index-url https://download.pytorch.org/whl/cpu'
#: Seconds of training per example token (as `plan.approx_tokens` counts them) and epoch on
#: 2 threads with the built-in 135M model, plus loading the model into transformers, answering
#: the anchor prompts and the checks at the end (`LOAD_S`): the estimate shown before
#: training. Measured on 2 free cores: 100 examples, 2 epochs: 55 s of training for ~2,480
#: tokens (0.0112 s a token and epoch), 103 s in all; 1,000 examples, 1 epoch: 191 s for
#: ~16,150 (0.0118), 249 s in all. A busy machine takes several times longer; so does a
#: bigger model.
SECONDS_PER_TOKEN = 0.0117
LOAD_S = 45.0


class TeachError(HearthError):
    """Teaching could not start or did not finish; the sentence says why."""


def missing_component(data_dir: Path | None = None) -> str | None:
    """Why teaching cannot run here (None: it can). The packaged app teaches with its
    add-on (see `desktop.teach.addon`), looked for in `data_dir` too."""
    if getattr(sys, "frozen", False):
        return None if addon_python(data_dir) is not None else how_to_add(data_dir)
    missing = [name for name in COMPONENT if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"Teaching needs the training component ({', '.join(missing)} missing). "
        f"Add it with: {INSTALL}"
    )


def anchors_file() -> Path:
    """The general prompts whose answers anchor what the model already does."""
    return Path(__file__).resolve().parents[2] / "resources" / "teach" / "anchors.txt"


def read_anchors(limit: int) -> list[str]:
    try:
        lines = anchors_file().read_text(encoding="utf-8").splitlines()
    except OSError as error:
        log.warning("no anchor prompts: %s", error)
        return []
    return [line.strip() for line in lines if line.strip()][:limit]


@dataclass
class TeachJob:
    """What the child trains. Defaults: rank 8 on the seven projections, as measured."""

    base: str
    out: str
    name: str
    examples: list[dict[str, str]]
    held_out: list[dict[str, str]]
    system: str = ""
    anchors: list[str] = field(default_factory=list)
    threads: int = 2
    epochs: int = 3
    rank: int = 8
    alpha: float = 16.0
    lr: float = 2e-3
    batch: int = 8
    part_tokens: int = 256  # padded tokens through the model at once (memory): see _step
    patience: int = 1
    targets: list[str] = field(default_factory=lambda: list(TARGETS))
    max_tokens: int = 512

    @staticmethod
    def pairs(examples: Sequence[Example]) -> list[dict[str, str]]:
        return [{"prompt": e.prompt, "answer": e.answer} for e in examples]


def estimate_seconds(tokens: int, epochs: int, threads: int) -> float:
    """About how long training takes here (loading included), from the measured rate."""
    return LOAD_S + tokens * epochs * SECONDS_PER_TOKEN * 2 / max(1, min(threads, 8))


class Trainer:
    """See the module docstring."""

    def __init__(self, command: Sequence[str] | None = None, data_dir: Path | None = None) -> None:
        self.command = list(command) if command else None
        self.data_dir = data_dir

    def _start(self) -> tuple[list[str], dict[str, str]]:
        """The child's command and environment, looked up when training starts (the add-on
        may have been added while Hearth was running)."""
        env = child_env()  # no network (HF_HUB_OFFLINE), Hearth importable
        env["TRANSFORMERS_OFFLINE"] = "1"
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        if self.command is not None:
            return self.command, env
        if not getattr(sys, "frozen", False):
            return [sys.executable, "-m", CHILD], env
        addon = addon_python(self.data_dir)
        if addon is None:
            raise TeachError(how_to_add(self.data_dir))
        return [str(addon), "-m", CHILD], addon_env(env)  # its own Python finds its own Hearth

    def run(
        self,
        job: TeachJob,
        on_event: Callable[[dict[str, Any]], None],
        cancel: threading.Event | None = None,
        started: Callable[[subprocess.Popen[bytes]], None] | None = None,
    ) -> dict[str, Any]:
        """Train `job`; `started` is given the child process (to pause it, see `pause`)."""
        cancel = cancel or threading.Event()
        command, env = self._start()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                **group_kwargs(),
            )
        except OSError as error:  # an add-on's Python that cannot run here
            raise TeachError(
                f"The training process could not start ({command[0]}: {error})."
            ) from error
        assert process.stdin is not None and process.stdout is not None
        if started is not None:
            started(process)
        tail: list[bytes] = []
        drain = threading.Thread(target=_keep_tail, args=(process.stderr, tail), daemon=True)
        drain.start()
        watcher = threading.Thread(target=_kill_on_cancel, args=(process, cancel), daemon=True)
        watcher.start()
        final: dict[str, Any] | None = None
        try:
            process.stdin.write((json.dumps(asdict(job)) + "\n").encode("utf-8"))
            process.stdin.flush()  # kept open: the child ends when it closes (we are gone)
            for line in process.stdout:
                event = json.loads(line)
                if event.get("ev") in ("done", "error"):
                    final = event
                else:
                    on_event(event)
        finally:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the child has written its last line, or must stop
            code = process.wait()  # the watcher ends with the process
            drain.join(timeout=5)
        if final is not None and final["ev"] == "done":
            return final
        Path(job.out).unlink(missing_ok=True)
        if final is not None and final.get("message") == "cancelled":
            raise TeachError("Teaching was cancelled; nothing was kept.")
        printed = b"".join(tail[-20:]).decode("utf-8", "replace")
        if missing := re.search(r"No module named '([^']+)'", printed):
            log.error("training failed: %s", printed)
            raise TeachError(  # an add-on made wrong, or a component installed in part
                f"The Python that trains ({command[0]}) has no module “{missing.group(1)}”: "
                f'install the training component there with "{command[0]}" -m pip install '
                f'"hearth[teach]" --extra-index-url {INDEX}. Nothing was kept.'
            )
        if final is not None:
            log.error("training failed: %s", printed)
            raise TeachError(f"Teaching failed: {final['message']}. Nothing was kept.")
        if cancel.is_set():
            raise TeachError("Teaching was stopped; nothing was kept.")
        detail = b"".join(tail[-5:]).decode("utf-8", "replace").strip().splitlines()[-1:]
        raise TeachError(
            f"The training process ended unexpectedly (exit {code}"
            f"{': ' + detail[0] if detail else ''}). Nothing was kept."
        )


def can_pause() -> bool:
    """Whether a training child can be paused here (POSIX: stopped and continued)."""
    return hasattr(signal, "SIGSTOP")


def pause(process: subprocess.Popen[bytes], paused: bool) -> None:
    """Stop the training child's process group (`paused`), or let it go on. The time it
    stays stopped costs nothing but its memory, which it keeps."""
    if not can_pause() or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # it has just ended
        os.killpg(process.pid, signal.SIGSTOP if paused else signal.SIGCONT)


def _keep_tail(stream: Any, tail: list[bytes]) -> None:
    for line in stream:
        tail.append(line)
        del tail[:-200]


def _kill_on_cancel(process: subprocess.Popen[bytes], cancel: threading.Event) -> None:
    while process.poll() is None:
        if cancel.wait(0.2):
            if process.poll() is None:
                kill_group(process)
            return


def private_folder() -> Path:
    """A folder only this user can open, for the adapter until it is kept in the store."""
    return private_temp_folder("teach")
