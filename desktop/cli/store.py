"""Command-line access to the conversation store: saving `ask`, `search`, `export`, `import`.

Runs on the main thread with its own connection. One writer per data dir: a command that
writes takes the data dir's write lock (`desktop.storage.lock`) and refuses when the window
holds it; a command that only reads may run beside the window, but then neither migrates
nor recovers anything (those are writes, and the window's streaming reply is not
interrupted) and its connection is read-only.
"""

from __future__ import annotations

import html
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from desktop.cli.vault import database_key, make_vault
from desktop.core.errors import (
    DatabaseDamagedError,
    DatabaseError,
    DatabaseFullError,
    StoreInUseError,
)
from desktop.core.servers import RanOn
from desktop.core.types import GenerationStats
from desktop.paths import AppPaths
from desktop.storage.conversations import STREAM_SAVE_INTERVAL_S as SAVE_INTERVAL_S
from desktop.storage.conversations import ConversationStore
from desktop.storage.db import Database, open_database
from desktop.storage.export import import_json
from desktop.storage.lock import WriteLock
from desktop.storage.migrations import SCHEMA_VERSION, open_and_migrate, user_version

if TYPE_CHECKING:
    from desktop.chat.export import ExportFormat

log = logging.getLogger(__name__)

COMMAND_WAIT_S = 10.0  # how long a writing command waits for another command to finish


@contextmanager
def write_lock(
    paths: AppPaths, advice: str = "Close it and try again.", wait_s: float = COMMAND_WAIT_S
) -> Iterator[WriteLock]:
    """The data dir's write lock, held until exit; `StoreInUseError` (ending with `advice`)
    when the window holds it, or another command still does after `wait_s`."""
    paths.ensure()
    lock = WriteLock(paths.data_dir, "command line")
    try:
        _take(lock, advice, wait_s)
        yield lock
    finally:
        lock.release()


@contextmanager
def open_store(
    paths: AppPaths,
    *,
    writing: bool = True,
    advice: str = "Close it and try again.",
    wait_s: float = COMMAND_WAIT_S,
    held: WriteLock | None = None,
) -> Iterator[ConversationStore]:
    """The store in `paths.data_dir`, closed (and its lock released) on exit.

    `writing`: take the write lock, waiting up to `wait_s` for another command (never for
    the window), or raise `StoreInUseError`, whose message ends with `advice`. Otherwise
    take the lock if it is free. With the lock, the store is migrated and replies left
    streaming by a crash are marked incomplete; without it, it is opened read-only as is.
    `held`: the write lock, already taken by the caller (`write_lock`), who releases it.
    """
    paths.ensure()
    lock = held or WriteLock(paths.data_dir, "command line")
    try:
        if writing and held is None:
            _take(lock, advice, wait_s)
        elif not writing:
            try:
                lock.try_acquire()
            except DatabaseError as error:  # e.g. a read-only folder: reading still works
                log.warning("reading without the write lock: %s", error)
        try:
            db = _open_writable(paths) if lock.held else _open_read_only(paths, lock)
        except DatabaseFullError:
            if writing:
                raise
            # A full disk: read the file as it is, creating nothing beside it.
            log.warning("the disk is full: reading %s as it is", paths.database_path)
            lock.release()
            db = _open_as_is(paths)
        try:
            store = ConversationStore(db)
            if lock.held:
                try:
                    store.recover_interrupted()
                except DatabaseDamagedError:
                    if writing:
                        raise
                    log.warning("a damaged database: replies left streaming stay as they are")
                    db.reconnect()
            yield store
        finally:
            db.close()
    finally:
        if held is None:
            lock.release()


def _take(lock: WriteLock, advice: str, wait_s: float) -> None:
    if lock.try_acquire():
        return
    owner = lock.owner()
    try:
        lock.acquire(0.0 if owner.kind == "window" else wait_s)
    except StoreInUseError as error:
        raise StoreInUseError(
            f"{error} {advice}", holder_kind=error.holder_kind, holder_pid=error.holder_pid
        ) from error


def _open_writable(paths: AppPaths) -> Database:
    key = database_key(make_vault(paths))
    return open_and_migrate(paths.database_path, key=key, backup_dir=paths.data_dir / "backups")


def _open_read_only(paths: AppPaths, lock: WriteLock) -> Database:
    """The database as the lock's holder keeps it, on a connection that cannot write."""
    holder = lock.owner().describe()
    if not paths.database_path.exists():
        raise DatabaseError(
            f"There are no saved conversations in {paths.data_dir} yet ({holder} is "
            "starting to use it)."
        )
    key = database_key(make_vault(paths))
    db = open_database(paths.database_path, key=key, max_user_version=SCHEMA_VERSION)
    try:
        version = user_version(db)
        if version < SCHEMA_VERSION:
            raise DatabaseError(
                f"The conversation database at {paths.database_path} needs upgrading (schema "
                f"version {version} to {SCHEMA_VERSION}), which only the program using it may "
                f"do, and it is in use by {holder}. Close it and try again."
            )
        db.execute("PRAGMA query_only = ON")
    except BaseException:
        db.close()
        raise
    log.info("database opened read-only: the write lock is held by %s", holder)
    return db


