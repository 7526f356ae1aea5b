"""`hearth docs`: collections of the user's documents, indexed for search.

    hearth docs add PATH... [--collection NAME]   add files/folders, then index them
    hearth docs list [--collection NAME]          collections, or one's files and status
    hearth docs remove NAME [PATH...]             a whole collection, or some of its sources
    hearth docs reindex [--collection NAME]       changed files redone, deleted ones purged
    hearth docs search QUERY... [--collection NAME] [--limit N] [--mode words|meaning|both]
    hearth ask --docs NAME "..."                  (the helpers at the end of this module)

After the words of new files are searchable, `add` and `reindex` embed the passages that
have no vector yet (in the engine host child; `docs_embed`). Progress goes to stderr,
results to stdout. Indexing can be stopped with Ctrl+C at any
time: the files done stay done, and `reindex` (or `add` again) continues. The heavy parts
(storage, parsers) are imported only when a `docs` command runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from desktop.cli import args as cli_args
from desktop.cli.docs_embed import embed_passages, query_embedder
from desktop.core.durations import duration_text
from desktop.core.errors import HearthError

if TYPE_CHECKING:
    from desktop.chat.grounding import Source
    from desktop.documents.indexer import IndexProgress, IndexReport
    from desktop.paths import AppPaths
    from desktop.storage.conversations import ConversationStore
    from desktop.storage.documents import DocumentStore, PassageHit

DEFAULT_COLLECTION = "documents"
WRITE_ADVICE = "Close it and run the command again; nothing was changed."
_PROGRESS_EVERY_S = 2.0


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    docs = sub.add_parser("docs", help="your documents: add, list, remove, reindex, search")
    verbs = docs.add_subparsers(dest="docs_command", required=True)
    add = verbs.add_parser("add", help="add files and folders to a collection and index them")
    add.add_argument("paths", nargs="+", type=Path)
    add.add_argument("--collection", default=DEFAULT_COLLECTION, help="default: documents")
    listing = verbs.add_parser("list", help="the collections, or one collection's files")
    listing.add_argument("--collection", help="show this collection's files and their status")
    remove = verbs.add_parser("remove", help="remove a collection, or files/folders from it")
    remove.add_argument("collection")
    remove.add_argument("paths", nargs="*", type=Path)
    reindex = verbs.add_parser("reindex", help="bring collections up to date with the disk")
    reindex.add_argument("--collection", help="only this collection (default: all)")
    search = verbs.add_parser("search", help="find passages in your documents")
    search.add_argument("query", nargs="+")
    search.add_argument("--collection", action="append", help="only this collection (repeat)")
    search.add_argument("--limit", type=cli_args.limit_type, default=10)
    search.add_argument(
        "--mode",
        choices=("words", "meaning", "both"),
        default="both",
        help="match the words, the meaning, or both fused (default)",
    )


def run(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    from desktop.cli.store import open_store
    from desktop.storage.documents import DocumentStore

    if args.docs_command == "add":  # before anything is opened or created
        for path in args.paths:
            cli_args.text_argument(str(path), "path")
        missing = [str(p) for p in args.paths if not p.expanduser().exists()]
        if missing:
            raise HearthError(f"{', '.join(missing)}: no such file or folder; nothing was added.")
    writing = args.docs_command in ("add", "remove", "reindex")
    with open_store(paths, writing=writing, advice=WRITE_ADVICE) as conversations:
        store = DocumentStore(conversations.db)
        if args.docs_command == "list":
            return _list(store, args.collection, out)
        if args.docs_command == "search":
            with query_embedder(paths) as embed_query:
                return _search(DocumentStore(conversations.db, embed_query), args, out)
        if args.docs_command == "remove":
            return _remove(store, args.collection, args.paths, out)
        if args.docs_command == "add":
            return _index(store, paths, out, add=(args.collection, args.paths))
        return _index(store, paths, out, only=args.collection)


def _require(store: DocumentStore, name: str) -> int:
    found = store.collection_id(name)
    if found is None:
        names = ", ".join(c.name for c in store.collections()) or "none yet"
        raise HearthError(f'There is no collection "{name}" (collections: {names}).')
    return found


def _index(
    store: DocumentStore,
    paths: AppPaths,
    out: TextIO,
    add: tuple[str, list[Path]] | None = None,
    only: str | None = None,
) -> int:
    from desktop.documents.indexer import Indexer
    from desktop.documents.parser import DocumentParser

    meter = ProgressLine(sys.stderr)
    with DocumentParser() as parser:
        indexer = Indexer(store, parser, progress=meter.show)
        try:
            if add is not None:
                reports = [(add[0], indexer.add(add[0], add[1]))]
            else:
                targets = [c for c in store.collections() if only is None or c.name == only]
                if only is not None and not targets:
                    _require(store, only)
                reports = [(c.name, indexer.index(c.id)) for c in targets]
        except KeyboardInterrupt:
            meter.end()
            print(
                "Stopped. The files done so far are kept; `hearth docs reindex` continues "
                "where this stopped.",
                file=sys.stderr,
            )
            return 130
    meter.end()
    for name, report in reports:
        _print_report(name, report, out)
    embed_passages(store, [store.collection_id(name) for name, _ in reports], paths, out)
    everything_failed = any(r.failed and not r.indexed and not r.unchanged for _, r in reports)
    return 1 if everything_failed else 0


def _print_report(name: str, report: IndexReport, out: TextIO) -> None:
    parts = [f"{report.indexed} file(s) indexed ({report.passages:,} passages)"]
    if report.unchanged:
        parts.append(f"{report.unchanged} unchanged")
    if report.removed:
        parts.append(f"{report.removed} removed")
    if report.failed:
        parts.append(f"{len(report.failed)} could not be read")
    print(f'Collection "{name}": {", ".join(parts)} in {report.seconds:.1f} s.', file=out)
    for path, reason in report.failed:
        print(f"  {path}: {reason}", file=out)


class ProgressLine:
    """Indexing progress on stderr: one line redrawn on a terminal, a line every 2 s if not."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0
        self._drawn = False

    def show(self, progress: IndexProgress) -> None:
        done = progress.files_done == progress.files_total
        left = progress.seconds_left()
        eta = f", about {duration_text(left)} left" if left is not None and not done else ""
        line = (
            f"[{progress.files_done}/{progress.files_total} files] "
            f"{progress.passages_done:,} passages, {progress.rate():.1f} files/s{eta}"
        )
        self.write(line, done, bool(progress.files_total))

    def write(self, line: str, done: bool, worth_a_line: bool = True) -> None:
        now = time.monotonic()
        if not done and now - self._last < (0.2 if self.tty else _PROGRESS_EVERY_S):
            return
        self._last = now
        if self.tty:
            self.stream.write("\r\033[K" + line[:200])
            self._drawn = True
        elif worth_a_line:
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _list(store: DocumentStore, name: str | None, out: TextIO) -> int:
    if name is not None:
        for item in store.files(_require(store, name)).values():
            page = f", {item.pages} pages" if item.pages else ""
            if item.status == "indexed":
                state = f"indexed ({item.passages} passages{page})"
                state += f"; {item.reason}" if item.reason else ""
            else:
                state = item.status + (f": {item.reason}" if item.reason else "")
            print(f"{item.path}  {state}", file=out)
        return 0
    collections = store.collections()
    if not collections:
        print("No collections yet; add one with `hearth docs add FOLDER`.", file=out)
        return 0
    for c in collections:
        state = f"{c.indexed} indexed"
        state += f", {c.failed} could not be read" if c.failed else ""
        state += f", {c.pending} waiting" if c.pending else ""
        print(f"{c.name}: {c.files} file(s) ({state}), {c.passages:,} passages", file=out)
        for source in c.sources:
            print(f"  {source}", file=out)
    return 0


