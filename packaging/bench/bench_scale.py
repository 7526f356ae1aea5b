"""Scale benchmark of the conversation store: does a long history slow Hearth down?

Fills a data dir through the real schema with synthetic history (a Zipf-like vocabulary,
rare words planted a known number of times, user/assistant turns of varying length,
conversations of varying size, a few pinned, a few in the trash), then measures, each in
fresh subprocesses, several runs, medians:

- start-to-window: the real app (`desktop.app.main`, offscreen, no model) from process
  start and from `main()` to the window shown with its first sidebar page, on an empty
  data dir and on the filled one, without and with reopening the last conversation (so
  the cost of history is told apart from the cost of showing one chat) (target: history
  adds < 100 ms);
- the RSS of that process, empty vs filled (target: no growth with history size);
- the first sidebar page (`list_conversations(offset=0, limit=50)`) in a fresh process;
- search latency p50/p95 for common words, rare words, multi-word queries and short
  prefixes (target: p95 < 50 ms).

    python packaging/bench/bench_scale.py [--data-dir DIR] [--conversations 10000]
        [--messages 1000000] [--runs 5] [--json]

The store is encrypted (SQLCipher, a fixed bench key) like the product's; the subprocess
hands the app that key instead of running its unlock flow (keychain or passphrase), whose
cost does not depend on the history. A filled dir is reused when its `bench-scale.json`
matches the requested size; a dir holding a database that this script did not make is
refused, never overwritten. Filling 10k/1M takes about 4 minutes and 700 MB of disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlcipher3 import dbapi2 as sqlcipher  # noqa: E402

from desktop.paths import AppPaths  # noqa: E402
from desktop.storage.conversations import derive_title, to_db_time  # noqa: E402
from desktop.storage.migrations import SCHEMA_VERSION, open_and_migrate  # noqa: E402

FILL_FORMAT = 2
#: The bench store is encrypted like the product's; the app is handed this key directly.
BENCH_KEY = bytes(range(32))
SEED = 20240611
MARKER = "bench-scale.json"
_COMMON_TEXT = (
    "the to and of a in is you that it for this with on be can are as have not or your an "
    "if will do at from by use but more so we what how which like when one there file data "
    "code function python value time make need example also then should other some would "
    "first way these into using set list new return string error test work project model "
    "system user see because just only each type number line name run change check about "
    "where want sure here help thanks question answer text output input version problem "
    "server memory image table query script create update build class method object key"
)
COMMON = _COMMON_TEXT.split(" ")
RARE = {"quokkaberry": 3, "zanzibarite": 12, "fluxonium": 40, "marmalux": 120}
_SYLLABLE_TEXT = "ka lo mi nu pe ra si to vu xe ban cor dil fen gor hul jis kem lun mor"
SYLLABLES = _SYLLABLE_TEXT.split(" ")
QUERIES: dict[str, list[str]] = {
    "common word": [
        "the",
        "and",
        "python",
        "code",
        "error",
        "data",
        "function",
        "memory",
        "question",
        "table",
        "script",
        "server",
        "thanks",
        "example",
        "return",
    ],
    "rare word": [*RARE, "xylophonequartz", "kalomi", "banfen", "gorhul"],
    "multi-word": [
        "the code",
        "python error",
        "data table",
        "how to use",
        "file not found",
        "the and of",
        "memory fluxonium",
        "server quokkaberry",
        "thanks for the help",
        "example python function",
        "return value",
        "user input string",
    ],
    "short prefix": [
        "a",
        "t",
        "s",
        "th",
        "co",
        "pr",
        "wh",
        "the",
        "pro",
        "fun",
        "ser",
        "mem",
        "th co",
        "a b",
    ],
}


@dataclass(frozen=True)
class FillSpec:
    conversations: int
    messages: int

    def marker(self) -> dict[str, Any]:
        return {
            "format": FILL_FORMAT,
            "seed": SEED,
            "encrypted": True,
            "conversations": self.conversations,
            "messages": self.messages,
            "rare": RARE,
        }


def vocabulary(rng: random.Random, size: int = 30000) -> tuple[list[str], list[float]]:
    """Words by rank (common English first, then made-up ones) and Zipf cumulative weights."""
    words = list(COMMON)
    seen = set(words) | set(RARE)
    while len(words) < size:
        word = "".join(rng.choices(SYLLABLES, k=rng.choice((2, 2, 3, 3, 4))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    total, cumulative = 0.0, []
    for rank in range(1, size + 1):
        total += 1.0 / rank**1.05
        cumulative.append(total)
    return words, cumulative


def message_counts(rng: random.Random, spec: FillSpec) -> list[int]:
    """Messages per conversation: mostly short chats, a long tail; summing to spec.messages."""
    mean = spec.messages / spec.conversations
    raw = [rng.lognormvariate(0, 1.0) for _ in range(spec.conversations)]
    scale = mean / (sum(raw) / len(raw))
    counts = [max(1, round(value * scale)) for value in raw]
    index = 0
    while (diff := spec.messages - sum(counts)) != 0:
        step = 1 if diff > 0 else -1
        if step > 0 or counts[index % len(counts)] > 1:
            counts[index % len(counts)] += step
        index += 1
    return counts


def make_text(rng: random.Random, words: list[str], cumulative: list[float], n: int) -> str:
    picked = rng.choices(words, cum_weights=cumulative, k=n)
    sentences = []
    for start in range(0, n, 12):
        chunk = picked[start : start + 12]
        sentences.append(chunk[0].capitalize() + " " + " ".join(chunk[1:]))
    return ". ".join(sentences).strip() + "."


def plant_positions(rng: random.Random, counts: list[int], trashed: set[int]) -> dict[int, str]:
    """Message index -> rare word, only in conversations outside the trash."""
    eligible: list[int] = []
    offset = 0
    for conv, count in enumerate(counts):
        if conv not in trashed:
            eligible.extend(range(offset, offset + count))
        offset += count
    chosen = rng.sample(eligible, sum(RARE.values()))
    words = [word for word, times in RARE.items() for _ in range(times)]
    return dict(zip(chosen, words, strict=True))


def fill(db_path: Path, spec: FillSpec) -> None:
    """Create the schema with the real migrations, then write the synthetic history in
    batches of `executemany`, each batch one transaction (the FTS triggers index it)."""
    rng = random.Random(SEED)
    words, cumulative = vocabulary(rng)
    counts = message_counts(rng, spec)
    pinned = set(rng.sample(range(spec.conversations), max(1, spec.conversations // 500)))
    trashed = set(rng.sample(range(spec.conversations), max(1, spec.conversations // 100)))
    trashed -= pinned
    plant = plant_positions(rng, counts, trashed)
    moment = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(seconds=730 * 86400 / spec.messages)
    open_and_migrate(db_path, BENCH_KEY).close()
    conn = connect(db_path)
    try:
        conn.execute("PRAGMA cache_size = -262144")
        conversations: list[tuple[Any, ...]] = []
        messages: list[tuple[Any, ...]] = []
        leaves: list[tuple[int, int]] = []
        message_id = 0
        for conv in range(spec.conversations):
            parent, title, created = None, "", to_db_time(moment)
            for turn in range(counts[conv]):
                role = "user" if turn % 2 == 0 else "assistant"
                if role == "user":
                    length = rng.randint(3, 30)
                else:
                    length = min(600, max(5, int(rng.lognormvariate(3.6, 0.8))))
                text = make_text(rng, words, cumulative, length)
                if message_id in plant:
                    text = f"{text} {plant[message_id].capitalize()} again."
                message_id += 1
                title = title or derive_title(text)
                messages.append((message_id, conv + 1, parent, role, text, to_db_time(moment)))
                parent = message_id
                moment += step
            updated = to_db_time(moment)
            deleted = updated if conv in trashed else None
            conversations.append((conv + 1, title, created, updated, int(conv in pinned), deleted))
            leaves.append((message_id, conv + 1))
            if len(messages) >= 20000 or conv == spec.conversations - 1:
                _write(conn, conversations, messages)
                conversations, messages = [], []
                print(f"\r  {message_id:,} / {spec.messages:,} messages", end="", file=sys.stderr)
        last = max(c for c in range(spec.conversations) if c not in trashed) + 1
        conn.execute("BEGIN")
        conn.executemany("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", leaves)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_opened_conversation_id', ?)",
            (str(last),),
        )
        conn.execute("COMMIT")
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print(file=sys.stderr)
    finally:
        conn.close()


def connect(db_path: Path) -> Any:
    conn = sqlcipher.connect(str(db_path), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{BENCH_KEY.hex()}'\"")
    return conn


def _write(
    conn: Any, conversations: list[tuple[Any, ...]], messages: list[tuple[Any, ...]]
) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO conversations (id, title, created_at, updated_at, pinned, deleted_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        conversations,
    )
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, parent_id, role, content, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        messages,
    )
    conn.execute("COMMIT")


def prepare(data_dir: Path, spec: FillSpec) -> dict[str, float]:
    """Fill `data_dir` unless it already holds this fill; returns fill/migrate seconds."""
    db_path = AppPaths.resolve(data_dir).database_path
    marker = data_dir / MARKER
    timings: dict[str, float] = {}
    if marker.exists() and json.loads(marker.read_text()) == spec.marker() and db_path.exists():
        print(f"reusing the filled data dir {data_dir}", file=sys.stderr)
        start = time.perf_counter()  # an older schema is upgraded once, outside the timings
        open_and_migrate(db_path, BENCH_KEY).close()
        timings["open_and_migrate_s"] = time.perf_counter() - start
        return timings
    if db_path.exists() and not marker.exists():
        raise SystemExit(
            f"{data_dir} holds a database this benchmark did not make; choose another --data-dir."
        )
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    marker.write_text(json.dumps({"filling": True}))  # ours, even if the fill is interrupted
    print(
        f"filling {data_dir} ({spec.conversations:,} conversations, {spec.messages:,} messages)",
        file=sys.stderr,
    )
    start = time.perf_counter()
    fill(db_path, spec)
    timings["fill_s"] = time.perf_counter() - start
    marker.write_text(json.dumps(spec.marker()))
    return timings


# -- measurements in fresh subprocesses ------------------------------------------------------

START_DRIVER = textwrap.dedent("""
    import json, os, resource, sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import desktop.app
    result = {}
    original_exec = QApplication.exec

    def status_kb(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def shown():
        QApplication.processEvents()
        result["window_s"] = time.time() - float(sys.argv[2])
        result["from_main_s"] = time.perf_counter() - before_main
        windows = [w for w in QApplication.topLevelWidgets() if hasattr(w, "sidebar")]
        sidebar = windows[0].sidebar if windows else None
        result["visible"] = bool(windows) and windows[0].isVisible()
        result["sidebar_rows"] = sidebar.model.rowCount() if sidebar is not None else -1
        result["rss_kb"] = status_kb("VmRSS")
        QApplication.quit()

    def patched_exec(*_args):
        QTimer.singleShot(0, shown)
        return original_exec()

    QApplication.exec = patched_exec
    # The store is opened with the bench key: the unlock flow (keychain or passphrase
    # prompt) is bypassed; its cost does not depend on the history.
    key = bytes.fromhex(os.environ["HEARTH_BENCH_KEY"])
    opener = desktop.app.open_and_migrate

    def open_with_bench_key(path, *_args, backup_dir=None, **_kwargs):
        return opener(path, key, backup_dir=backup_dir)

    desktop.app.open_and_migrate = open_with_bench_key
    if hasattr(desktop.app, "unlock_store"):
        desktop.app.unlock_store = lambda paths, *_a: desktop.app.OpenedStore(
            *desktop.app.open_store(paths))
    if sys.argv[3] == "skip-reopen":  # attribute the time: history vs the reopened chat
        from desktop.storage.conversations import ConversationStore
        ConversationStore.last_opened_conversation_id = lambda self: None
    before_main = time.perf_counter()
    code = desktop.app.main(["--data-dir", sys.argv[1], "--model", "/nonexistent/model.gguf"])
    result["peak_rss_kb"] = status_kb("VmHWM")  # ru_maxrss would include the parent's
    result["ru_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["exit_code"] = code
    print("RESULT " + json.dumps(result))
""")

LIST_DRIVER = textwrap.dedent("""
    import json, sys, time
    start = time.perf_counter()
    from desktop.storage.conversations import ConversationStore
    from desktop.storage.migrations import open_and_migrate
    imported = time.perf_counter()
    store = ConversationStore(open_and_migrate(__import__("pathlib").Path(sys.argv[1]),
                          bytes.fromhex(__import__("os").environ["HEARTH_BENCH_KEY"])))
    opened = time.perf_counter()
    page = store.list_conversations(offset=0, limit=50)
    listed = time.perf_counter()
    print("RESULT " + json.dumps({"open_s": opened - imported, "page_s": listed - opened,
                                  "rows": len(page)}))
""")

SEARCH_DRIVER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from desktop.storage.conversations import ConversationStore
    from desktop.storage.migrations import open_and_migrate
    key = bytes.fromhex(os.environ["HEARTH_BENCH_KEY"])
    store = ConversationStore(open_and_migrate(Path(sys.argv[1]), key))
    queries = json.loads(sys.argv[2])
    result = {}
    for category, words in queries.items():
        times, hits = [], {}
        for query in words:
            start = time.perf_counter()
            found = store.search(query, limit=50)
            times.append(time.perf_counter() - start)
            hits[query] = len(found)
        result[category] = {"times": times, "hits": hits}
    result["rare_counts"] = {w: len(store.search(w, limit=1000)) for w in json.loads(sys.argv[3])}
    print("RESULT " + json.dumps(result))
""")


def run_driver(code: str, *args: str) -> dict[str, Any]:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(ROOT),
        HEARTH_BENCH_KEY=BENCH_KEY.hex(),
    )
    env.pop("HEARTH_DATA_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"benchmark subprocess failed ({done.returncode}):\n{done.stderr[-3000:]}")


def measure_start(variants: dict[str, tuple[Path, bool]], runs: int) -> dict[str, Any]:
    """Start the app `runs` times per variant (data dir, reopen the last conversation),
    the variants interleaved so that drift in the machine's load hits them alike."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for run in range(runs + 1):
        for name, (data_dir, reopen) in variants.items():
            flag = "reopen" if reopen else "skip-reopen"
            sample = run_driver(START_DRIVER, str(data_dir), repr(time.time()), flag)
            if run > 0:  # the first round warms the OS file cache
                samples[name].append(sample)
    return {
        name: {
            "window_ms": statistics.median(s["window_s"] for s in got) * 1000,
            "from_main_ms": statistics.median(s["from_main_s"] for s in got) * 1000,
            "rss_mb": statistics.median(s["rss_kb"] for s in got) / 1024,
            "peak_rss_mb": statistics.median(s["peak_rss_kb"] for s in got) / 1024,
            "sidebar_rows": min(s["sidebar_rows"] for s in got),
            "visible": all(s["visible"] for s in got),
        }
        for name, got in samples.items()
    }


def reopened_messages(db_path: Path) -> int:
    conn = connect(db_path)
    try:
        row = conn.execute(
            "SELECT count(*) FROM messages WHERE conversation_id ="
            " (SELECT value FROM meta WHERE key = 'last_opened_conversation_id')"
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_search(db_path: Path, runs: int) -> dict[str, Any]:
    samples = [
        run_driver(SEARCH_DRIVER, str(db_path), json.dumps(QUERIES), json.dumps(list(RARE)))
        for _ in range(runs)
    ]
    result: dict[str, Any] = {}
    for category in QUERIES:
        runs_times = [s[category]["times"] for s in samples]
        result[category] = {
            "p50_ms": statistics.median(percentile(t, 0.5) for t in runs_times) * 1000,
            "p95_ms": statistics.median(percentile(t, 0.95) for t in runs_times) * 1000,
            "max_ms": statistics.median(max(t) for t in runs_times) * 1000,
            "slowest": max(
                QUERIES[category],
                key=lambda q: samples[0][category]["times"][QUERIES[category].index(q)],
            ),
            "queries": len(QUERIES[category]),
        }
    result["rare_counts"] = samples[0]["rare_counts"]
    return result


def report(results: dict[str, Any]) -> str:
    start = results["start"]
    empty = start["empty"]
    lines = [
        f"Hearth scale benchmark: {results['conversations']:,} conversations, "
        f"{results['messages']:,} messages, {results['db_mb']:.0f} MB, medians of "
        f"{results['runs']} runs",
        "",
        "start to window: empty data dir | filled, no conversation reopened | filled, "
        f"reopening the last one ({results['reopened_messages']} messages)",
        f"  {'':22} {'empty':>9} {'filled':>9} {'added':>9} {'+reopen':>9} {'added':>9}",
    ]
    for key, label, unit in [
        ("window_ms", "from process start", "ms"),
        ("from_main_ms", "from main()", "ms"),
        ("rss_mb", "RSS at window", "MB"),
        ("peak_rss_mb", "peak RSS (VmHWM)", "MB"),
    ]:
        row = f"  {label:22} {empty[key]:>7.1f}{unit}"
        for name in ("filled", "filled+reopen"):
            value = start[name][key]
            row += f" {value:>7.1f}{unit} {value - empty[key]:>+7.1f}{unit}"
        lines.append(row)
    lines.append(
        "  sidebar rows shown: "
        + ", ".join(f"{name} {start[name]['sidebar_rows']}" for name in start)
        + f"; window visible: {all(v['visible'] for v in start.values())}"
    )
    page = results["first_page"]
    lines += [
        "",
        f"first sidebar page (fresh process): open {page['open_ms']:.1f} ms, "
        f"list_conversations(0, 50) {page['page_ms']:.2f} ms ({page['rows']} rows)",
        "",
        f"{'search (limit 50)':28} {'p50':>9} {'p95':>9} {'max':>9}  slowest",
    ]
    for category in QUERIES:
        s = results["search"][category]
        lines.append(
            f"  {category + ' (' + str(s['queries']) + ')':26} {s['p50_ms']:>7.1f}ms "
            f"{s['p95_ms']:>7.1f}ms {s['max_ms']:>7.1f}ms  {s['slowest']!r}"
        )
    counts = results["search"]["rare_counts"]
    lines.append(
        "  planted rare words found: " + ", ".join(f"{w} {counts[w]}/{n}" for w, n in RARE.items())
    )
    if results["prepare"]:
        lines.append(
            "  preparation: " + ", ".join(f"{k} {v:.1f}" for k, v in results["prepare"].items())
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--conversations", type=int, default=10000)
    parser.add_argument("--messages", type=int, default=1000000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    spec = FillSpec(args.conversations, args.messages)
    if spec.messages < spec.conversations or spec.conversations < 2:
        parser.error("need at least 2 conversations and one message per conversation")
    data_dir = (
        args.data_dir
        or Path(tempfile.gettempdir()) / f"hearth-bench-{spec.conversations}-{spec.messages}"
    ).resolve()
    prepared = prepare(data_dir, spec)
    db_path = AppPaths.resolve(data_dir).database_path
    with tempfile.TemporaryDirectory(prefix="hearth-bench-empty-") as empty_dir:
        open_and_migrate(AppPaths.resolve(empty_dir).database_path, BENCH_KEY).close()
        variants = {
            "empty": (Path(empty_dir), True),
            "filled": (data_dir, False),
            "filled+reopen": (data_dir, True),
        }
        start = measure_start(variants, args.runs)
    pages = [run_driver(LIST_DRIVER, str(db_path)) for _ in range(args.runs)]
    results = {
        "conversations": spec.conversations,
        "messages": spec.messages,
        "runs": args.runs,
        "schema_version": SCHEMA_VERSION,
        "data_dir": str(data_dir),
        "prepare": prepared,
        "db_mb": sum(p.stat().st_size for p in data_dir.glob("hearth.db*")) / 2**20,
        "start": start,
        "reopened_messages": reopened_messages(db_path),
        "first_page": {
            "open_ms": statistics.median(p["open_s"] for p in pages) * 1000,
            "page_ms": statistics.median(p["page_s"] for p in pages) * 1000,
            "rows": pages[0]["rows"],
        },
        "search": measure_search(db_path, args.runs),
    }
    print(json.dumps(results, indent=2) if args.json else report(results))


if __name__ == "__main__":
    main()
