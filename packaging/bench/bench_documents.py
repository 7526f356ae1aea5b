"""Documents benchmark: parse + index throughput on text found on this machine, and
full-text search latency at the corpus's size and at ~100,000 passages.

The corpus: the readable documentation under /usr/share/doc (plain text, Markdown, HTML;
compressed files are not a format Hearth reads) and the Python standard library's source
(`.py`), up to `--files` files. They are indexed in place by the real `Indexer` (the
parser child with its limits, the encrypted database with a fixed bench key), then:

- throughput: files/s, passages/s and MB/s from start to the last file committed; every
  passage is searchable as soon as its file is committed (full-text: time to searchable =
  indexing time, no second phase);
- a second run on the unchanged corpus (the incremental check: stat only);
- search p50/p95 over `--queries` queries of 1-4 words drawn from the corpus's own words
  (and, at scale, from its 100 most frequent words: the slowest case for BM25);
- the same after the passages are copied under new file rows up to `--scale` passages,
  with the database's size;
- peak RSS of this process and of the parser child.

    python packaging/bench/bench_documents.py [--files 3000] [--scale 100000] [--json]

Timings on a shared 2-core machine are noisy: the script prints medians and the p95.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.documents.collect import find_files  # noqa: E402
from desktop.documents.indexer import Indexer  # noqa: E402
from desktop.documents.parser import DocumentParser  # noqa: E402
from desktop.storage.db import Database  # noqa: E402
from desktop.storage.documents import STOPWORDS, DocumentStore  # noqa: E402
from desktop.storage.migrations import open_and_migrate  # noqa: E402

KEY = bytes(range(32))
SOURCES = (Path("/usr/share/doc"), Path(sysconfig.get_paths()["stdlib"]))


def corpus(limit: int, folder: Path) -> list[Path]:
    """Up to `limit` readable files from SOURCES, half docs, half code when both have enough."""
    picked: list[Path] = []
    for source in SOURCES:
        if not source.is_dir():
            continue
        share = limit - len(picked) if source == SOURCES[-1] else limit // 2
        found = [Path(f.path) for f in find_files(str(source)) if f.problem is None]
        found = [p for p in found if "test" not in p.parts and "site-packages" not in p.parts]
        picked += found[:share]
    # Links in one folder: one collection source for all, the files read where they are.
    for n, path in enumerate(picked):
        (folder / f"{n:05d}-{path.name}").symlink_to(path)
    return picked


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def search_latency(store: DocumentStore, words: list[str], count: int) -> dict[str, float]:
    rng = random.Random(7)
    times = []
    for _ in range(count):
        query = " ".join(rng.sample(words, rng.randint(1, 4)))
        start = time.perf_counter()
        store.search(query, limit=8)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
    }


def vocabulary(db: Database) -> tuple[list[str], list[str]]:
    """Words of 2,000 random passages: all of them, and the 100 most frequent."""
    rows = db.query_all("SELECT text FROM doc_passages ORDER BY random() LIMIT 2000")
    counts = Counter(w.strip(".,;:()[]{}\"'").lower() for (text,) in rows for w in text.split())
    words = [w for w in counts if w.isalpha() and 3 <= len(w) <= 12 and w not in STOPWORDS]
    common = sorted(words, key=lambda w: -counts[w])[:100]
    return sorted(words), common


def scale_up(db: Database, target: int) -> int:
    """Copies the passages under new file rows until there are about `target` of them."""
    have = int(db.scalar("SELECT count(*) FROM doc_passages"))
    copy = 0
    while have and have < target:
        copy += 1
        with db.transaction():
            files = db.query_all("SELECT id, collection_id, path, format FROM doc_files")
            for file_id, collection_id, path, fmt in files:
                cursor = db.execute(
                    "INSERT INTO doc_files (collection_id, path, format, status)"
                    " VALUES (?, ?, ?, 'indexed')",
                    (collection_id, f"{path}#copy{copy}", fmt),
                )
                db.execute(
                    "INSERT INTO doc_passages (file_id, ordinal, heading, page, text)"
                    " SELECT ?, ordinal, heading, page, text FROM doc_passages WHERE file_id = ?",
                    (cursor.lastrowid, file_id),
                )
                have = int(db.scalar("SELECT count(*) FROM doc_passages"))
                if have >= target:
                    break
    return have


def run(files: int, scale: int, queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hearth-bench-docs-") as temp:
        base = Path(temp)
        (base / "corpus").mkdir()
        picked = corpus(files, base / "corpus")
        megabytes = sum(p.stat().st_size for p in picked) / 2**20
        db = open_and_migrate(base / "hearth.db", KEY)
        store = DocumentStore(db)
        with DocumentParser() as parser:
            indexer = Indexer(store, parser)
            first = indexer.add("bench", [base / "corpus"])
            collection = store.collection_id("bench") or 0
            second = indexer.index(collection)
        passages = int(db.scalar("SELECT count(*) FROM doc_passages"))
        words, common = vocabulary(db)
        small = search_latency(store, words, queries)
        scaled = scale_up(db, scale)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        large = search_latency(store, words, queries)
        large_common = search_latency(store, common, queries)
        size_mb = (base / "hearth.db").stat().st_size / 2**20
        db.close()
    return {
        "files": len(picked),
        "megabytes": round(megabytes, 1),
        "indexed": first.indexed,
        "failed": len(first.failed),
        "passages": passages,
        "index_s": round(first.seconds, 2),
        "files_per_s": round(len(picked) / first.seconds, 1),
        "passages_per_s": round(passages / first.seconds, 1),
        "mb_per_s": round(megabytes / first.seconds, 2),
        "unchanged_rerun_s": round(second.seconds, 2),
        "search": small,
        "scaled_passages": scaled,
        "scaled_search": large,
        "scaled_search_common": large_common,
        "scaled_db_mb": round(size_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "child_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        "failures": [f"{Path(p).name}: {r}" for p, r in first.failed[:5]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.files, args.scale, args.queries)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(
        f"corpus: {result['files']} files, {result['megabytes']} MB -> {result['passages']:,} "
        f"passages ({result['failed']} files could not be read)\n"
        f"index: {result['index_s']} s = {result['files_per_s']} files/s, "
        f"{result['passages_per_s']} passages/s, {result['mb_per_s']} MB/s "
        f"(searchable as each file is committed)\n"
        f"unchanged re-run: {result['unchanged_rerun_s']} s\n"
        f"search at {result['passages']:,} passages: p50 {result['search']['p50_ms']} ms, "
        f"p95 {result['search']['p95_ms']} ms\n"
        f"search at {result['scaled_passages']:,} passages: p50 "
        f"{result['scaled_search']['p50_ms']} ms, p95 {result['scaled_search']['p95_ms']} ms; "
        f"common words only: p50 {result['scaled_search_common']['p50_ms']} ms, "
        f"p95 {result['scaled_search_common']['p95_ms']} ms; "
        f"database {result['scaled_db_mb']} MB\n"
        f"peak RSS: this process {result['peak_rss_mb']} MB, parser child "
        f"{result['child_peak_rss_mb']} MB"
    )
    for line in result["failures"]:
        print("  ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