def _remove(store: DocumentStore, name: str, paths: list[Path], out: TextIO) -> int:
    collection_id = _require(store, name)
    if not paths:
        store.remove_collection(collection_id)
        print(f'Removed the collection "{name}" and everything indexed from it.', file=out)
        return 0
    for path in paths:
        source = str(path.expanduser().absolute())
        removed = store.remove_source(collection_id, source)
        if removed is None:
            raise HearthError(f'{source} is not in the collection "{name}"; nothing was removed.')
        print(f'Removed {source} from "{name}" ({removed} file(s)).', file=out)
    return 0


def _search(store: DocumentStore, args: argparse.Namespace, out: TextIO) -> int:
    query = cli_args.text_argument(" ".join(args.query), "search text")
    ids = [_require(store, name) for name in args.collection] if args.collection else None
    hits = store.search(query, ids, limit=args.limit, mode=args.mode)
    for n, hit in enumerate(hits, 1):
        where = hit.path + (f", page {hit.page}" if hit.page else "")
        where += f" — {hit.heading}" if hit.heading else ""
        where += "  (by meaning)" if hit.how == "meaning" else ""
        print(f"[{n}] {where}\n    {' '.join(hit.snippet.split())}", file=out)
    if not hits:
        print(f"No passages match {query!r}.", file=out)
    return 0 if hits else 1


# -- hearth ask --docs ----------------------------------------------------------------------
PASSAGES_CONSIDERED = 8


def find_passages(
    names: list[str], question: str, paths: AppPaths, store: ConversationStore | None
) -> list[PassageHit]:
    """The passages of collections `names` best matching `question` (before a model loads).

    `store`: the store `ask` already holds (it saves the exchange), else one is opened
    read-only for the search.
    """
    from desktop.cli.store import open_store
    from desktop.storage.documents import DocumentStore

    with ExitStack() as stack:
        if store is None:
            store = stack.enter_context(open_store(paths, writing=False))
        embed_query = stack.enter_context(query_embedder(paths))
        documents = DocumentStore(store.db, embed_query)
        ids = [_require(documents, name) for name in names]
        hits = documents.search(question, ids, limit=PASSAGES_CONSIDERED)
    if not hits:
        print(
            f"hearth: no passage in {', '.join(names)} matches the question; answering "
            "without them.",
            file=sys.stderr,
        )
    return hits


def print_sources(sources: list[Source], out: TextIO) -> None:
    if sources:
        print("\nSources:", file=out)
        for source in sources:
            print(f"{source.label()}\n    {source.path}", file=out)
