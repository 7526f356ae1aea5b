"""Retrieval quality: recall@5 of document search by words, by meaning and both fused, on
questions about Python standard library modules (text nobody on the team wrote, present
wherever Python is), worded differently from the code and docstrings they are about.

    .venv/bin/python packaging/bench/eval_retrieval.py [--data-dir DIR] [--only N] [--tune]

The modules of `tests/data/retrieval_questions.json` (this interpreter's own copies) are
indexed with Hearth's real parser child and embedded by the real embedding model in its
engine host child, into an encrypted database in DIR (default build/eval-retrieval; kept, so
a second run only evaluates). A question counts as found when one of the first five passages
comes from its module and contains its `anchor` (e.g. "def rmtree(").

Each question's candidates by words and by meaning are computed once; recall@5 of words,
meaning and both is then reported for the fusion in use (`doc_search.FUSION`), on all
questions and on each split. --tune: the fusion settings (RRF k, the meaning cut-off, the
weight and depth of the words list) with the best "both" on the "tune" split are reported on
the "test" split (the held-out half), which played no part in choosing them.
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
        store = DocumentStore(db)
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
        yield store, embedder, indexed, time.monotonic() - start
    finally:
        embedder.close()
        db.close()


Lists = tuple[list[int], list[tuple[int, float]]]  # by words, by meaning (id, distance)


def ranked(store: DocumentStore, embedder: HostedEmbedder, text: str) -> Lists:
    """The question's candidates by words and by meaning, as the search itself gets them."""
    words = doc_search.word_hits(store.db, text, None, doc_search.CANDIDATES)
    vector = embedder.embed([text])[0]
    return [h.passage_id for h in words], VectorIndex(store.db).nearest(
        vector, doc_search.CANDIDATES
    )


def passages(store: DocumentStore) -> dict[int, tuple[str, str]]:
    rows = store.db.query_all(
        "SELECT p.id, f.path, p.text FROM doc_passages p JOIN doc_files f ON f.id = p.file_id"
    )
    return {pid: (Path(path).stem, text) for pid, path, text in rows}


def top(lists: Lists, mode: str, fusion: doc_search.Fusion) -> list[int]:
    words, meaning = lists
    if mode == "words":
        return words[:K]
    if mode == "meaning":
        return [pid for pid, distance in meaning if distance <= fusion.max_distance][:K]
    return [pid for pid, _ in doc_search.fuse(words, meaning, K, fusion)]


class Evaluation:
    """Each question's two candidate lists, computed once; recall@5 for any fusion."""

    def __init__(self, store: DocumentStore, embedder: HostedEmbedder, questions: Any) -> None:
        self.questions = list(questions)
        self.texts = passages(store)
        self.lists = [ranked(store, embedder, q["question"]) for q in self.questions]

    def recall(
        self, fusion: doc_search.Fusion = doc_search.FUSION, split: str | None = None
    ) -> dict[str, float]:
        chosen = [
            (q, lists)
            for q, lists in zip(self.questions, self.lists, strict=True)
            if split is None or q["split"] == split
        ]
        if not chosen:
            return dict.fromkeys(MODES, 0.0)
        return {
            mode: sum(
                any(
                    self.texts[pid][0] == q["module"] and q["anchor"] in self.texts[pid][1]
                    for pid in top(lists, mode, fusion)
                )
                for q, lists in chosen
            )
            / len(chosen)
            for mode in MODES
        }


def tune(evaluation: Evaluation) -> doc_search.Fusion:
    """The fusion with the best recall@5 of "both" on the tune split (ties: the first)."""
    best: tuple[float, doc_search.Fusion] | None = None
    for rrf_k in (5, 20, 60):
        for cutoff in (0.6, 0.7, 0.8):
            for weight in (0.25, 0.5, 1.0):
                for depth in (5, 10, 50):
                    fusion = doc_search.Fusion(rrf_k, cutoff, weight, depth)
                    score = evaluation.recall(fusion, "tune")["both"]
                    if best is None or score > best[0]:
                        best = (score, fusion)
    assert best is not None
    return best[1]


def report(evaluation: Evaluation, fusion: doc_search.Fusion, title: str) -> None:
    print(f"{title}: {fusion}")
    for split in (None, "tune", "test"):
        scores = evaluation.recall(fusion, split)
        n = sum(1 for q in evaluation.questions if split is None or q["split"] == split)
        name = f"{split or 'all'} ({n})"
        print(f"  {name:<10} " + "  ".join(f"{m} {v:.2f}" for m, v in scores.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description="recall@5 of Hearth's document search")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "build" / "eval-retrieval")
    parser.add_argument("--only", type=int, help="only the first N questions")
    parser.add_argument("--tune", action="store_true", help="try fusion settings (see above)")
    args = parser.parse_args()
    data = load_questions()
    questions = data["questions"][: args.only]
    modules = sorted({q["module"] for q in questions}) if args.only else data["modules"]
    with prepared(args.data_dir, modules) as (store, embedder, indexed_s, embedded_s):
        print(
            f"{len(modules)} modules, {VectorIndex(store.db).counts()[1]} passages; this run: "
            f"indexing {indexed_s:.1f} s, embedding {embedded_s:.1f} s"
        )
        start = time.monotonic()
        evaluation = Evaluation(store, embedder, questions)
        print(f"recall@{K}, {len(questions)} questions ({time.monotonic() - start:.1f} s)")
        report(evaluation, doc_search.FUSION, "in use")
        if args.tune:
            report(evaluation, tune(evaluation), "best on the tune split")
    return 0


if __name__ == "__main__":
    sys.exit(main())
