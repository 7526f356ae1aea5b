"""Searching passages: by words (FTS5 BM25, stemmed), by meaning (nearest vectors), or both
fused by reciprocal rank.

- words: passages with any word of the query (common words dropped when others remain),
  ranked by BM25 (text weighs 1, heading 0.4). Two steps: the best ids by score, then the
  text and snippet of those few.
- meaning: the query's vector (from the injected `QueryEmbedder`, which runs the model in the
  engine host child) against `doc_vectors`; passages farther than `FUSION.max_distance`
  (cosine) are not matches at all, so a query about nothing in the documents finds nothing.
- both: the two lists fused by weighted reciprocal rank (`fuse`, `Fusion`). Measured in
  `packaging/bench/eval_retrieval.py` against each list alone.

Thread: the caller's, on the thread that owns the `Database`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from desktop.core.errors import EmbeddingError
from desktop.storage.conversations import fts_phrases
from desktop.storage.db import Database
from desktop.storage.doc_vectors import VectorIndex

SearchMode = Literal["words", "meaning", "both"]
QueryEmbedder = Callable[[str], Any]  # text -> a 384-float vector
MODES: tuple[SearchMode, ...] = ("words", "meaning", "both")
CANDIDATES = 50  # from each list, before fusing


@dataclass(frozen=True)
class Fusion:
    """How the two lists are fused: score = words_weight / (rrf_k + rank by words) +
    1 / (rrf_k + rank by meaning), over the first `words_depth` passages by words and the
    passages by meaning no farther than `max_distance` (cosine; unrelated texts are about
    0.9-1.0 apart with MiniLM). Chosen on the tune half of the evaluation's questions."""

    rrf_k: int = 60
    max_distance: float = 0.8
    words_weight: float = 1.0
    words_depth: int = CANDIDATES


#: Tuned on half of `tests/data/retrieval_questions.json` (recall@5 of "both" 0.69 with the
#: textbook k=60, equal weights; 0.81 with these), reported on the other half: see README.
FUSION = Fusion(rrf_k=5, max_distance=0.8, words_weight=0.5, words_depth=5)


def fuse(
    words: Sequence[int],
    meaning: Sequence[tuple[int, float]],
    limit: int,
    fusion: Fusion = FUSION,
) -> list[tuple[int, float]]:
    """(passage id, fused score) best first, from passage ids ranked by words and
    (passage id, distance) ranked by meaning."""
    scores: dict[int, float] = {}
    close = [pid for pid, distance in meaning if distance <= fusion.max_distance]
    for weight, ranked in ((fusion.words_weight, words[: fusion.words_depth]), (1.0, close)):
        for rank, pid in enumerate(ranked, 1):
            scores[pid] = scores.get(pid, 0.0) + weight / (fusion.rrf_k + rank)
    best = sorted(scores, key=lambda pid: (-scores[pid], pid))[:limit]
    return [(pid, scores[pid]) for pid in best]


#: Words too common to rank by; dropped from a query that has other words.
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "if", "in", "is", "it", "of", "on", "or", "so", "that", "the", "this", "to", "was",
    "what", "when", "where", "which", "who", "why", "will", "with",
})  # fmt: skip
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_SNIPPET_WORDS = 24


@dataclass(frozen=True)
class PassageHit:
    """A passage matching a search; `snippet` marks the matched words with `[` `]`.

    `score`: smaller is better: BM25 for "words", cosine distance for "meaning", minus the
    fused reciprocal-rank score for "both". `how` says what found it: "words", "meaning"
    or "both" (found by each).
    """

    passage_id: int
    collection: str
    path: str
    page: int | None
    heading: str
    text: str
    snippet: str
    score: float
    how: str = "words"


def any_word_query(text: str) -> str:
    """An FTS5 query matching passages with any word of `text` (common words dropped)."""
    phrases = fts_phrases(text)
    rare = [p for p in phrases if p.strip('"').casefold() not in STOPWORDS]
    return " OR ".join(dict.fromkeys(rare or phrases))


