"""Command-line access to the conversation store: saving `ask`, `search`, `export`, `import`.

Runs on the main thread with its own connection; the window is not involved.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TextIO

from desktop.core.types import GenerationStats
from desktop.paths import AppPaths
from desktop.storage.conversations import STREAM_SAVE_INTERVAL_S as SAVE_INTERVAL_S
from desktop.storage.conversations import ConversationStore
from desktop.storage.export import import_json, write_export
from desktop.storage.migrations import open_and_migrate


@contextmanager
def open_store(paths: AppPaths) -> Iterator[ConversationStore]:
    """The store in `paths.data_dir`, migrated, closed on exit."""
    paths.ensure()
    db = open_and_migrate(paths.database_path, backup_dir=paths.data_dir / "backups")
    try:
        store = ConversationStore(db)
        store.recover_interrupted()
        yield store
    finally:
        db.close()


class ReplyRecorder:
    """Saves one exchange as it happens: the question first, the reply while it streams."""

    def __init__(self, store: ConversationStore, question: str, model_path: str) -> None:
        self._store = store
        conversation = store.create_conversation(model_path=model_path)
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
                self.conversation_id, "assistant", piece, status="streaming"
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
                self.conversation_id, "assistant", "", status="streaming"
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


def export_to(
    store: ConversationStore, fmt: Literal["md", "html", "json"], out: Path, ids: list[int] | None
) -> int:
    write_export(store, out, fmt, ids)
    return 0


def import_from(store: ConversationStore, source: Path, out: TextIO) -> int:
    ids = import_json(store, source)
    print(f"Imported {len(ids)} conversation(s) from {source}.", file=out)
    return 0
