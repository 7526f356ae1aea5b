"""The open conversation: the branch on screen and how it is saved.

`ConversationSession` holds the messages shown (one branch of the stored message tree,
as `MessageItem`s) and turns every change into store calls: a question is committed
before its reply is requested, a streaming reply is written at most once per
`STREAM_SAVE_INTERVAL_S`, and editing, regenerating or choosing another version moves
to another branch while the old ones are kept. Without a store the same operations
work on the list in memory (no versions are kept).

A long conversation is not read whole: `open` reads the newest `PAGE_SIZE` messages
(`BranchPages`), `load_older` the page above them as the view nears the top, and
`context_items` as many older messages as the model's window could possibly hold (each
message takes at least one token), so the request still sees all the history that fits.
Each `MessageItem` knows its `position` in the whole branch; the positions the view and
the controller pass back (edit, regenerate, versions) are those.

Plain Python (no Qt); store errors (`DatabaseError`) propagate to the caller, which
turns them into messages. Thread: GUI thread only (the worker never touches the store).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

from desktop.chat.cited import from_stats
from desktop.chat.items import MessageItem, items_ending_at, last_turns, sent, turns
from desktop.core.errors import ActionRefusedError, ConversationGoneError
from desktop.core.servers import RanOn
from desktop.core.types import ChatMessage
from desktop.storage.branch_pages import BranchPages
from desktop.storage.conversations import (
    STREAM_SAVE_INTERVAL_S,
    ConversationStore,
    MessageStatus,
    Role,
)

#: Reply statuses that can be continued: the text so far stays and the model goes on.
CONTINUABLE = frozenset({"incomplete", "cancelled"})
#: How many messages opening a chat reads, and each step up as the view nears the top.
PAGE_SIZE = 150


class ConversationSession:
    """The branch of one conversation that is shown, kept in step with the store."""

    def __init__(
        self, store: ConversationStore | None, save_interval_s: float = STREAM_SAVE_INTERVAL_S
    ) -> None:
        self.store = store
        self.pages = None if store is None else BranchPages(store.db)
        self.conversation_id: int | None = None
        #: The messages read for the view: the end of the branch, `PAGE_SIZE` at a time.
        self.items: list[MessageItem] = []
        #: Messages above `items` read for the model's request only, oldest first.
        self._above: list[MessageItem] = []
        #: The open conversation's choices (a new chat keeps the previous chat's).
        self.assistant_id: str | None = None
        self.model_key: str | None = None
        self._save_interval_s = save_interval_s
        self._saved_at = 0.0

    # --- queries -----------------------------------------------------------------------

    def history(self) -> list[ChatMessage]:
        """What the model sees of this conversation (empty messages left out)."""
        return [ChatMessage(item.role, item.content) for item in self.context_items() if sent(item)]

    def index_of(self, message_id: int) -> int | None:
        """The position in the branch of a message that has been read, else None."""
        for item in self.items:
            if item.id == message_id:
                return item.position
        return None

    @property
    def has_older(self) -> bool:
        """Whether the branch has messages above the ones read for the view."""
        return bool(self.items) and self.items[0].position > 0

    def context_items(self, max_turns: int | None = None) -> list[MessageItem]:
        """The end of the branch that a request may need: more than `max_turns` turns
        (all of it when None or when it is shorter), read from the store as needed.

        A model with a window of n tokens never fits more than n turns (each takes at
        least a token), so `max_turns=n_ctx` loses nothing the model could see.
        """
        known = self._above + self.items
        while known and known[0].position > 0 and (max_turns is None or turns(known) <= max_turns):
            wanted = known[0].position if max_turns is None else max(PAGE_SIZE, max_turns)
            self._read_above(wanted)
            if len(self._above) + len(self.items) == len(known):
                break  # the store had nothing more (changed meanwhile): use what there is
            known = self._above + self.items
        return known if max_turns is None else last_turns(known, max_turns + 1)

    def load_older(self) -> list[MessageItem]:
        """Read the page above the messages read so far (empty at the top); it is added
        in front of `items` and returned."""
        if not self.has_older:
            return []
        if len(self._above) < PAGE_SIZE:
            self._read_above(PAGE_SIZE - len(self._above))
        page = self._above[-PAGE_SIZE:]
        del self._above[-PAGE_SIZE:]
        self.items[:0] = page
        return page

    # --- opening -----------------------------------------------------------------------

    def reset(self) -> None:
        """A new, empty chat (stored when its first message is sent)."""
        self.conversation_id = None
        self.items, self._above = [], []
        if self.store is not None:
            self.store.set_last_opened(None)

    def open(self, conversation_id: int, message_id: int | None = None) -> list[MessageItem]:
        """Show the end of a stored conversation; with `message_id`, of the branch that
        contains it, read up to that message (and half a page above it)."""
        store, pages = self._require_store(), self._require_pages()
        count = PAGE_SIZE
        if message_id is not None:
            distance = pages.distance(conversation_id, message_id)
            if distance is None:
                message = store.get_message(message_id)
                if message is None or message.conversation_id != conversation_id:
                    raise ConversationGoneError("That message is no longer in this conversation.")
                store.choose_version(message_id)
                distance = pages.distance(conversation_id, message_id) or 0
            count = max(count, distance + PAGE_SIZE // 2)
        conversation = store.get_conversation(conversation_id)
        self.conversation_id = conversation_id
        self.items = items_ending_at(
            pages.newest(conversation_id, count), pages.length(conversation_id)
        )
        self._above = []
        if conversation is not None:
            self.assistant_id = conversation.assistant_id
            self.model_key = conversation.model_path
        store.set_last_opened(conversation_id)
        return list(self.items)

    def choose(self, *, assistant_id: str | None, model_key: str | None) -> None:
        """Record the assistant and model this conversation uses (stored when it exists)."""
        if self.store is not None and self.conversation_id is not None:
            if assistant_id != self.assistant_id:
                self.store.set_assistant_id(self.conversation_id, assistant_id)
            if model_key != self.model_key:
                self.store.set_model_path(self.conversation_id, model_key)
        self.assistant_id, self.model_key = assistant_id, model_key

    # --- a new exchange ----------------------------------------------------------------

    def add_question(self, text: str) -> tuple[MessageItem, bool]:
        """Commit a user message (creating the conversation first); (item, created)."""
        created = False
        if self.store is None:
            item = self._next(MessageItem(None, "user", text, created_at=datetime.now(UTC)))
        else:
            if self.conversation_id is None:
                self.conversation_id = self.store.create_conversation(
                    model_path=self.model_key, assistant_id=self.assistant_id
                ).id
                self.store.set_last_opened(self.conversation_id)
                created = True
            item = self._next(
                MessageItem.from_stored(self.store.add_message(self.conversation_id, "user", text))
            )
        self.items.append(item)
        return item, created

    def start_reply(self, ran_on: RanOn | None = None) -> MessageItem:
        """An empty `streaming` reply after the last message (a sibling of any earlier one),
        written by the model `ran_on` names, where it names."""
        parent_id = self.items[-1].id if self.items else None
        if self.store is None or self.conversation_id is None:
            now = datetime.now(UTC)
            item = MessageItem(None, "assistant", "", "streaming", created_at=now, ran_on=ran_on)
        else:
            stored = self.store.add_message(
                self.conversation_id,
                "assistant",
                "",
                parent_id=parent_id,
                status="streaming",
                ran_on=ran_on,
            )
            item = MessageItem.from_stored(stored)
        self.items.append(self._next(item))
        item = self.items[-1]
        self._saved_at = time.monotonic()
        return item

    def resume_reply(self) -> MessageItem:
        """Reopen the last (interrupted or stopped) reply to continue it."""
        item = self._last_reply()
        if item.status not in CONTINUABLE:
            raise ActionRefusedError("Only an interrupted or stopped reply can be continued.")
        if self.store is not None and item.id is not None:
            self.store.update_message_content(item.id, item.content, status="streaming")
        self.items[-1] = dataclasses.replace(item, status="streaming")
        self._saved_at = time.monotonic()
        return self.items[-1]

    def streaming_save_due(self) -> bool:
        """Whether `save_streaming` would write now (so the caller can skip building text)."""
        return time.monotonic() - self._saved_at >= self._save_interval_s

    def save_streaming(self, text: str) -> bool:
        """Write the growing reply if the last write is `save_interval_s` old; True if written."""
        now = time.monotonic()
        item = self.items[-1] if self.items else None
        if item is None or item.status != "streaming":
            return False
        if now - self._saved_at < self._save_interval_s:
            return False
        self._saved_at = now
        if self.store is not None and item.id is not None:
            self.store.update_message_content(item.id, text)
        return True

    def finish_reply(
        self, status: MessageStatus, text: str, stats: dict[str, Any] | None = None
    ) -> MessageItem | None:
        """Give the streaming reply its final text and status; None if there is none."""
        if not self.items or self.items[-1].status != "streaming":
            return None
        cited = from_stats(stats) or self.items[-1].cited
        item = dataclasses.replace(self.items[-1], content=text, status=status, cited=cited)
        self.items[-1] = item
        if self.store is not None and item.id is not None:
            self.store.finish_message(item.id, status, stats, content=text)
        return item

    # --- other branches ----------------------------------------------------------------

    def edit_question(self, index: int, text: str) -> list[MessageItem]:
        """A new version of the user message at position `index`; the branch now ends
        with it."""
        row, item = self._item(index, "user")
        if self.store is None or item.id is None:
            edited = MessageItem(None, "user", text, position=index, created_at=datetime.now(UTC))
        else:
            edited = MessageItem.from_stored(self.store.edit_user_message(item.id, text), index)
        self.items = [*self.items[:row], edited]
        return list(self.items)

    def drop_reply(self, index: int) -> list[MessageItem]:
        """Before regenerating the reply at position `index`: the branch ends at its
        question.

        The old reply stays stored; the new one becomes its sibling (`start_reply`).
        """
        row, _item = self._item(index, "assistant")
        if row == 0:  # its question is on the page above: read it, the reply follows it
            self.load_older()
            row, _item = self._item(index, "assistant")
        self.items = self.items[:row]
        return list(self.items)

    def switch_version(self, index: int, step: int) -> list[MessageItem]:
        """Show the previous (`step=-1`) or next version of the message at position
        `index`; the messages above it stay, the new branch below it is read."""
        row, item = self._item(index)
        store, pages = self._require_store(), self._require_pages()
        if item.id is None or self.conversation_id is None:
            return list(self.items)
        siblings = store.siblings(item.id)
        position = siblings.index(item.id) + step
        if not 0 <= position < len(siblings):
            return list(self.items)
        store.choose_version(siblings[position])
        below = pages.distance(self.conversation_id, siblings[position]) or 0
        read = [m for m in pages.newest(self.conversation_id, below) if m.role != "system"]
        self.items = self.items[:row] + items_ending_at(read, index + len(read))
        return list(self.items)

    # --- helpers -----------------------------------------------------------------------

    def _require_store(self) -> ConversationStore:
        if self.store is None:
            raise ActionRefusedError("Conversations are not being saved, so that cannot be done.")
        return self.store

    def _require_pages(self) -> BranchPages:
        if self.pages is None:
            raise ActionRefusedError("Conversations are not being saved, so that cannot be done.")
        return self.pages

    def _item(self, index: int, role: Role | None = None) -> tuple[int, MessageItem]:
        """(row in `items`, item) of the message at branch position `index`."""
        row = index - self.items[0].position if self.items else -1
        if not 0 <= row < len(self.items):
            raise ActionRefusedError("That message is no longer shown; choose it again.")
        item = self.items[row]
        if role is not None and item.role != role:
            raise ActionRefusedError(f"That is not a {role} message; it cannot be changed so.")
        return row, item

    def _next(self, item: MessageItem) -> MessageItem:
        """`item` placed after the last message of the branch."""
        last = self.items[-1] if self.items else self._above[-1] if self._above else None
        return dataclasses.replace(item, position=0 if last is None else last.position + 1)

    def _read_above(self, count: int) -> None:
        """Read up to `count` more messages above those read (for `_above`)."""
        top = self._above[0] if self._above else self.items[0] if self.items else None
        if top is None or top.id is None or top.position <= 0 or self.pages is None:
            return
        self._above[:0] = items_ending_at(self.pages.older(top.id, count), top.position)

    def _last_reply(self) -> MessageItem:
        if not self.items or self.items[-1].role != "assistant":
            raise ActionRefusedError("The conversation does not end with a reply to continue.")
        return self.items[-1]
