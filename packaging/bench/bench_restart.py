"""A long conversation reopened after a restart: how long until the first word, with its
model state kept on disk (encrypted) and without; what keeping it costs.

Each round runs the real engine host (`HostedEngine`, a child process) with the built-in
model, 2 threads: a first Hearth session answers chat A (a first message of about
`--tokens` tokens) and quits; the time `close()` takes right after the reply (the state
still being written) is the quit time. Then, as after a restart, two new engine hosts load
the model, one finding A's state on disk ("warm"), one with no states ("cold"), in
alternating order, and answer A's next question; the time to its first token and the tokens
llama.cpp evaluated are printed, and each one's quit time (the cold one writes nothing: the
baseline). The state's size and write time come from the engine
host's log. Medians of `--rounds`.

    python packaging/bench/bench_restart.py [--rounds 3] [--tokens 1500]
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT  # noqa: E402
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions  # noqa: E402
from desktop.inference.embedded import find_embedded_model  # noqa: E402
from desktop.inference.engine import CancelToken  # noqa: E402
from desktop.inference.host.client import HostedEngine  # noqa: E402
from desktop.inference.kv_disk import DiskStatesConfig, label_for, states_key  # noqa: E402

OPTIONS = LoadOptions(n_ctx=4096, n_threads=2)
PARAMS = GenerationParams(max_tokens=16, temperature=0.0, seed=1, state_label=label_for(1))
WRITE_LINE = re.compile(r"kept a conversation state: (\d+) tokens, ([\d.]+) MB in (\d+) ms")


class _Writes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = WRITE_LINE.search(record.getMessage())
        if found:
            self.seen.append((float(found.group(2)), float(found.group(3))))


def turn(engine: HostedEngine, messages: list[ChatMessage]) -> tuple[str, float, int]:
    started, first = time.perf_counter(), 0.0
    pieces: list[str] = []
    for piece in engine.stream(messages, PARAMS, CancelToken()):
        if not pieces:
            first = time.perf_counter() - started
        pieces.append(piece)
    usage = engine.usage
    return "".join(pieces), first, usage.prompt_tokens - usage.cached_tokens


def one_round(tokens: int, folder: Path, warm_first: bool, writes: _Writes) -> dict[str, Any]:
    model = find_embedded_model()
    config = DiskStatesConfig(folder, states_key(bytes(range(32))), 1 << 30)
    words = tokens * 9 // 16
    notes = " ".join(f"Room {n} is on floor {n % 9}." for n in range(words // 6))
    chat = [
        ChatMessage("system", DEFAULT_SYSTEM_PROMPT),
        ChatMessage("user", notes + " Which floor is room 3 on?"),
    ]
    first = HostedEngine(disk_states=lambda: config)
    first.load(model, OPTIONS)
    answer, _, _ = turn(first, chat)
    prompt = first.usage.prompt_tokens
    started = time.perf_counter()
    first.close()  # quitting at once: the state is still being written
    quit_s = time.perf_counter() - started
    chat += [ChatMessage("assistant", answer), ChatMessage("user", "And room 12?")]
    result: dict[str, Any] = {"prompt": prompt, "quit_s": quit_s}
    for name in ("warm", "cold") if warm_first else ("cold", "warm"):
        engine = HostedEngine(disk_states=(lambda: config) if name == "warm" else None)
        engine.load(model, OPTIONS)
        _, ttft, evaluated = turn(engine, chat)
        started = time.perf_counter()
        engine.close()  # warm: the longer state is being written; cold: nothing to write
        result[name] = {"ttft_s": ttft, "evaluated": evaluated}
        result[name]["quit_s"] = time.perf_counter() - started
    result["file_mb"], result["write_ms"] = writes.seen[0] if writes.seen else (0.0, 0.0)
    writes.seen.clear()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=1500)
    args = parser.parse_args()
    writes = _Writes()
    child_log = logging.getLogger("hearth.host.child")
    child_log.setLevel(logging.DEBUG)
    child_log.addHandler(writes)
    rounds = []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="hearth-restart-") as folder:
            got = one_round(args.tokens, Path(folder), number % 2 == 0, writes)
        rounds.append(got)
        print(
            f"round {number + 1}: warm {got['warm']['ttft_s'] * 1000:.0f} ms "
            f"({got['warm']['evaluated']}), cold {got['cold']['ttft_s'] * 1000:.0f} ms "
            f"({got['cold']['evaluated']}), quit {got['quit_s'] * 1000:.0f} ms, "
            f"write {got['write_ms']:.0f} ms, {got['file_mb']:.1f} MB",
            file=sys.stderr,
        )

    def median(pick: Any) -> float:
        return float(statistics.median(pick(r) for r in rounds))

    print(f"built-in model, 2 threads, medians of {args.rounds} rounds")
    print(f"chat A's prompt: {median(lambda r: r['prompt']):.0f} tokens")
    print("| after a restart | first token | tokens evaluated |")
    print("|---|---|---|")
    for name in ("warm", "cold"):
        ttft = median(lambda r, n=name: r[n]["ttft_s"]) * 1000
        evaluated = median(lambda r, n=name: r[n]["evaluated"])
        label = "state kept on disk" if name == "warm" else "evaluated again"
        print(f"| {label} | {ttft:.0f} ms | {evaluated:.0f} |")
    print(
        f"state file {median(lambda r: r['file_mb']):.1f} MB, written (encrypted) in "
        f"{median(lambda r: r['write_ms']):.0f} ms on the engine host's writer thread; "
        f"quit right after the reply {median(lambda r: r['quit_s']) * 1000:.0f} ms "
        f"(after the restarted chat's reply: {median(lambda r: r['warm']['quit_s']) * 1000:.0f} "
        f"ms; with no states kept: {median(lambda r: r['cold']['quit_s']) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
