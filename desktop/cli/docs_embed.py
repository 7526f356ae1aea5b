"""The command line's half of search by meaning: embedding passages after indexing, and the
query embedder a search uses. Both run the model in an engine host child
(`HostedEmbedder`), never in this process.

When the embedding model cannot be had (not installed, damaged), indexing says so in one
line on stderr and the passages stay searchable by their words; a search uses words only.
Ctrl+C while embedding keeps every batch done; `hearth docs reindex` continues.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from desktop.core.durations import duration_text

if TYPE_CHECKING:
    from desktop.documents.embedding import EmbedProgress
    from desktop.inference.host.embed_client import HostedEmbedder
    from desktop.paths import AppPaths
    from desktop.storage.doc_search import QueryEmbedder
    from desktop.storage.documents import DocumentStore

log = logging.getLogger("hearth.cli")
WORDS_ONLY = "hearth: passages are searchable by their words only: {reason}"


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 2))


def _embedder(paths: AppPaths) -> HostedEmbedder | None:
    from desktop.core.errors import EmbeddingError
    from desktop.inference.embedding_model import embedding_model
    from desktop.inference.host.embed_client import HostedEmbedder

    try:
        return HostedEmbedder(embedding_model(paths.cache_dir), n_threads=_threads())
    except EmbeddingError as error:
        print(WORDS_ONLY.format(reason=error), file=sys.stderr)
        return None


def embed_passages(
    store: DocumentStore, collections: Sequence[int | None], paths: AppPaths, out: TextIO
) -> None:
    """Gives the passages of `collections` that have none their vector, with progress."""
    from desktop.cli.docs import ProgressLine
    from desktop.documents.embedding import EmbeddingRun
    from desktop.storage.doc_vectors import VectorIndex

    ids = [c for c in collections if c is not None]
    vectors = VectorIndex(store.db)
    done, total = vectors.counts(ids)
    if done == total:
        return
    embedder = _embedder(paths)
    if embedder is None:
        return
    meter = ProgressLine(sys.stderr)

    def show(progress: EmbedProgress) -> None:
        left = progress.seconds_left()
        finished = progress.done >= progress.total
        eta = f", about {duration_text(left)} left" if left is not None and not finished else ""
        meter.write(
            f"[{progress.done:,}/{progress.total:,} passages embedded] "
            f"{progress.rate():.1f} passages/s{eta}",
            finished,
        )

    try:
        report = EmbeddingRun(vectors, embedder, show).run(ids)
    except KeyboardInterrupt:
        meter.end()
        print(
            "Stopped. The passages embedded so far are kept, and every passage is searchable "
            "by its words; `hearth docs reindex` continues embedding.",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    finally:
        embedder.close()
    meter.end()
    rate = report.embedded / report.seconds if report.seconds > 0 else 0.0
    print(
        f"Embedded {report.embedded:,} passages for search by meaning in "
        f"{report.seconds:.1f} s ({rate:.1f} passages/s).",
        file=out,
    )
    if report.error:
        print(WORDS_ONLY.format(reason=report.error), file=sys.stderr)


@contextlib.contextmanager
def query_embedder(paths: AppPaths) -> Iterator[QueryEmbedder | None]:
    """A query embedder whose child starts only if a search needs it; ended on exit."""
    from desktop.core.errors import EmbeddingError

    started: list[HostedEmbedder] = []

    def embed(query: str) -> Any:
        if not started:
            embedder = _embedder(paths)
            if embedder is None:
                raise EmbeddingError("the embedding model is not available")
            started.append(embedder)
        start = time.perf_counter()
        vector = started[0].embed([query])[0]
        log.debug("query embedded in %.0f ms", (time.perf_counter() - start) * 1000)
        return vector

    try:
        yield embed
    finally:
        for embedder in started:
            embedder.close()
