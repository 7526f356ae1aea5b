"""Export conversations to Markdown, HTML or JSON, and import Hearth's JSON back.

Markdown and HTML show each conversation's current branch, for reading. Markdown carries
the text as written, after a small front matter (title, dates, model, assistant). The HTML
page is self-contained (inline style, no script, a Content-Security-Policy that loads
nothing), prints well (a page per conversation, no backgrounds) and follows the reader's
dark or light scheme. Replies are rendered by a `ReplyRenderer` when one is given (the
window's Markdown renderer, from `desktop.chat.export`), else shown as escaped text; every
other piece of text is escaped.

JSON is the lossless format, "hearth-conversations" version 1 (UTF-8)::

    {
      "format": "hearth-conversations",
      "version": 1,
      "exported_at": "2026-01-31T12:00:00.000000+00:00",   # informative, ignored on import
      "conversations": [
        {
          "title": "Baking bread",
          "created_at": "<ISO 8601>", "updated_at": "<ISO 8601>",  # naive times mean UTC
          "pinned": false,
          "model_path": null, "system_prompt": null,         # optional, string or null
          "current_leaf_id": 3,            # the last message of the branch shown, or null
          "messages": [                    # the whole tree, every branch
            {"id": 1, "parent_id": null, "role": "user", "content": "...",
             "status": "complete", "created_at": "<ISO 8601>",
             "stats": null,                # optional JSON object (generation statistics)
             "model": null, "server": null}  # optional: a reply's model and server (null:
                                             # this computer, or not known)
          ]
        }
      ]
    }

`id`s are references inside one conversation only (`parent_id`, `current_leaf_id`); an
import gives new ids. Siblings (versions of a message) keep their order in the list. `role` is
system, user or assistant; `status` is complete, incomplete, cancelled, error or streaming
(imported as incomplete). Unknown keys are ignored.

`import_json()` validates the whole file first (types, roles, statuses, times, references,
cycles, sizes) and then inserts everything in one transaction: a malformed or hostile file
raises `ConversationImportError` and changes nothing.
"""

from __future__ import annotations

import heapq
import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, NoReturn, Protocol

from desktop.core.errors import ConversationImportError, DatabaseDamagedError, HearthError
from desktop.core.files import write_private_file
from desktop.core.servers import RanOn, split_remote_key
from desktop.storage.conversations import (
    ROLES,
    STATUSES,
    Conversation,
    ConversationStore,
    StoredMessage,
    storable,
    to_db_time,
)

FORMAT_NAME = "hearth-conversations"
FORMAT_VERSION = 1
ExportFormat = Literal["md", "html", "json"]
_SPEAKERS = {"system": "System", "user": "You", "assistant": "Assistant"}
_STYLE = """
:root{color-scheme:light dark;--fg:#1f2328;--muted:#57606a;--bg:#fff;--you:#eef3ff;
--reply:#f6f7f9;--system:#fff8e6;--line:#d0d7de;--code:#f3f4f6}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;
--you:#1c2a44;--reply:#161b22;--system:#2d2616;--line:#3d444d;--code:#1b1f26}}
body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;
color:var(--fg);background:var(--bg);line-height:1.5}
article{margin-bottom:3em}.meta{color:var(--muted);font-size:.85em}
.message{border-radius:8px;padding:.6em 1em;margin:.8em 0;overflow-wrap:anywhere}
.user{background:var(--you)}.assistant{background:var(--reply)}
.system{background:var(--system)}.plain{white-space:pre-wrap}
h2{font-size:.9em;margin:0 0 .3em;color:var(--muted)}
.content h3,.content h4,.content h5,.content h6{margin:.8em 0 .3em}
.content table{border-collapse:collapse;margin:.6em 0;display:block;overflow-x:auto}
.content th,.content td{border:1px solid var(--line);padding:.3em .6em;text-align:left}
.content th{border-bottom-width:2px}
.content code{font-family:ui-monospace,'DejaVu Sans Mono',Consolas,monospace;font-size:.92em;
background:var(--code);border-radius:4px;padding:0 .2em}
.content pre{background:var(--code);border:1px solid var(--line);border-radius:6px;
padding:.7em 1em;white-space:pre-wrap;overflow-wrap:anywhere}
.content pre code{background:none;padding:0}
.content pre[data-language]::before{content:attr(data-language);display:block;
color:var(--muted);font-size:.8em;margin-bottom:.3em}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444}
body{max-width:none;margin:0;background:#fff;color:#000}
article{break-after:page;margin:0}article:last-child{break-after:auto}
.message{background:none!important;border:1px solid #bbb;break-inside:avoid-page}
.content pre{background:none;border:1px solid #bbb;break-inside:avoid}}
"""


