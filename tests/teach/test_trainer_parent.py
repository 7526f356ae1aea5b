"""A training child does not outlive the window or command that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

PARENT = textwrap.dedent(
    """
    import sys
    from desktop.teach.trainer import TeachJob, Trainer

    # The child: reads its job and guards itself like the training child, then "trains".
    child = ("import sys, time; sys.stdin.readline(); "
             "from desktop.teach.train_child import end_with_parent; end_with_parent(); "
             "time.sleep(120)")
    job = TeachJob(base="model.gguf", out="adapter.gguf", name="t", examples=[], held_out=[])
    Trainer([sys.executable, "-c", child]).run(
        job, lambda event: None, started=lambda process: print(process.pid, flush=True)
    )
    """
)


@pytest.mark.parametrize("paused", [False, True])
def test_a_killed_parent_ends_its_training_child(paused: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, env=env, cwd=ROOT
    )
    try:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        time.sleep(1.0)  # the child has read its job and watches its parent
        assert child.is_running() and child.status() != psutil.STATUS_ZOMBIE
        if paused:
            os.killpg(child.pid, signal.SIGSTOP)  # Pause, as the Teach page does
        parent.kill()
        parent.wait(timeout=10)
        gone, _alive = psutil.wait_procs([child], timeout=10)
        assert gone, "the training child outlived its parent"
    finally:
        parent.kill()
        parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()
