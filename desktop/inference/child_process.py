"""Starting, stopping and explaining Hearth's own child processes (model probe, engine host).

A child is this interpreter running a module (`python -m desktop.inference.probe`), or, in a
frozen build, the app's own executable with a hidden command (`Hearth __probe-model`). It is
started with `subprocess` (never a bare `fork`), so the same code works on Windows and macOS,
in its own process group, so a kill takes the engine's threads' children too.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_STDERR_KEEP = 8192
#: "/path/to/ggml.c:6110:" in an assert message: noise for the user.
_SOURCE_LOCATION = re.compile(r"\S*[/\\]\S*:\d+:?")


def child_command(module: str, frozen_command: str) -> list[str]:
    """The command line that runs `module` as a child: this interpreter or the frozen app."""
    if getattr(sys, "frozen", False):
        return [sys.executable, frozen_command]
    return [sys.executable, "-m", module]


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an engine child: no gdb on an assert, no network, Hearth importable."""
    env = dict(os.environ if base is None else base)
    env["GGML_NO_BACKTRACE"] = "1"  # ggml would otherwise run gdb on an assert: slow
    env["HF_HUB_OFFLINE"] = "1"
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def group_kwargs() -> dict[str, Any]:
    """`Popen` arguments that give the child its own process group (and no terminal Ctrl+C)."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def kill_group(child: subprocess.Popen[bytes]) -> None:
    """Kill the child (and, on POSIX, its process group) at once. Safe if it already ended."""
    try:
        if sys.platform == "win32":
            child.kill()
        else:
            os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        with contextlib.suppress(OSError):
            child.kill()


def exit_name(code: int) -> str:
    """A child's exit status in short: "SIGABRT", "signal 77", "error 0xC0000005", "exit code 3"."""
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    if code > 0xFFFF:  # Windows: an NTSTATUS such as 0xC0000005, access violation
        return f"error 0x{code:08X}"
    return f"exit code {code}"


def describe_exit(code: int) -> str:
    """How a child ended: "crashed (SIGABRT)" or "stopped unexpectedly (exit code 3)"."""
    if 0 <= code <= 0xFFFF:
        return f"stopped unexpectedly ({exit_name(code)})"
    return f"crashed ({exit_name(code)})"


def crash_detail(err: bytes) -> str:
    """The telling line of a crashed engine's stderr: its assertion or error, or ""."""
    lines = [ln.strip() for ln in err[-_STDERR_KEEP:].decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln]
    for line in reversed(lines):
        if "GGML_ASSERT" in line:
            condition = _SOURCE_LOCATION.sub("", line.split("GGML_ASSERT", 1)[1]).strip(": ")
            return f"GGML_ASSERT {condition[:160]}"
    for line in reversed(lines):
        if "what():" in line:  # an uncaught C++ exception: "what():  unordered_map::at"
            return "uncaught C++ exception: " + line.split("what():", 1)[1].strip()[:160]
    for line in reversed(lines):
        if "error" in line.lower():
            return line[:160]
    return ""
