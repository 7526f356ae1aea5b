"""`hearth ask` as whole processes against a plain llama-cpp-python script, interleaved.

Each round runs, in a rotating order, as new processes:
- a plain script that loads the built-in model with llama-cpp-python and answers the
  question with `create_chat_completion` (same file, threads, context and system prompt as
  Hearth's general assistant: without one, llama-cpp-python's rendering of this model's
  template gets no sensible answer);
- `hearth ask --no-save` and `hearth ask` (saving, in a passphrase-protected store:
  `HEARTH_PASSPHRASE`, no keychain, as the test suite runs it);
- `hearth --version` and `hearth --help`.
One warm-up round first (it creates the store and Hearth's cache), then `--runs` rounds;
prints the medians of wall and CPU time (user + system, child processes included) and the
ratio of each to the plain script, as a Markdown table, with
the load average before and after (other programs on the machine skew every figure: the
ratios, measured side by side, skew least). `--before DIR` adds the same `hearth` commands
run from another source tree (say, an older version unpacked with `git archive`), in the
same rounds, with its own data folder.

    python packaging/bench/bench_ask.py [--runs 5] [--threads 2] [--tokens 24] [--before DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from desktop.inference.embedded import find_embedded_model
from desktop.storage.assistants import builtin_assistants_dir

QUESTION = "What is the capital of France?"
CONTEXT = 4096  # what Hearth gives the built-in model by default

PLAIN = """
import sys
from llama_cpp import Llama

path, threads, tokens, n_ctx, system, question = sys.argv[1:]
llm = Llama(model_path=path, n_ctx=int(n_ctx), n_threads=int(threads),
            n_threads_batch=int(threads), verbose=False)
messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
reply = llm.create_chat_completion(messages=messages, max_tokens=int(tokens), temperature=0.0)
print(reply["choices"][0]["message"]["content"])
"""


#: What the `hearth` console script runs, for a source tree put first on PYTHONPATH.
ENTRY = "import sys; from desktop.__main__ import main; sys.exit(main())"


def hearth_command() -> list[str]:
    """The `hearth` script beside this interpreter, as a person runs it; else the same code."""
    script = Path(sys.executable).with_name("hearth")
    return [str(script)] if script.is_file() else [sys.executable, "-c", ENTRY]


def commands(
    args: argparse.Namespace, model: Path, env: dict[str, str]
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each row's command line and environment."""
    plain = [sys.executable, "-c", PLAIN, str(model), str(args.threads), str(args.tokens)]
    system = json.loads((builtin_assistants_dir() / "general.json").read_text())["system_prompt"]
    rows = {"plain llama-cpp-python script": ([*plain, str(CONTEXT), system, QUESTION], env)}
    trees = [("", hearth_command(), env)]
    if args.before is not None:
        before_env = {
            **env,
            "PYTHONPATH": str(Path(args.before).resolve()),
            "HEARTH_DATA_DIR": env["HEARTH_DATA_DIR"] + "-before",
        }
        trees.insert(0, (" (before)", [sys.executable, "-c", ENTRY], before_env))
    for label, hearth, tree_env in trees:
        ask = [*hearth, "ask", "--threads", str(args.threads), "--max-tokens", str(args.tokens)]
        ask += ["--temperature", "0"]
        rows[f"`hearth ask --no-save …`{label}"] = ([*ask, "--no-save", QUESTION], tree_env)
        rows[f"`hearth ask …` (saving, passphrase store){label}"] = ([*ask, QUESTION], tree_env)
    for label, hearth, tree_env in trees:
        rows[f"`hearth --version`{label}"] = ([*hearth, "--version"], tree_env)
        rows[f"`hearth --help`{label}"] = ([*hearth, "--help"], tree_env)
    return rows


#: prctl option: orphaned descendants are re-parented to this process (Linux 3.4+).
PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    """Processes left behind by a command (`hearth ask` does not wait for its engine host
    to end once it has answered) become this script's children, so their CPU time is
    counted (Linux; elsewhere they are not counted)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _reap_orphans() -> None:
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall time and the CPU time (user + system, the engine host's included) of a run.

    It runs in its data folder: `python -c` would import the source tree of the working
    folder before the one on PYTHONPATH."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, env=env, cwd=env["HEARTH_DATA_DIR"], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    _reap_orphans()  # an engine host still ending after its command: its CPU counts too
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])}... failed ({done.returncode}): {done.stderr}")
    answers = QUESTION in command
    if answers and "Paris" not in done.stdout:
        raise SystemExit(f"unexpected answer from {command[:3]}: {done.stdout!r}")
    return wall, cpu


def main() -> None:
    _become_subreaper()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--before", type=Path, help="another source tree to compare with")
    args = parser.parse_args()
    model = find_embedded_model()
    data_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-ask-"))
    Path(f"{data_dir}-before").mkdir()  # also each run's working folder: `-c` puts it first
    env = {
        **os.environ,
        "HEARTH_DATA_DIR": str(data_dir),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "HEARTH_PASSPHRASE": "bench passphrase, not a secret",
    }
    todo = commands(args, model, env)
    names = list(todo)
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    load_before = os.getloadavg()[0]
    try:
        for name in names:  # warm-up: the store, Hearth's cache, the page cache
            run_once(*todo[name])
        for round_no in range(args.runs):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                wall, cpu = run_once(*todo[name])
                walls[name].append(wall)
                cpus[name].append(cpu)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(f"{data_dir}-before", ignore_errors=True)
    load_after = os.getloadavg()[0]
    plain = statistics.median(walls[names[0]])
    plain_cpu = statistics.median(cpus[names[0]])
    print(
        f"built-in model {model.name}, {args.threads} threads, {args.tokens} tokens, "
        f"temperature 0, context {CONTEXT}; {args.runs} interleaved runs after a warm-up, "
        f"medians; load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print()
    print("| command | wall (median) | min – max | ratio | CPU (median) | CPU ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        median, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        low, high = min(walls[name]), max(walls[name])
        print(
            f"| {name} | {median:.2f} s | {low:.2f} – {high:.2f} s | {median / plain:.2f}× "
            f"| {cpu:.2f} s | {cpu / plain_cpu:.2f}× |"
        )


if __name__ == "__main__":
    main()
