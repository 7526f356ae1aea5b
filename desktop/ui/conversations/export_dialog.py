"""Export one chat from the window: Markdown, a web page, PDF or Hearth's JSON.

The sidebar's "Export…" asks where to save with a file dialog whose filter picks the format
(the name's extension is added when missing), then writes with `desktop.chat.export`, the
code `hearth export` uses; the PDF is laid out here, with Qt. A refusal or a failure is
said in a message box; nothing half-written is left behind.

Thread: GUI thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from desktop.chat.export import ExportFormat, export_conversations
from desktop.core.errors import HearthError
from desktop.storage.conversations import ConversationStore
from desktop.ui.common.pdf import write_pdf

log = logging.getLogger(__name__)

FILTERS: dict[str, ExportFormat] = {
    "Markdown (*.md)": "md",
    "Web page (*.html)": "html",
    "PDF (*.pdf)": "pdf",
    "Hearth conversations, to import again (*.json)": "json",
}
#: Chooses where to save: (parent, caption, suggested path, filters) -> (path, filter) or ("", "").
PathChooser = Callable[[QWidget, str, str, str], tuple[str, str]]


def export_conversation(
    parent: QWidget,
    store: ConversationStore,
    conversation_id: int,
    choose: PathChooser = QFileDialog.getSaveFileName,
) -> Path | None:
    """Ask where, then write the chat there; the path written, or None (cancelled, refused)."""
    conversation = store.get_conversation(conversation_id)
    title = conversation.title if conversation is not None else ""
    stem = re.sub(r"[^\w\- ]+", "", title).strip()[:60] or "chat"
    chosen, chosen_filter = choose(
        parent, "Export chat", str(Path.home() / f"{stem}.md"), ";;".join(FILTERS)
    )
    if not chosen:
        return None
    fmt = FILTERS.get(chosen_filter) or _format_of(Path(chosen)) or "md"
    path = Path(chosen)
    if path.suffix.lower() != f".{fmt}":
        path = path.with_name(f"{path.name}.{fmt}")
    try:
        export_conversations(store, path, fmt, [conversation_id], pdf_writer=write_pdf)
    except HearthError as error:
        QMessageBox.warning(parent, "Export", str(error))
        return None
    except OSError as error:
        log.warning("export failed: %s", error, exc_info=True)
        QMessageBox.warning(parent, "Export", f"The chat could not be exported ({error}).")
        return None
    return path


def _format_of(path: Path) -> ExportFormat | None:
    suffix = path.suffix.lower().lstrip(".")
    return next((fmt for fmt in FILTERS.values() if fmt == suffix), None)
