"""Long conversations in the real window: does a chat's length slow Hearth down?

Makes data dirs holding one conversation of 50, 500 and 5,000 messages (each reply a short
list, a code block and a small table; see `chat_fixture.py`), plus an empty one, and runs
the real app (`desktop.app.main`, no model) in fresh subprocesses, the sizes interleaved,
several runs, medians:

- start: from process start to a usable window with that conversation reopened (the window
  shown and five passes of the event loop done, i.e. laid out and painted), and the same
  for the empty store (target: 5,000 messages within 150 ms of empty);
- open: a new chat, then the conversation chosen in the sidebar, until the event loop has
  made five passes (target < 150 ms);
- scroll: Page Up from the bottom to the top, one page per frame (older pages of the
  conversation are read from the store on the way, as the view asks for them); frames over
  16 ms and the slowest frame (target: none over 50 ms); "read" is how many messages the
  view held after opening and after the scroll;
- memory: the process's RSS after the scroll, against the empty store's (target: < 30 MB
  more at 5,000 messages).

    python packaging/bench/bench_chat_view.py [--sizes 50 500 5000] [--runs 3]
        [--platform offscreen|xcb] [--root /tmp/hearth-bench-chat] [--before DIR] [--json]

`--before DIR` also runs another checkout's code (e.g. the previous version) on the same
data dirs, interleaved with this one, for a before/after table. `--platform xcb` needs a
display (e.g. Xvfb) in `DISPLAY`.
The machine's load makes single numbers noisy: compare medians measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_fixture import BENCH_KEY, ROOT, make_data_dir, run_driver

DRIVER = textwrap.dedent("""
    import json, os, sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import desktop.app
    start_wall, conversation_id, max_frames = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    result = {}
    original_exec = QApplication.exec

    def rss_kb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def passes(n, then):
        # n passes of the event loop (each zero timer runs after the previous pass)
        if n == 0:
            then()
        else:
            QTimer.singleShot(0, lambda: passes(n - 1, then))

    def window():
        return next(w for w in QApplication.topLevelWidgets() if hasattr(w, "sidebar"))

    def usable():
        result["start_s"] = time.time() - start_wall
        result["rss_start_kb"] = rss_kb()
        result["messages_shown"] = len(window().chat_view.messages())
        if conversation_id:
            window().new_chat_action.trigger()
            passes(5, open_from_sidebar)
        else:
            finish()

    def open_from_sidebar():
        w = window()
        began = time.perf_counter()
        w.sidebar.conversation_selected.emit(conversation_id)
        passes(5, lambda: opened(began))

    def opened(began):
        result["open_s"] = time.perf_counter() - began
        result["messages_opened"] = len(window().chat_view.messages())
        bar = window().chat_view.verticalScrollBar()
        result["frames"] = []
        step(bar)

    def step(bar):
        # one page up per frame, until the top (or max_frames)
        frames = result["frames"]
        value = bar.value()
        if value <= 0 or len(frames) >= max_frames:
            result["scroll_top_reached"] = value <= 0
            finish()
            return
        t = time.perf_counter()
        bar.setValue(value - bar.pageStep())
        QApplication.processEvents()
        window().chat_view.viewport().repaint()
        frames.append(time.perf_counter() - t)
        QTimer.singleShot(0, lambda: step(bar))

    def finish():
        QApplication.processEvents()
        result["rss_end_kb"] = rss_kb()
        result["messages_end"] = len(window().chat_view.messages())
        result["widgets"] = len(QApplication.allWidgets())
        QApplication.quit()

    def patched_exec(*_args):
        QTimer.singleShot(0, lambda: passes(4, usable))
        return original_exec()

    QApplication.exec = patched_exec
    key = bytes.fromhex(os.environ["HEARTH_BENCH_KEY"])
    opener = desktop.app.open_and_migrate

    def open_with_bench_key(path, *_args, backup_dir=None, **_kwargs):
        return opener(path, key, backup_dir=backup_dir)

    desktop.app.open_and_migrate = open_with_bench_key
    if hasattr(desktop.app, "unlock_store"):
        desktop.app.unlock_store = lambda paths, *_a: desktop.app.OpenedStore(
            *desktop.app.open_store(paths))
    code = desktop.app.main(["--data-dir", sys.argv[1], "--model", "/nonexistent/model.gguf"])
    result["exit_code"] = code
    result["code"] = desktop.app.__file__
    print("RESULT " + json.dumps(result))