class ReplyRenderer(Protocol):
    """Turns a reply's Markdown into safe HTML, with the CSS its output needs."""

    def render(self, text: str) -> str: ...

    def stylesheet(self) -> str: ...


def select_conversations(store: ConversationStore, ids: Sequence[int] | None) -> list[Conversation]:
    """The conversations `ids` (default: all outside the trash); a missing one is a sentence."""
    if ids is None:
        return store.list_conversations(0, max(store.count_conversations(), 1))
    found = [store.get_conversation(cid) for cid in ids]
    missing = [cid for cid, conv in zip(ids, found, strict=True) if conv is None]
    if missing:
        numbers = ", ".join(str(cid) for cid in dict.fromkeys(missing))
        raise HearthError(
            f"There is no conversation {numbers} (`hearth search` shows each conversation's "
            "number in brackets). Nothing was written."
        )
    return [conv for conv in found if conv is not None]


def _note(message: StoredMessage) -> str:
    """After the speaker: a reply's server (where it ran), and a status other than complete."""
    notes = []
    if message.role == "assistant" and message.server is not None:
        notes.append(RanOn(message.model or "a model", message.server).describe())
    if message.status != "complete":
        notes.append(message.status)
    return f" ({', '.join(notes)})" if notes else ""


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shown(store: ConversationStore, conv: Conversation) -> list[StoredMessage]:
    """The current branch; for a conversation salvaged without its row, every message."""
    if isinstance(conv, _Salvaged):
        return list(conv.found)
    return store.branch(conv.id)


def _every(store: ConversationStore, conv: Conversation) -> list[StoredMessage]:
    if isinstance(conv, _Salvaged):
        return list(conv.found)
    return store.messages(conv.id)


def _model_name(model_path: str | None) -> str | None:
    if not model_path:
        return None
    remote = split_remote_key(model_path)
    if remote is not None:  # the conversation went to the user's server: said in every format
        return f"{remote[1]} on your server {remote[0]}"
    return "the built-in model" if model_path == "embedded" else Path(model_path).stem


def _title(conv: Conversation) -> str:
    return " ".join(conv.title.split()) or "Untitled conversation"


def _markdown_part(store: ConversationStore, conv: Conversation) -> str:
    lines = [f"# {_title(conv)}", ""]
    about = [f"Created {_day(conv.created_at)}, updated {_day(conv.updated_at)}"]
    model = _model_name(conv.model_path)
    if model:
        about.append(f"model {model}")
    if conv.assistant_id:
        about.append(f"assistant {conv.assistant_id}")
    lines += [f"*{', '.join(about)}*", ""]
    if conv.system_prompt:
        lines += ["## System prompt", "", conv.system_prompt, ""]
    for message in _shown(store, conv):
        lines += [f"## {_SPEAKERS[message.role]}{_note(message)}", "", message.content, ""]
    return "\n".join(lines)


def _front_matter(conversations: Sequence[Conversation]) -> str:
    """A YAML front matter: the conversation's title, dates, model and assistant."""
    if len(conversations) != 1:
        return f"---\ntitle: Hearth conversations\nconversations: {len(conversations)}\n---\n\n"
    conv = conversations[0]
    fields = {
        "title": _title(conv),
        "created": conv.created_at.astimezone(UTC).isoformat(timespec="seconds"),
        "updated": conv.updated_at.astimezone(UTC).isoformat(timespec="seconds"),
        "model": _model_name(conv.model_path),
        "assistant": conv.assistant_id,
    }
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n"


def _markdown_page(parts: list[Any], conversations: Sequence[Conversation] = ()) -> str:
    return _front_matter(conversations) + "\n---\n\n".join(parts)


def _escaped(text: str) -> str:
    return f'<div class="content plain">{html.escape(text)}</div>'


