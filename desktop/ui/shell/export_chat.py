"""Export this chat (the window's ⋯ menu): the open conversation as Markdown, HTML or JSON,
written the way `hearth export` writes it (a new private file, or one replaced whole).

Thread: GUI thread only (the export of one conversation is small).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.core.errors import HearthError
from desktop.storage.conversations import ConversationStore
from desktop.storage.export import ExportFormat, write_export

#: The file dialog's filters and the format each writes.
FILTERS: dict[str, ExportFormat] = {
    "Markdown (*.md)": "md",
    "Web page (*.html)": "html",
    "Hearth JSON, to import again (*.json)": "json",
}
SUFFIXES: dict[ExportFormat, str] = {"md": ".md", "html": ".html", "json": ".json"}

#: Asks where to save: (parent, suggested name) -> (path or "", chosen filter).
ChooseFile = Callable[[QWidget, str], tuple[str, str]]


def ask_for_file(parent: QWidget, suggested: str) -> tuple[str, str]:
    return QFileDialog.getSaveFileName(
        parent, "Export this chat", suggested, ";;".join(FILTERS), next(iter(FILTERS))
    )


def export_conversation(
    parent: QWidget,
    store: ConversationStore,
    conversation_id: int | None,
    choose: ChooseFile = ask_for_file,
) -> tuple[bool, str] | None:
    """Ask where, then write: (failed, a sentence saying what happened), or None when the
    user cancelled. Raises nothing: a failure is said in the sentence."""
    if conversation_id is None:
        return False, "Nothing to export yet: this chat has no messages."
    conversation = store.get_conversation(conversation_id)
    title = (conversation.title if conversation is not None else "") or "Chat"
    safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in title).strip() or "Chat"
    chosen, selected = choose(parent, f"{safe[:60]}.md")
    if not chosen:
        return None
    fmt = FILTERS.get(selected) or _format_of(Path(chosen))
    path = Path(chosen)
    if not path.suffix:
        path = path.with_suffix(SUFFIXES[fmt])
    try:
        write_export(store, path, fmt, [conversation_id])
    except (HearthError, OSError) as error:
        return True, f"The chat was not exported: {error}"
    return False, f"Exported this chat to {path}."


def _format_of(path: Path) -> ExportFormat:
    for fmt, suffix in SUFFIXES.items():
        if path.suffix.lower() == suffix:
            return fmt
    return "md"
