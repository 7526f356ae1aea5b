"""A message of the branch shown (`MessageItem`), and how a request counts messages.

`MessageItem.position` is a message's place in the whole branch, so a view or a request
holding only the end of a long conversation still names messages the way the whole
branch would. `turns` / `last_turns` count what a request makes of messages (a question
following a question merges into one turn), which bounds how much history a request can
use. Plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from desktop.chat.cited import Cited, from_stats
from desktop.core.servers import RanOn
from desktop.core.types import Role
from desktop.storage.conversations import MessageStatus, StoredMessage


@dataclass(frozen=True)
class MessageItem:
    """One message on screen; `version` (0-based) of `versions` alternatives.

    `position`: its place in the whole branch (0 the first message; system messages not
    counted), also when the messages above it have not been read; -1 when not known (a
    list of items is then its own branch: the place in the list). `created_at`: when it
    was written (None when not known); not part of an item's identity.
    """

    id: int | None
    role: Role
    content: str
    status: MessageStatus = "complete"
    version: int = 0
    versions: int = 1
    position: int = -1
    #: The passages of the user's documents the reply was given (None: no collection used).
    cited: Cited | None = None
    created_at: datetime | None = field(default=None, compare=False)
    #: A reply's model and where it ran (None: not known).
    ran_on: RanOn | None = field(default=None, compare=False)

    @classmethod
    def from_stored(cls, message: StoredMessage, position: int = -1) -> MessageItem:
        return cls(
            message.id,
            message.role,
            message.content,
            message.status,
            message.sibling_index,
            message.sibling_count,
            position,
            from_stats(message.stats) if message.role == "assistant" else None,
            message.created_at,
            None if message.model is None else RanOn(message.model, message.server),
        )


def items_ending_at(messages: list[StoredMessage], end: int) -> list[MessageItem]:
    """The non-system `messages` as items whose positions end just before `end`."""
    shown = [m for m in messages if m.role != "system"]
    start = end - len(shown)
    return [MessageItem.from_stored(m, start + i) for i, m in enumerate(shown)]


def sent(item: MessageItem) -> bool:
    """Whether a request sends `item` (a question or a reply, with text)."""
    return item.role in ("user", "assistant") and bool(item.content.strip())


def turns(items: list[MessageItem]) -> int:
    """How many turns a request makes of `items` (consecutive questions merge)."""
    count, last = 0, ""
    for item in filter(sent, items):
        count += not (item.role == "user" == last)
        last = item.role
    return count


def last_turns(items: list[MessageItem], wanted: int) -> list[MessageItem]:
    """The shortest end of `items` that makes `wanted` turns (all of them if fewer)."""
    count, later, start = 0, "", len(items)
    while start > 0 and count < wanted:
        start -= 1
        item = items[start]
        if sent(item):
            count += not (item.role == "user" == later)  # a question merges into the next
            later = item.role
    return items[start:]
