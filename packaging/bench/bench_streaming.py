"""Does the window stream at the engine's speed? The real window against llama-cpp-python.

Each round runs in a fresh process (offscreen) and, on the same prompt, interleaved:
- raw: llama-cpp-python's own `create_chat_completion(stream=True)` on the built-in model;
- app: the real window pipeline: `ChatController` + the inference worker thread +
  `MainWindow`/`ChatView`, the question sent as a user would; tokens/s from the engine's
  statistics, plus the GUI thread's stalls (how late a 10 ms timer fires: a probe that
  wakes the GUI thread 100 times a second, itself a small load) and its CPU time.
Greedy decoding with the same sampling settings on both sides, 2 threads, replies of up
to 400 and 1,000 tokens of Markdown with code. Prints per-round numbers and medians; the
ratio is taken within each round (app / raw) before the median.

    python packaging/bench/bench_streaming.py [--rounds 3] [--tokens 400 1000]
        [--threads 2] [--before DIR]

`--before DIR` also runs another checkout's window code, alternating rounds with this one.
The machine's load makes single numbers noisy: compare the ratios, medians of >= 3 rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import textwrap
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_fixture import ROOT, run_driver

QUESTION = (
    "Write a long Markdown tutorial about reading CSV files in Python: headings, bullet "
    "lists, a table of options, and several Python code blocks with comments."
)

DRIVER = textwrap.dedent("""
    import json, sys, time
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication
    import llama_cpp
    from desktop.app import make_engine_factory
    from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
    from desktop.core.types import GenerationParams, LoadOptions
    from desktop.inference.embedded import find_embedded_model
    from desktop.ui.shell.app_window import build_main_window
    from desktop.ui.chat.bubble import MessageBubble
    from desktop.ui.chat.controller import ChatController
    from desktop.ui.chat.worker import InferenceThread

    question, threads, lengths = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    PROBE_MS = 10
    app = QApplication([])
    path = find_embedded_model()
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(inference, system_prompt=DEFAULT_SYSTEM_PROMPT)
    window = build_main_window(controller)
    window.resize(1100, 800)
    window.show()

    def wait_for(signal, timeout_s=600):
        # a real event loop (a polling loop would itself load the GUI thread)
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_s * 1000, loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)

    controller.load_model(path, LoadOptions(n_ctx=4096, n_threads=threads))
    wait_for(controller.model_ready_changed)
    assert controller.model_ready
    raw = llama_cpp.Llama(model_path=str(path), n_ctx=4096, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
    sampling = dict(temperature=0.0, top_p=0.95, top_k=40, min_p=0.05, repeat_penalty=1.0)
    messages = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
                {"role": "user", "content": question}]

    def run_raw(max_tokens):
        start, first, count = time.perf_counter(), None, 0
        for chunk in raw.create_chat_completion(messages, max_tokens=max_tokens, seed=1,
                                                stream=True, **sampling):
            if chunk["choices"][0]["delta"].get("content"):
                if first is None:
                    first = time.perf_counter()
                count += 1
        total = time.perf_counter() - start
        return {"tokens": count, "tok_s": (count - 1) / (start + total - first)}

    def run_app(max_tokens):
        controller.new_conversation()
        controller.params = GenerationParams(max_tokens=max_tokens, seed=1, **sampling)
        ended = []
        controller.generation_ended.connect(ended.append)
        lateness, timer, clock = [], QTimer(), QElapsedTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        clock.start()
        last = [clock.nsecsElapsed()]

        def tick():
            now = clock.nsecsElapsed()
            lateness.append(max(0.0, (now - last[0]) / 1e6 - PROBE_MS))
            last[0] = now

        timer.timeout.connect(tick)
        timer.start(PROBE_MS)
        frames = [0]
        shown_text = MessageBubble.set_streaming_text  # counted: each frame of the reply

        def counted(bubble, text):
            frames[0] += 1
            shown_text(bubble, text)

        MessageBubble.set_streaming_text = counted
        cpu = time.thread_time()
        controller.send(question)
        wait_for(controller.generation_ended)
        cpu = time.thread_time() - cpu
        timer.stop()
        MessageBubble.set_streaming_text = shown_text
        controller.generation_ended.disconnect(ended.append)
        stats = ended[0]
        shown = window.chat_view.messages()[-1][1]
        lateness.sort()
        return {"tokens": stats.generated_tokens, "tok_s": stats.tokens_per_s,
                "stall_p99_ms": lateness[int(0.99 * (len(lateness) - 1))],
                "stall_max_ms": lateness[-1], "gui_cpu_s": cpu,
                "stream_s": stats.total_s, "shown_chars": len(shown),
                "fps": frames[0] / stats.total_s}

    run_raw(16)  # warm both paths (first-call allocations)
    run_app(16)
    result = {}
    for n in lengths:
        result[str(n)] = {"raw": run_raw(n), "app": run_app(n)}
    inference.stop()
    raw.close()
    print("RESULT " + json.dumps(result))
""")


def run_round(code_dir: Path, threads: int, lengths: list[int]) -> dict[str, Any]:
    args = [QUESTION, str(threads), json.dumps(lengths)]
    return run_driver(DRIVER, args, code_dir, {"QT_QPA_PLATFORM": "offscreen"}, timeout_s=1800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, nargs="+", default=[400, 1000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--before", type=Path, help="another checkout, alternating rounds")
    args = parser.parse_args()
    codes = {"after": ROOT, **({"before": args.before} if args.before else {})}
    rounds: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    for number in range(args.rounds):
        for code, code_dir in codes.items():
            got = run_round(code_dir, args.threads, args.tokens)
            rounds[code].append(got)
            for n, pair in got.items():
                app, raw = pair["app"], pair["raw"]
                print(
                    f"round {number + 1} {code} {n}: app {app['tok_s']:.1f} tok/s "
                    f"({app['tokens']} tokens), raw {raw['tok_s']:.1f} ({raw['tokens']}), "
                    f"ratio {app['tok_s'] / raw['tok_s']:.3f}, stall p99 "
                    f"{app['stall_p99_ms']:.1f} ms, GUI CPU {app['gui_cpu_s']:.2f} s "
                    f"of {app['stream_s']:.1f} s, {app.get('fps', 0):.1f} frames/s",
                    file=sys.stderr,
                )
    print(f"built-in model, {args.threads} threads, medians of {args.rounds} rounds")
    print(
        "| code | max tokens | tokens | app tok/s | raw tok/s | app / raw | stall p99 "
        "| stall max | GUI CPU / stream | frames/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for code, got in rounds.items():
        for n in map(str, args.tokens):

            def med(side: str, key: str, n: str = n, got: list[dict[str, Any]] = got) -> float:
                return statistics.median(r[n][side][key] for r in got)

            ratio = statistics.median(r[n]["app"]["tok_s"] / r[n]["raw"]["tok_s"] for r in got)
            cpu_share = statistics.median(
                r[n]["app"]["gui_cpu_s"] / r[n]["app"]["stream_s"] for r in got
            )
            print(
                f"| {code} | {n} | {med('app', 'tokens'):.0f} | {med('app', 'tok_s'):.1f} "
                f"| {med('raw', 'tok_s'):.1f} | {ratio:.3f} | {med('app', 'stall_p99_ms'):.1f} ms "
                f"| {med('app', 'stall_max_ms'):.0f} ms | {cpu_share:.0%} "
                f"| {med('app', 'fps'):.1f} |"
            )


if __name__ == "__main__":
    main()