def _html_part(
    store: ConversationStore, conv: Conversation, renderer: ReplyRenderer | None = None
) -> str:
    body = [f"<article><h1>{html.escape(_title(conv))}</h1>"]
    about = [f"Created {_day(conv.created_at)}, updated {_day(conv.updated_at)}"]
    model = _model_name(conv.model_path)
    if model:
        about.append(f"model {html.escape(model)}")
    if conv.assistant_id:
        about.append(f"assistant {html.escape(conv.assistant_id)}")
    body.append(f'<p class="meta">{", ".join(about)}</p>')
    if conv.system_prompt:
        body.append('<section class="message system"><h2>System prompt</h2>')
        body.append(f"{_escaped(conv.system_prompt)}</section>")
    for message in _shown(store, conv):
        speaker = html.escape(_SPEAKERS[message.role] + _note(message))
        body.append(f'<section class="message {message.role}"><h2>{speaker}</h2>')
        if message.role == "assistant" and renderer is not None:
            body.append(f'<div class="content">{renderer.render(message.content)}</div>')
        else:
            body.append(_escaped(message.content))
        body.append("</section>")
    return "\n".join([*body, "</article>"])


def _html_page(
    parts: list[Any],
    conversations: Sequence[Conversation] = (),
    renderer: ReplyRenderer | None = None,
) -> str:
    title = _title(conversations[0]) if len(conversations) == 1 else "Hearth conversations"
    extra = "" if renderer is None else renderer.stylesheet()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title><style>{_STYLE}{extra}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def _message_record(message: StoredMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "parent_id": message.parent_id,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "created_at": to_db_time(message.created_at),
        "stats": message.stats,
        "model": message.model,
        "server": message.server,
    }


def _json_part(store: ConversationStore, conv: Conversation) -> dict[str, Any]:
    return {
        "title": conv.title,
        "created_at": to_db_time(conv.created_at),
        "updated_at": to_db_time(conv.updated_at),
        "pinned": conv.pinned,
        "model_path": conv.model_path,
        "system_prompt": conv.system_prompt,
        "current_leaf_id": conv.current_leaf_id,
        "messages": [_message_record(m) for m in _every(store, conv)],
    }


def _json_page(parts: list[Any], _conversations: Sequence[Conversation] = ()) -> str:
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": to_db_time(datetime.now(UTC)),
        "conversations": parts,
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


_Part = Callable[[ConversationStore, Conversation], Any]
_Page = Callable[[list[Any], Sequence[Conversation]], str]


def _formatters(fmt: str, renderer: ReplyRenderer | None = None) -> tuple[_Part, _Page]:
    if fmt == "html":
        return partial(_html_part, renderer=renderer), partial(_html_page, renderer=renderer)
    if fmt == "md":
        return _markdown_part, _markdown_page
    return _json_part, _json_page


def _render(
    store: ConversationStore,
    fmt: str,
    ids: Sequence[int] | None,
    renderer: ReplyRenderer | None = None,
) -> str:
    part, page = _formatters(fmt, renderer)
    selected = select_conversations(store, ids)
    return page([part(store, conv) for conv in selected], selected)


def export_markdown(store: ConversationStore, conversation_ids: Sequence[int] | None = None) -> str:
    """The current branch of each conversation (default: all outside the trash) as Markdown."""
    return _render(store, "md", conversation_ids)


def export_html(
    store: ConversationStore,
    conversation_ids: Sequence[int] | None = None,
    renderer: ReplyRenderer | None = None,
) -> str:
    """The current branch of each conversation as one self-contained HTML page (replies
    rendered by `renderer`, else escaped like everything else)."""
    return _render(store, "html", conversation_ids, renderer)