def search(
    db: Database,
    embed_query: QueryEmbedder | None,
    query: str,
    collections: Sequence[int] | None,
    limit: int,
    mode: SearchMode,
) -> list[PassageHit]:
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}")
    if limit < 1 or not query.strip():
        return []
    vectors = VectorIndex(db)
    can_mean = embed_query is not None and vectors.any_vector(collections)
    if mode == "meaning" and not can_mean:
        raise EmbeddingError(
            "Searching by meaning needs the embedding model and embedded passages; "
            "search by words, or run `hearth docs reindex` to embed them."
        )
    if mode == "words" or not can_mean:
        return word_hits(db, query, collections, limit)
    assert embed_query is not None
    try:
        vector = embed_query(query)
    except EmbeddingError:
        if mode == "meaning":
            raise
        return word_hits(db, query, collections, limit)  # the model failed: words still work
    nearest = vectors.nearest(vector, CANDIDATES, collections)
    close = [(pid, distance) for pid, distance in nearest if distance <= FUSION.max_distance]
    if mode == "meaning":
        return _with_text(db, close[:limit], "meaning")
    words = word_hits(db, query, collections, FUSION.words_depth)  # snippets cost: no more
    fused = dict(fuse([h.passage_id for h in words], close, limit))
    best = list(fused)
    by_words = {h.passage_id: h for h in words[: FUSION.words_depth]}
    by_meaning = {pid for pid, _ in close}
    meaning_only = _with_text(db, [(p, 0.0) for p in best if p not in by_words], "meaning")
    found = {**{h.passage_id: h for h in meaning_only}, **by_words}
    return [
        replace(
            found[pid],
            score=-fused[pid],
            how="both" if pid in by_words and pid in by_meaning else found[pid].how,
        )
        for pid in best
        if pid in found
    ]


def word_hits(
    db: Database, query: str, collections: Sequence[int] | None, limit: int
) -> list[PassageHit]:
    """The passages best matching any word of `query` by BM25, best first."""
    match = any_word_query(query)
    if not match or limit < 1:
        return []
    where = ""
    args: list[Any] = [match]
    if collections is not None:
        where = (
            " AND (SELECT f.collection_id FROM doc_passages p JOIN doc_files f"
            " ON f.id = p.file_id WHERE p.id = doc_passages_fts.rowid)"
            f" IN ({','.join('?' * len(collections))})"
        )
        args += list(collections)
    best = db.query_all(
        "SELECT rowid, bm25(doc_passages_fts, 1.0, 0.4) AS score FROM doc_passages_fts"
        f" WHERE doc_passages_fts MATCH ?{where} ORDER BY score LIMIT ?",
        (*args, limit),
    )
    if not best:
        return []
    scores = dict(best)
    rows = db.query_all(
        "SELECT p.id, c.name, f.path, p.page, p.heading, p.text,"
        " snippet(doc_passages_fts, 0, ?, ?, '…', 24)"
        " FROM doc_passages_fts JOIN doc_passages p ON p.id = doc_passages_fts.rowid"
        " JOIN doc_files f ON f.id = p.file_id JOIN doc_collections c ON c.id = f.collection_id"
        f" WHERE doc_passages_fts MATCH ? AND doc_passages_fts.rowid IN"
        f" ({','.join('?' * len(scores))})",
        (_MARK_OPEN, _MARK_CLOSE, match, *scores),
    )
    hits = [
        PassageHit(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            snippet=row[6].replace(_MARK_OPEN, "[").replace(_MARK_CLOSE, "]"),
            score=float(scores[row[0]]),
        )
        for row in rows
    ]
    return sorted(hits, key=lambda hit: (hit.score, hit.passage_id))


def _with_text(db: Database, ranked: Sequence[tuple[int, float]], how: str) -> list[PassageHit]:
    """Hits for passage ids (in the given order), their snippet the passage's first words."""
    if not ranked:
        return []
    rows = db.query_all(
        "SELECT p.id, c.name, f.path, p.page, p.heading, p.text FROM doc_passages p"
        " JOIN doc_files f ON f.id = p.file_id JOIN doc_collections c ON c.id = f.collection_id"
        f" WHERE p.id IN ({','.join('?' * len(ranked))})",
        tuple(pid for pid, _ in ranked),
    )
    found = {row[0]: row for row in rows}
    hits = []
    for pid, score in ranked:
        if pid in found:
            row = found[pid]
            words = row[5].split()
            more = " …" if len(words) > _SNIPPET_WORDS else ""
            snippet = " ".join(words[:_SNIPPET_WORDS]) + more
            hits.append(
                PassageHit(row[0], row[1], row[2], row[3], row[4], row[5], snippet, score, how)
            )
    return hits
