"""Passage vectors (schema v7): exact float32 rows in `doc_vector_data`, one-bit copies in
sqlite-vec's `doc_vectors` for a fast first pass.

`pending()` hands out passages that have no vector yet (oldest first), `save()` stores a
batch of vectors and marks their passages in one transaction, so an embedding run killed at
any point continues with exactly the passages left. `nearest()` takes the `COARSE`
nearest passages by Hamming distance of the one-bit vectors, then ranks those by the exact
cosine distance, optionally only within some collections. With fewer passages than
`COARSE`, the ranking is exact.

Thread: like `DocumentStore`, used from the thread that owns its `Database`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop.storage.db import Database

DIMENSIONS = 384
#: Candidates from the one-bit scan, ranked exactly afterwards. vec0's top-k costs about
#: N·k: at 100,000 passages k=400 took 68 ms, k=100 15 ms (same recall in the evaluation).
COARSE = 100


@dataclass(frozen=True)
class PendingPassage:
    passage_id: int
    collection_id: int
    text: str
    heading: str

    def embedding_text(self) -> str:
        """What is embedded: the heading path, then the passage."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


class VectorIndex:
    """The vectors of the passages in the encrypted database. See the module docstring."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, limit: int, collections: Sequence[int] | None = None) -> list[PendingPassage]:
        where, args = _in_collections("f.collection_id", collections)
        rows = self.db.query_all(
            "SELECT p.id, f.collection_id, p.text, p.heading FROM doc_passages p"
            " JOIN doc_files f ON f.id = p.file_id"
            f" WHERE p.embedded = 0{where} ORDER BY p.id LIMIT ?",
            (*args, limit),
        )
        return [PendingPassage(*row) for row in rows]

    def any_vector(self, collections: Sequence[int] | None = None) -> bool:
        where, args = _in_collections("f.collection_id", collections)
        found = self.db.scalar(
            "SELECT EXISTS (SELECT 1 FROM doc_passages p JOIN doc_files f ON f.id = p.file_id"
            f" WHERE p.embedded = 1{where})",
            tuple(args),
        )
        return bool(found)

    def counts(self, collections: Sequence[int] | None = None) -> tuple[int, int]:
        """(passages with a vector, all passages)."""
        where, args = _in_collections("f.collection_id", collections)
        row = self.db.query_one(
            "SELECT coalesce(sum(p.embedded), 0), count(*) FROM doc_passages p"
            f" JOIN doc_files f ON f.id = p.file_id WHERE 1{where}",
            tuple(args),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    def save(self, passages: Sequence[PendingPassage], vectors: Any) -> int:
        """Stores one vector per passage; passages deleted meanwhile are skipped."""
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        saved = 0
        with self.db.transaction():
            for passage, row in zip(passages, rows, strict=True):
                cursor = self.db.execute(
                    "UPDATE doc_passages SET embedded = 1 WHERE id = ? AND embedded = 0",
                    (passage.passage_id,),
                )
                if cursor.rowcount:
                    self.db.execute(
                        "INSERT INTO doc_vector_data (passage_id, embedding) VALUES (?, ?)",
                        (passage.passage_id, row.tobytes()),
                    )
                    self.db.execute(
                        "INSERT INTO doc_vectors (rowid, collection_id, coarse)"
                        " VALUES (?, ?, vec_quantize_binary(?))",
                        (passage.passage_id, passage.collection_id, row.tobytes()),
                    )
                    saved += 1
        return saved

    def nearest(
        self, vector: Any, k: int, collections: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """The `k` passage ids closest to `vector` (cosine distance, smallest first)."""
        if k < 1 or (collections is not None and not collections):
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        where, args = _in_collections("collection_id", collections)
        rows = self.db.query_all(
            "SELECT rowid FROM doc_vectors"
            f" WHERE coarse MATCH vec_quantize_binary(?) AND k = ?{where}",
            (query.tobytes(), max(COARSE, k), *args),
        )
        if not rows:
            return []
        exact = self.db.query_all(
            "SELECT passage_id, embedding FROM doc_vector_data"
            f" WHERE passage_id IN ({','.join('?' * len(rows))})",
            tuple(row[0] for row in rows),
        )
        ids = [int(row[0]) for row in exact]
        matrix = np.frombuffer(b"".join(row[1] for row in exact), dtype=np.float32)
        distances = 1.0 - matrix.reshape(len(ids), DIMENSIONS) @ query
        order = np.argsort(distances, kind="stable")[:k]
        return [(ids[i], float(distances[i])) for i in order]


def _in_collections(column: str, collections: Sequence[int] | None) -> tuple[str, list[int]]:
    if collections is None:
        return "", []
    return f" AND {column} IN ({','.join('?' * len(collections))})", list(collections)