def export_json(store: ConversationStore, conversation_ids: Sequence[int] | None = None) -> str:
    """Conversations (default: all outside the trash), every branch, in the format above."""
    return _render(store, "json", conversation_ids)


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote: `exported` conversations, of which `rebuilt` only from the
    messages that could still be read; `unreadable` ones could not be read at all."""

    exported: int
    unreadable: tuple[int, ...] = ()
    rebuilt: tuple[int, ...] = ()


@dataclass(frozen=True)
class _Salvaged(Conversation):
    """A conversation of a damaged database, with the messages that could be read."""

    found: tuple[StoredMessage, ...] = ()


def _salvaged(cid: int, conv: Conversation | None, messages: list[StoredMessage]) -> _Salvaged:
    # A message whose parent was lost follows the one before it, so the export imports.
    kept: list[StoredMessage] = []
    for message in messages:
        known = {m.id for m in kept}
        if message.parent_id is not None and message.parent_id not in known:
            message = replace(message, parent_id=kept[-1].id if kept else None)
        kept.append(message)
    messages = kept
    return _Salvaged(
        id=cid,
        title=conv.title if conv else f"Conversation {cid} (its title could not be read)",
        created_at=conv.created_at if conv else messages[0].created_at,
        updated_at=conv.updated_at if conv else messages[-1].created_at,
        pinned=conv.pinned if conv else False,
        deleted_at=None,
        model_path=conv.model_path if conv else None,
        system_prompt=conv.system_prompt if conv else None,
        current_leaf_id=messages[-1].id,
        found=tuple(messages),
    )


class _MessageScan:
    """Every readable message of a damaged database, read row by row, by conversation."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store
        self._by_conversation: dict[int, list[StoredMessage]] | None = None

    def of(self, conversation_id: int) -> list[StoredMessage]:
        if self._by_conversation is None:
            self._by_conversation = self._scan()
        return self._by_conversation.get(conversation_id, [])

    def _scan(self) -> dict[int, list[StoredMessage]]:
        found: dict[int, list[StoredMessage]] = {}
        for message_id in range(1, _highest(self._store, _MESSAGE_IDS) + 1):
            try:
                message = self._store.message_alone(message_id)
            except DatabaseDamagedError:
                self._store.db.reconnect()
                continue
            if message is not None:
                found.setdefault(message.conversation_id, []).append(message)
        return found


def _salvage(
    store: ConversationStore,
    fmt: str,
    ids: Sequence[int] | None,
    renderer: ReplyRenderer | None = None,
) -> tuple[str, ExportReport]:
    """Everything readable of a damaged database, one conversation at a time."""
    part, page = _formatters(fmt, renderer)
    store.db.reconnect()  # SQLCipher refuses every read on a connection after a damaged page
    if ids is not None:
        candidates: Sequence[int] = ids
    else:
        try:
            candidates = [conv.id for conv in select_conversations(store, None)]
        except DatabaseDamagedError:  # the list itself is damaged: try every number
            store.db.reconnect()
            candidates = range(1, _highest(store, _CONVERSATION_IDS) + 1)
    parts, unreadable, rebuilt, shown = [], [], [], []
    scan = _MessageScan(store)
    for cid in candidates:
        conv = None
        try:
            conv = store.get_conversation(cid)
            if conv is None or (ids is None and conv.in_trash):
                continue
            parts.append(part(store, conv))
            shown.append(conv)
            continue
        except DatabaseDamagedError:
            store.db.reconnect()
        messages = scan.of(cid)
        if messages:
            salvaged = _salvaged(cid, conv, messages)
            parts.append(part(store, salvaged))
            shown.append(salvaged)
            rebuilt.append(cid)
        else:
            unreadable.append(cid)
    if ids is not None and not parts and not unreadable:
        select_conversations(store, ids)  # says which numbers do not exist
    return page(parts, shown), ExportReport(len(parts), tuple(unreadable), tuple(rebuilt))


_CONVERSATION_IDS = (
    "SELECT max(id) FROM conversations",
    "SELECT max(conversation_id) FROM messages",
)
_MESSAGE_IDS = ("SELECT max(id) FROM messages", "SELECT max(current_leaf_id) FROM conversations")


def _highest(store: ConversationStore, queries: Sequence[str]) -> int:
    for sql in queries:
        try:
            return int(store.db.scalar(sql) or 0)
        except DatabaseDamagedError:
            store.db.reconnect()
    return 0


def write_export(
    store: ConversationStore,
    path: Path,
    fmt: ExportFormat,
    conversation_ids: Sequence[int] | None = None,
    renderer: ReplyRenderer | None = None,
) -> ExportReport:
    """Write an export to `path`: a new private file, or a regular file replaced atomically.

    A damaged database gives what can still be read (see `ExportReport`). Raises
    `OutputFileError` when `path` cannot be written (a link, folder, device, missing folder,
    full disk); nothing is then left behind.
    """
    text, report = render_export(store, fmt, conversation_ids, renderer)
    write_private_file(path, text.encode("utf-8"))
    return report


