"""Exports that read like the chat: the window and `hearth export` both come through here.

Markdown and JSON are written by `desktop.storage.export` as they are. HTML renders each
reply with the window's Markdown renderer (its web flavour: tables, lists, headings,
highlighted code with a light and a dark style; raw HTML from the model escaped). PDF renders
the same replies with the window's own Qt flavour into a printable page that a `PdfWriter`
(Qt's `QTextDocument` + `QPdfWriter`, which lives in the window's layer) turns into pages
with the title in the header and page numbers in the footer.

Plain Python (no Qt). Thread: the caller's.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from desktop.chat.markdown import MarkdownRenderer, WebMarkdownRenderer
from desktop.core.errors import OutputFileError
from desktop.core.files import write_private_file
from desktop.storage.conversations import Conversation, ConversationStore, StoredMessage
from desktop.storage.export import ExportReport, select_conversations, write_export

ExportFormat = Literal["md", "html", "json", "pdf"]
FORMATS: tuple[ExportFormat, ...] = ("md", "html", "json", "pdf")
#: Writes `html` (Qt's rich-text subset) as a PDF titled `title`; returns the PDF's bytes.
PdfWriter = Callable[[str, str], bytes]
_SPEAKERS = {"system": "System", "user": "You", "assistant": "Assistant"}


def export_conversations(
    store: ConversationStore,
    out: Path,
    fmt: ExportFormat,
    conversation_ids: Sequence[int] | None = None,
    *,
    pdf_writer: PdfWriter | None = None,
) -> ExportReport:
    """Write the export to `out` (a new private file, or a regular file replaced at once)."""
    if fmt == "pdf":
        if pdf_writer is None:
            raise OutputFileError("A PDF cannot be made here; export as HTML and print it.")
        conversations = select_conversations(store, conversation_ids)
        page = pdf_page(store, conversations)
        title = _title(conversations[0]) if len(conversations) == 1 else "Hearth conversations"
        write_private_file(out, pdf_writer(page, title))
        return ExportReport(len(conversations))
    renderer = WebMarkdownRenderer() if fmt == "html" else None
    return write_export(store, out, fmt, conversation_ids, renderer)


def pdf_page(store: ConversationStore, conversations: Sequence[Conversation]) -> str:
    """One page of Qt rich text: each conversation (from a new page), replies rendered."""
    renderer = MarkdownRenderer()
    parts = []
    for number, conv in enumerate(conversations):
        brk = ' style="page-break-before: always;"' if number else ""
        parts.append(f"<h1{brk}>{html.escape(_title(conv))}</h1>")
        when = conv.created_at.strftime("%Y-%m-%d %H:%M")
        parts.append(f'<p style="color:#57606a;">Created {when}</p>')
        for message in store.branch(conv.id):
            parts.append(_pdf_message(message, renderer))
    return "<html><body>" + "\n".join(parts) + "</body></html>"


def _pdf_message(message: StoredMessage, renderer: MarkdownRenderer) -> str:
    note = "" if message.status == "complete" else f" ({message.status})"
    head = f'<p style="color:#57606a; font-weight:600;">{_SPEAKERS[message.role]}{note}</p>'
    if message.role == "assistant":
        return head + renderer.render(message.content)
    text = html.escape(message.content).replace("\n", "<br>")
    return head + f'<p style="background-color:#eef3ff;">{text}</p>'


def _title(conv: Conversation) -> str:
    return " ".join(conv.title.split()) or "Untitled conversation"
