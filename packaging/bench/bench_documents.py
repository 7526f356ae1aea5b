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
- embedding: `--embed` passages of the corpus embedded by the real model in its engine host
  child (batches of 8): passages/s, and the time to fully embedded (measured for the
  sample; for the whole corpus estimated from that rate, as embedding it all would take
  hours on 2 cores) against the time to searchable by words;
- at scale, search by words, by meaning and both (p50/p95): the scaled passages get
  *synthesised* vectors (the sample's real vectors plus noise, normalised), the queries'
  vectors are embedded once beforehand, so the times are the database's and the fusion's;
  the query's own embedding (engine host round trip) is timed apart;
- peak RSS of this process and of the parser child.

    python packaging/bench/bench_documents.py [--files 3000] [--scale 100000] [--embed 200]

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
from desktop.documents.embedding import EmbeddingRun  # noqa: E402
from desktop.documents.indexer import Indexer  # noqa: E402
from desktop.documents.parser import DocumentParser  # noqa: E402
from desktop.inference.embedding_model import embedding_model  # noqa: E402
from desktop.inference.host.embed_client import HostedEmbedder  # noqa: E402
from desktop.storage.db import Database  # noqa: E402
from desktop.storage.doc_search import SearchMode  # noqa: E402
from desktop.storage.doc_vectors import VectorIndex  # noqa: E402
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


def queries(words: list[str], count: int) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.sample(words, rng.randint(1, 4))) for _ in range(count)]


def search_latency(
    store: DocumentStore, texts: list[str], mode: SearchMode = "words"
) -> dict[str, float]:
    times = []
    for query in texts:
        start = time.perf_counter()
        store.search(query, limit=8, mode=mode)
        times.append((time.perf_counter() - start) * 1000)
    return summary(times)


def summary(times: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
    }


def embed_sample(db: Database, embedder: HostedEmbedder, count: int) -> dict[str, float]:
    """Embeds the first `count` passages (real model, engine host child); passages/s."""
    start = time.monotonic()
    done = EmbeddingRun(VectorIndex(db), embedder, limit=count).run().embedded
    seconds = time.monotonic() - start
    return {"embedded": done, "embed_s": round(seconds, 1), "rate": round(done / seconds, 2)}


def synthesise_vectors(db: Database) -> int:
    """Vectors for every passage without one: a real one plus noise, normalised (so the
    one-bit scan sees realistic, clustered data rather than uniform noise)."""
    import numpy as np

    rows = db.query_all("SELECT embedding FROM doc_vector_data LIMIT 2000")
    real = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(-1, 384)
    rng = np.random.default_rng(7)
    vectors, total = VectorIndex(db), 0
    while batch := vectors.pending(2000):
        picked = real[rng.integers(0, len(real), len(batch))]
        noisy = picked + rng.normal(0, 0.03, picked.shape).astype(np.float32)
        total += vectors.save(batch, noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return total


def timed_embedder(embedder: HostedEmbedder, texts: list[str]) -> tuple[Any, dict[str, float]]:
    """Each query's vector embedded once (timed), then looked up during the search timings."""
    known, times = {}, []
    for text in dict.fromkeys(texts):
        start = time.perf_counter()
        known[text] = embedder.embed([text])[0]
        times.append((time.perf_counter() - start) * 1000)
    timing = {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
    }
    return known.__getitem__, timing


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


MODES: tuple[SearchMode, ...] = ("words", "meaning", "both")


def run(files: int, scale: int, count: int, embed: int) -> dict[str, Any]:
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
        texts, common_texts = queries(words, count), queries(common, count)
        small = search_latency(store, texts)
        embedder = HostedEmbedder(embedding_model(base / "cache"))
        try:
            sample = embed_sample(db, embedder, embed)
            embed_query, query_embedding = timed_embedder(embedder, texts + common_texts)
        finally:
            embedder.close()
        words_only_mb = (base / "hearth.db").stat().st_size / 2**20
        scaled = scale_up(db, scale)
        synthesised = synthesise_vectors(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store = DocumentStore(db, embed_query)
        large = {mode: search_latency(store, texts, mode) for mode in MODES}
        large_common = search_latency(store, common_texts)
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
        "embedded_sample": sample,
        "time_to_searchable_s": round(first.seconds, 1),
        "time_to_fully_embedded_s_estimated": round(
            first.seconds + passages / max(sample["rate"], 1e-9), 0
        ),
        "query_embedding": query_embedding,
        "scaled_passages": scaled,
        "synthesised_vectors": synthesised,
        "scaled_search": large,
        "scaled_search_common": large_common,
        "words_only_db_mb": round(words_only_mb, 1),
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
    parser.add_argument("--embed", type=int, default=200, help="passages to really embed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.files, args.scale, args.queries, args.embed)
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
        f"embedding: {result['embedded_sample']['embedded']} passages in "
        f"{result['embedded_sample']['embed_s']} s = {result['embedded_sample']['rate']} "
        f"passages/s; whole corpus: searchable by words after "
        f"{result['time_to_searchable_s']} s, fully embedded after about "
        f"{result['time_to_fully_embedded_s_estimated']:.0f} s (estimated from the rate)\n"
        f"query embedding (engine host round trip): p50 {result['query_embedding']['p50_ms']} "
        f"ms, p95 {result['query_embedding']['p95_ms']} ms\n"
        f"search at {result['scaled_passages']:,} passages "
        f"({result['synthesised_vectors']:,} synthesised vectors): "
        + "; ".join(
            f"{mode} p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms"
            for mode, t in result["scaled_search"].items()
        )
        + f"; words, common words only: p50 {result['scaled_search_common']['p50_ms']} ms, "
        f"p95 {result['scaled_search_common']['p95_ms']} ms\n"
        f"database: {result['words_only_db_mb']} MB before scaling, {result['scaled_db_mb']} MB "
        f"at {result['scaled_passages']:,} passages with vectors\n"
        f"peak RSS: this process {result['peak_rss_mb']} MB, parser child "
        f"{result['child_peak_rss_mb']} MB"
    )
    for line in result["failures"]:
        print("  ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