""")


def run_app(
    code_dir: Path, data_dir: Path, conversation_id: int, platform: str, max_frames: int
) -> dict[str, Any]:
    args = [str(data_dir), repr(time.time()), str(conversation_id), str(max_frames)]
    env = {"QT_QPA_PLATFORM": platform, "HEARTH_BENCH_KEY": BENCH_KEY.hex()}
    return run_driver(DRIVER, args, code_dir, env, timeout_s=900)


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    frames = [f for s in samples for f in s.get("frames", [])]
    return {
        "start_ms": statistics.median(s["start_s"] for s in samples) * 1000,
        "open_ms": statistics.median(s["open_s"] for s in samples) * 1000
        if "open_s" in samples[0]
        else None,
        "rss_start_mb": statistics.median(s["rss_start_kb"] for s in samples) / 1024,
        "rss_end_mb": statistics.median(s["rss_end_kb"] for s in samples) / 1024,
        "frames": len(frames) // len(samples),
        "frames_over_16ms": sum(f > 0.016 for f in frames) / len(samples),
        "max_frame_ms": max(frames) * 1000 if frames else None,
        "p99_frame_ms": sorted(frames)[int(0.99 * (len(frames) - 1))] * 1000 if frames else None,
        "top_reached": all(s.get("scroll_top_reached", True) for s in samples),
        "widgets": statistics.median(s["widgets"] for s in samples),
        "messages_shown": samples[0]["messages_shown"],
        "messages_opened": samples[0].get("messages_opened"),
        "messages_end": samples[0].get("messages_end"),
    }


def report(results: dict[str, dict[str, Any]], platform: str, runs: int) -> str:
    empty = results["0"]
    lines = [
        f"chat view, {platform}, medians of {runs} runs (start and memory against the empty store)",
        "| messages | start | start − empty | open from sidebar | scroll frames > 16 ms "
        "| slowest frame | RSS − empty | widgets | read: open → end of scroll |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, got in results.items():
        if size == "0":
            continue
        over = f"{got['frames_over_16ms']:.0f} of {got['frames']}"
        over += "" if got["top_reached"] else " (top not reached)"
        lines.append(
            f"| {int(size):,} | {got['start_ms']:.0f} ms "
            f"| {got['start_ms'] - empty['start_ms']:+.0f} ms "
            f"| {got['open_ms']:.0f} ms | {over} "
            f"| {got['max_frame_ms']:.0f} ms "
            f"| {got['rss_end_mb'] - empty['rss_end_mb']:+.0f} MB | {got['widgets']:.0f} "
            f"| {got['messages_opened'] or 0:,} → {got['messages_end'] or 0:,} |"
        )
    lines.append(f"empty store: start {empty['start_ms']:.0f} ms, RSS {empty['rss_end_mb']:.0f} MB")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--platform", default="offscreen")
    parser.add_argument("--root", type=Path, default=Path("/tmp/hearth-bench-chat"))
    parser.add_argument(
        "--before", type=Path, help="another checkout, measured interleaved (before/after)"
    )
    parser.add_argument(
        "--before-up-to", type=int, default=500, help="largest size to run the before code on"
    )
    parser.add_argument("--max-frames", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    dirs = {"0": (args.root / "empty", 0)}
    for size in args.sizes:
        data_dir = args.root / f"chat-{size}"
        dirs[str(size)] = (data_dir, make_data_dir(data_dir, size))
    make_data_dir(dirs["0"][0], 0)
    codes = {"after": ROOT, **({"before": args.before} if args.before else {})}
    samples = {(code, name): [] for code in codes for name in dirs}
    for run in range(args.runs + 1):
        for name, (data_dir, conversation_id) in dirs.items():
            for code, code_dir in codes.items():
                if code == "before" and int(name) > args.before_up_to:
                    continue
                got = run_app(code_dir, data_dir, conversation_id, args.platform, args.max_frames)
                if run > 0:  # the first round warms the OS file cache
                    samples[code, name].append(got)
                frames = got.get("frames", [])
                print(
                    f"run {run} {code} {name}: start {got['start_s'] * 1000:.0f} ms, "
                    f"open {got.get('open_s', 0) * 1000:.0f} ms, {len(frames)} frames, "
                    f"slowest {max(frames, default=0) * 1000:.0f} ms, "
                    f"RSS {got['rss_end_kb'] / 1024:.0f} MB ({got['code']})",
                    file=sys.stderr,
                )
    for code in codes:
        results = {name: summarise(samples[code, name]) for name in dirs if samples[code, name]}
        if args.json:
            print(json.dumps(results, indent=2))
        print(f"\n{code} ({codes[code]})")
        print(report(results, args.platform, args.runs))


if __name__ == "__main__":
    main()
