"""What one streaming frame costs the GUI thread, early and late in a long reply.

The real window (offscreen, no model) is fed a reply of Markdown with code as if it were
streaming: every 7 tokens' worth of text one frame is rendered (as the chat view does at
its frame rate) and the event loop runs until it has painted. The GUI thread's CPU time per
frame is what the model's threads lose to the window; it does not depend on the machine's
load the way wall-clock figures do. Prints the median, the mean and the last frames' cost
for a 400- and a 1,000-token reply; medians of `--runs` fresh processes.

    python packaging/bench/bench_frames.py [--runs 3] [--before DIR]

`--before DIR` runs another checkout's window code too, interleaved, for a before/after.
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

SECTION = (
    "## Step {n}: reading the file\n\n"
    "Open the file with `open()` and hand it to **csv.reader**; each row is a list:\n\n"
    "- `delimiter` sets the separator\n- `quotechar` the quote\n\n"
    "```python\nimport csv\n\nwith open('data-{n}.csv', newline='') as handle:\n"
    "    for row in csv.reader(handle):\n        print(row)\n```\n\n"
    '| option | default |\n|---|---|\n| delimiter | `,` |\n| quotechar | `"` |\n\n'
)

DRIVER = textwrap.dedent("""
    import json, statistics, sys, time
    from PySide6.QtWidgets import QApplication
    from desktop.app import make_engine_factory
    from desktop.chat.session import MessageItem
    from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
    from desktop.ui.shell.app_window import build_main_window
    from desktop.ui.chat.controller import ChatController
    from desktop.ui.chat.worker import InferenceThread

    text, lengths = sys.argv[1], json.loads(sys.argv[2])
    app = QApplication([])
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    controller = ChatController(inference, system_prompt=DEFAULT_SYSTEM_PROMPT)
    window = build_main_window(controller)
    window.resize(1100, 800)
    window.show()
    view = window.chat_view
    for _ in range(5):
        app.processEvents()
    result = {}
    for tokens in lengths:
        view.set_messages([MessageItem(1, "user", "Write a tutorial.")])
        view.append_message(MessageItem(None, "assistant", "", status="streaming"))
        for _ in range(5):
            app.processEvents()
        costs = []
        for end in range(7, tokens + 1, 7):
            started = time.thread_time()
            view._pending_text = text[: end * 4]  # about 4 characters a token
            view._render_frame()
            for _ in range(3):
                app.processEvents()
            costs.append((time.thread_time() - started) * 1000)
        view.finish_message(MessageItem(2, "assistant", text[: tokens * 4]))
        result[str(tokens)] = {
            "median": statistics.median(costs),
            "mean": statistics.fmean(costs),
            "last": statistics.median(costs[-10:]),
        }
    inference.stop()
    print("RESULT " + json.dumps(result))
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, nargs="+", default=[400, 1000])
    parser.add_argument("--before", type=Path, help="another checkout, interleaved")
    args = parser.parse_args()
    text = "".join(SECTION.format(n=n) for n in range(1, 40))
    codes = {"after": ROOT, **({"before": args.before} if args.before else {})}
    runs: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    for _ in range(args.runs):
        for code, code_dir in codes.items():
            runs[code].append(
                run_driver(
                    DRIVER,
                    [text, json.dumps(args.tokens)],
                    code_dir,
                    {"QT_QPA_PLATFORM": "offscreen"},
                    timeout_s=600,
                )
            )
    print(f"GUI-thread CPU per streaming frame (ms), medians of {args.runs} runs")
    print("| code | reply | median frame | mean frame | last 10 frames |")
    print("|---|---|---|---|---|")
    for code, got in runs.items():
        for n in map(str, args.tokens):
            med = {key: statistics.median(run[n][key] for run in got) for key in got[0][n]}
            print(
                f"| {code} | {n} tokens | {med['median']:.2f} | {med['mean']:.2f} "
                f"| {med['last']:.2f} |"
            )


if __name__ == "__main__":
    main()