def _open_as_is(paths: AppPaths) -> Database:
    key = database_key(make_vault(paths))
    return open_database(
        paths.database_path, key=key, max_user_version=SCHEMA_VERSION, immutable=True
    )


class ReplyRecorder:
    """Saves one exchange as it happens: the question first, the reply while it streams."""

    def __init__(
        self,
        store: ConversationStore,
        question: str,
        model_path: str,
        assistant_id: str | None = None,
        ran_on: RanOn | None = None,
    ) -> None:
        self._store = store
        self._ran_on = ran_on
        with store.db.transaction():  # both or neither: never an empty conversation
            conversation = store.create_conversation(
                model_path=model_path, assistant_id=assistant_id
            )
            self.conversation_id = conversation.id
            store.add_message(conversation.id, "user", question)
        self._reply_id: int | None = None
        self._text: list[str] = []
        self._saved_at = 0.0

    def on_token(self, piece: str) -> None:
        self._text.append(piece)
        now = time.monotonic()
        if self._reply_id is None:
            reply = self._store.add_message(
                self.conversation_id, "assistant", piece, status="streaming", ran_on=self._ran_on
            )
            self._reply_id = reply.id
            self._saved_at = now
        elif now - self._saved_at >= SAVE_INTERVAL_S:
            self._store.update_message_content(self._reply_id, "".join(self._text))
            self._saved_at = now

    def finish(self, stats: GenerationStats | None, cancelled: bool = False) -> None:
        status: Literal["complete", "cancelled", "error"] = (
            "error" if stats is None else "cancelled" if cancelled else "complete"
        )
        if self._reply_id is None:
            if not self._text and stats is not None and not cancelled:
                return
            reply = self._store.add_message(
                self.conversation_id, "assistant", "", status="streaming", ran_on=self._ran_on
            )
            self._reply_id = reply.id
        record: dict[str, Any] | None = None
        if stats is not None:
            record = {
                "prompt_tokens": stats.prompt_tokens,
                "generated_tokens": stats.generated_tokens,
                "time_to_first_token_s": stats.time_to_first_token_s,
                "total_s": stats.total_s,
            }
        self._store.finish_message(self._reply_id, status, record, content="".join(self._text))


_TAG = re.compile(r"</?b>")


def print_search(store: ConversationStore, query: str, out: TextIO, limit: int) -> int:
    hits = store.search(query, limit=limit)
    for hit in hits:
        snippet = html.unescape(_TAG.sub(lambda m: "**" if m.group() else "", hit.snippet_html))
        title = hit.title or "(untitled)"
        print(f"[{hit.conversation_id}] {title}: {' '.join(snippet.split())}", file=out)
    if not hits:
        print(f"No messages match {query!r}.", file=out)
    return 0 if hits else 1


def export_to(store: ConversationStore, fmt: ExportFormat, out: Path, ids: list[int] | None) -> int:
    """Write the export; a damaged database gives what it can, and says what it could not."""
    from desktop.chat.export import export_conversations  # its renderers: only to export
    from desktop.cli.pdf import pdf_in_child

    report = export_conversations(store, out, fmt, ids, pdf_writer=pdf_in_child)
    if not report.unreadable and not report.rebuilt:
        return 0
    lost = ""
    if report.unreadable:
        lost = f", but {len(report.unreadable)} could not be read ({_numbers(report.unreadable)})"
    rebuilt = ""
    if report.rebuilt:
        rebuilt = (
            f", {len(report.rebuilt)} of them only with the messages that could be read "
            f"({_numbers(report.rebuilt)})"
        )
    print(
        f"hearth: The conversation database is damaged: {report.exported} conversation(s) were "
        f"written to {out}{rebuilt}{lost}. To go on with a sound database, export as JSON, "
        "move hearth.db and hearth.db.keyinfo.json aside (keep them), then run `hearth import` "
        "on the export.",
        file=sys.stderr,
    )
    return 1


def _numbers(ids: tuple[int, ...]) -> str:
    shown = ", ".join(str(n) for n in sorted(ids)[:10])
    return f"number {shown}{', ...' if len(ids) > 10 else ''}"


def import_from(store: ConversationStore, source: Path, out: TextIO) -> int:
    ids = import_json(store, source)
    print(f"Imported {len(ids)} conversation(s) from {source}.", file=out)
    return 0
