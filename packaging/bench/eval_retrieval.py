"""Retrieval quality: recall@5 of document search by words, by meaning and both fused, on
questions about Python standard library modules (text nobody on the team wrote, present
wherever Python is), worded differently from the code and docstrings they are about.

    .venv/bin/python packaging/bench/eval_retrieval.py [--data-dir DIR] [--only N] [--tune]

The modules of `tests/data/retrieval_questions.json` (this interpreter's own copies) are
indexed with Hearth's real parser child and embedded by the real embedding model in its
engine host child, into an encrypted database in DIR (default build/eval-retrieval; kept, so
a second run only evaluates). A question counts as found when one of the first five passages
comes from its module and contains its `anchor` (e.g. "def rmtree(").

--tune: the fusion's RRF k and the meaning cut-off are chosen on the questions of the "tune"
split, and every setting is reported on the "test" split (the held-out half) as well.
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.documents.embedding import EmbeddingRun  # noqa: E402
from desktop.documents.indexer import Indexer  # noqa: E402
from desktop.documents.parser import DocumentParser  # noqa: E402
from desktop.inference.embedding_model import embedding_model  # noqa: E402
from desktop.inference.host.embed_client import HostedEmbedder  # noqa: E402
from desktop.storage import doc_search  # noqa: E402
from desktop.storage.db import Database  # noqa: E402
from desktop.storage.doc_vectors import VectorIndex  # noqa: E402
from desktop.storage.documents import DocumentStore  # noqa: E402
from desktop.storage.migrations import open_and_migrate  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "retrieval_questions.json"
KEY = bytes(32)  # an evaluation database of public text; encrypted like any other
MODES: tuple[doc_search.SearchMode, ...] = ("words", "meaning", "both")
K = 5


def load_questions(path: Path = QUESTIONS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def module_files(modules: Sequence[str]) -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return [stdlib / f"{name}.py" for name in modules]


@contextmanager
def prepared(data_dir: Path, modules: Sequence[str], quiet: bool = False) -> Iterator[Any]:
    """The indexed, embedded corpus: (store, embedder, seconds to index, seconds to embed)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db: Database = open_and_migrate(data_dir / "eval.db", KEY)
    embedder = HostedEmbedder(embedding_model(data_dir / "cache"))
    try:
        store = DocumentStore(db, embed_query=lambda q: embedder.embed([q])[0])
        start = time.monotonic()
        with DocumentParser() as parser:
            report = Indexer(store, parser).add("stdlib", module_files(modules))
        indexed = time.monotonic() - start
        if report.failed:
            raise SystemExit(f"eval: could not index {report.failed}")

        def show(progress: Any) -> None:
            if not quiet and progress.done % 40 == 0:
                print(f"  embedded {progress.done}/{progress.total}", file=sys.stderr)

        start = time.monotonic()
        EmbeddingRun(VectorIndex(db), embedder, show).run()
        yield store, indexed, time.monotonic() - start
    finally:
        embedder.close()
        db.close()


def found(store: DocumentStore, question: dict[str, str], mode: doc_search.SearchMode) -> bool:
    hits = store.search(question["question"], limit=K, mode=mode)
    return any(
        Path(hit.path).stem == question["module"] and question["anchor"] in hit.text
        for hit in hits
    )


def recall(store: DocumentStore, questions: Sequence[dict[str, str]]) -> dict[str, float]:
    if not questions:
        return dict.fromkeys(MODES, 0.0)
    return {
        mode: sum(found(store, q, mode) for q in questions) / len(questions) for mode in MODES
    }


def tune(store: DocumentStore, questions: Sequence[dict[str, str]]) -> None:
    split = {name: [q for q in questions if q["split"] == name] for name in ("tune", "test")}
    default = (doc_search.RRF_K, doc_search.MAX_DISTANCE)
    print(f"{'rrf k':>6} {'cut-off':>8} {'tune both':>10} {'test both':>10}")
    best: tuple[float, int, float] | None = None
    for rrf_k in (5, 20, 60, 120):
        for cutoff in (0.6, 0.7, 0.8, 1.0):
            doc_search.RRF_K, doc_search.MAX_DISTANCE = rrf_k, cutoff
            on = {name: recall(store, qs)["both"] for name, qs in split.items()}
            print(f"{rrf_k:>6} {cutoff:>8.2f} {on['tune']:>10.2f} {on['test']:>10.2f}")
            if best is None or on["tune"] > best[0]:
                best = (on["tune"], rrf_k, cutoff)
    doc_search.RRF_K, doc_search.MAX_DISTANCE = default
    assert best is not None
    print(f"best on the tune split: k={best[1]}, cut-off={best[2]} (in use: {default})")


def main() -> int:
    parser = argparse.ArgumentParser(description="recall@5 of Hearth's document search")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "build" / "eval-retrieval")
    parser.add_argument("--only", type=int, help="only the first N questions")
    parser.add_argument("--tune", action="store_true", help="try fusion settings (see above)")
    args = parser.parse_args()
    data = load_questions()
    questions = data["questions"][: args.only]
    modules = sorted({q["module"] for q in questions}) if args.only else data["modules"]
    with prepared(args.data_dir, modules) as (store, indexed_s, embedded_s):
        print(
            f"{len(modules)} modules, {VectorIndex(store.db).counts()[1]} passages; this run: "
            f"indexing {indexed_s:.1f} s, embedding {embedded_s:.1f} s"
        )
        start = time.monotonic()
        scores = recall(store, questions)
        spent = time.monotonic() - start
        print(f"recall@{K} over {len(questions)} questions ({spent:.1f} s):")
        for mode in MODES:
            print(f"  {mode:<8} {scores[mode]:.2f}")
        for name in ("tune", "test"):
            part = [q for q in questions if q["split"] == name]
            if part:
                print(f"  {name} split ({len(part)}): " + ", ".join(
                    f"{m} {v:.2f}" for m, v in recall(store, part).items()
                ))  # fmt: skip
        if args.tune:
            tune(store, questions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