def render_export(
    store: ConversationStore,
    fmt: ExportFormat,
    conversation_ids: Sequence[int] | None = None,
    renderer: ReplyRenderer | None = None,
) -> tuple[str, ExportReport]:
    """The export's text, and what it holds (a damaged database gives what can be read)."""
    try:
        selected = select_conversations(store, conversation_ids)
        part, page = _formatters(fmt, renderer)
        parts = [part(store, c) for c in selected]
        return page(parts, selected), ExportReport(len(selected))
    except DatabaseDamagedError:
        return _salvage(store, fmt, conversation_ids, renderer)


# -- import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportLimits:
    """What an import accepts at most; anything beyond is refused as hostile."""

    max_bytes: int = 200 * 1024 * 1024
    max_conversations: int = 100_000
    max_messages: int = 2_000_000
    max_text_chars: int = 20_000_000


@dataclass(frozen=True)
class _Message:
    key: int
    parent: int | None
    values: tuple[Any, ...]  # role, content, created_at, status, stats_json


@dataclass(frozen=True)
class _Conversation:
    values: tuple[Any, ...]  # title, created_at, updated_at, pinned, model_path, system_prompt
    messages: list[_Message]  # parents before children
    leaf: int | None


_JSON_NAMES: dict[type, str] = {
    dict: "an object",
    list: "a list",
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _fail(where: str, problem: str) -> NoReturn:
    raise ConversationImportError(
        f"This file cannot be imported ({where}: {problem}). Nothing was imported."
    )


class _Validator:
    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.message_count = 0

    def get(self, obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
        value = obj.get(key)
        place = f"{where}.{key}" if where else key
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = " or ".join(_JSON_NAMES[k] for k in kinds)
            found = "nothing" if key not in obj else _JSON_NAMES.get(type(value), "?")
            _fail(place, f"expected {expected}, found {found}")
        if isinstance(value, str) and len(value) > self.limits.max_text_chars:
            _fail(place, f"text longer than {self.limits.max_text_chars} characters")
        return value

    def time(self, obj: dict[str, Any], key: str, where: str) -> str:
        try:
            moment = datetime.fromisoformat(self.get(obj, key, str, where))
            return to_db_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        except (ValueError, OverflowError):
            _fail(f"{where}.{key}", "not an ISO 8601 time")

    def choice(self, obj: dict[str, Any], key: str, choices: frozenset[str], where: str) -> str:
        value: str = self.get(obj, key, str, where)
        if value not in choices:
            _fail(f"{where}.{key}", f"{value[:40]!r} is not one of {', '.join(sorted(choices))}")
        return value

    def message(self, raw: Any, where: str) -> _Message:
        if not isinstance(raw, dict):
            _fail(where, "expected an object")
        status = self.choice(raw, "status", STATUSES, where)
        stats = self.get(raw, "stats", (dict, type(None)), where)
        values = (
            self.choice(raw, "role", ROLES, where),
            storable(self.get(raw, "content", str, where)),
            self.time(raw, "created_at", where),
            "incomplete" if status == "streaming" else status,
            None if stats is None else json.dumps(stats, sort_keys=True),
            self.get(raw, "model", (str, type(None)), where),  # older exports: not there
            self.get(raw, "server", (str, type(None)), where),
        )
        parent = self.get(raw, "parent_id", (int, type(None)), where)
        return _Message(self.get(raw, "id", int, where), parent, values)

    def conversation(self, raw: Any, where: str) -> _Conversation:
        if not isinstance(raw, dict):
            _fail(where, "expected an object")
        raw_messages = self.get(raw, "messages", list, where)
        self.message_count += len(raw_messages)
        if self.message_count > self.limits.max_messages:
            _fail(where, f"more than {self.limits.max_messages} messages in the file")
        messages = [self.message(m, f"{where}.messages[{i}]") for i, m in enumerate(raw_messages)]
        values = (
            self.get(raw, "title", str, where),
            self.time(raw, "created_at", where),
            self.time(raw, "updated_at", where),
            int(self.get(raw, "pinned", bool, where)),
            self.get(raw, "model_path", (str, type(None)), where),
            self.get(raw, "system_prompt", (str, type(None)), where),
        )
        leaf = self.get(raw, "current_leaf_id", (int, type(None)), where)
        keys = {m.key for m in messages}
        if len(keys) != len(messages):
            _fail(f"{where}.messages", "two messages share an id")
        if leaf is not None and leaf not in keys:
            _fail(f"{where}.current_leaf_id", f"no message has id {leaf}")
        return _Conversation(values, _parents_first(messages, keys, where), leaf)


def _parents_first(messages: list[_Message], keys: set[int], where: str) -> list[_Message]:
    """The messages ordered so each parent precedes its children, siblings in file order."""
    children: dict[int | None, list[int]] = {}
    for index, message in enumerate(messages):
        if message.parent is not None and message.parent not in keys:
            _fail(f"{where}.messages[{index}].parent_id", f"no message has id {message.parent}")
        children.setdefault(message.parent, []).append(index)
    ready = list(children.get(None, []))
    ordered: list[_Message] = []
    while ready:
        message = messages[heapq.heappop(ready)]
        ordered.append(message)
        for child in children.get(message.key, []):
            heapq.heappush(ready, child)
    if len(ordered) != len(messages):
        _fail(f"{where}.messages", "parent references form a cycle")
    return ordered


def _size(count: int) -> str:
    return f"{count / 2**20:g} MB" if count >= 2**20 else f"{count} bytes"


def _load(source: Path | str, limits: ImportLimits) -> Any:
    if isinstance(source, Path):
        try:
            if source.stat().st_size > limits.max_bytes:
                _fail(source.name, f"larger than {_size(limits.max_bytes)}")
            text = source.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise ConversationImportError(
                f"Hearth cannot read {source}: {error}. Nothing was imported."
            ) from error
    else:
        text = source
        if len(text) > limits.max_bytes or len(text.encode("utf-8", "replace")) > limits.max_bytes:
            _fail("file", f"larger than {_size(limits.max_bytes)}")
    try:
        return json.loads(text)
    except RecursionError as error:
        raise ConversationImportError(
            "This file cannot be imported (it is nested too deeply). Nothing was imported."
        ) from error
    except ValueError as error:
        raise ConversationImportError(
            f"This file is not valid JSON ({error}). Nothing was imported."
        ) from error


def import_json(
    store: ConversationStore, source: Path | str, limits: ImportLimits = ImportLimits()
) -> list[int]:
    """Import a JSON export (`Path`: a file; `str`: the JSON text); returns the new ids."""
    document = _load(source, limits)
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        _fail("format", "not a Hearth conversations export")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _fail("version", "missing or not a format version")
    if version > FORMAT_VERSION:
        _fail("version", f"made by a newer Hearth (format version {version})")
    validator = _Validator(limits)
    raw_conversations = validator.get(document, "conversations", list, "")
    if len(raw_conversations) > limits.max_conversations:
        _fail("conversations", f"more than {limits.max_conversations} conversations")
    parsed = [
        validator.conversation(raw, f"conversations[{index}]")
        for index, raw in enumerate(raw_conversations)
    ]
    new_ids = []
    db = store.db
    with db.transaction():
        for conv in parsed:
            cursor = db.execute(
                "INSERT INTO conversations (title, created_at, updated_at, pinned, model_path,"
                " system_prompt) VALUES (?, ?, ?, ?, ?, ?)",
                conv.values,
            )
            conversation_id = int(cursor.lastrowid)
            mapping: dict[int, int] = {}
            for message in conv.messages:
                parent = None if message.parent is None else mapping[message.parent]
                cursor = db.execute(
                    "INSERT INTO messages (conversation_id, parent_id, role, content, created_at,"
                    " status, stats_json, model, server) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (conversation_id, parent, *message.values),
                )
                mapping[message.key] = int(cursor.lastrowid)
            leaf = None if conv.leaf is None else mapping[conv.leaf]
            db.execute(
                "UPDATE conversations SET current_leaf_id = ? WHERE id = ?",
                (leaf, conversation_id),
            )
            new_ids.append(conversation_id)
    return new_ids
