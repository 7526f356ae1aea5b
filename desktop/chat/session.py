"""The open conversation: the branch on screen and how it is saved.

`ConversationSession` holds the messages shown (one branch of the stored message tree,
as `MessageItem`s) and turns every change into store calls: a question is committed
before its reply is requested, a streaming reply is written at most once per
`STREAM_SAVE_INTERVAL_S`, and editing, regenerating or choosing another version moves
to another branch while the old ones are kept. Without a store the same operations
work on the list in memory (no versions are kept).

Plain Python (no Qt); store errors (`DatabaseError`) propagate to the caller, which
turns them into messages. Thread: GUI thread only (the worker never touches the store).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from desktop.core.errors import ActionRefusedError, ConversationGoneError
from desktop.core.types import ChatMessage
from desktop.storage.conversations import (
    STREAM_SAVE_INTERVAL_S,
    ConversationStore,
    MessageStatus,
    Role,
    StoredMessage,
)

#: Reply statuses that can be continued: the text so far stays and the model goes on.
CONTINUABLE = frozenset({"incomplete", "cancelled"})


@dataclass(frozen=True)
class MessageItem:
    """One message on screen; `version` (0-based) of `versions` alternatives."""

    id: int | None
    role: Role
    content: str
    status: MessageStatus = "complete"
    version: int = 0
    versions: int = 1

    @classmethod
    def from_stored(cls, message: StoredMessage) -> MessageItem:
        return cls(
            message.id,
            message.role,
            message.content,
            message.status,
            message.sibling_index,
            message.sibling_count,
        )


class ConversationSession:
    """The branch of one conversation that is shown, kept in step with the store."""

    def __init__(
        self, store: ConversationStore | None, save_interval_s: float = STREAM_SAVE_INTERVAL_S
    ) -> None:
        self.store = store
        self.conversation_id: int | None = None
        self.items: list[MessageItem] = []
        #: The open conversation's choices (a new chat keeps the previous chat's).
        self.assistant_id: str | None = None
        self.model_key: str | None = None
        self._save_interval_s = save_interval_s
        self._saved_at = 0.0

    # --- queries -----------------------------------------------------------------------

    def history(self) -> list[ChatMessage]:
        """What the model sees of this conversation (empty messages left out)."""
        return [
            ChatMessage(item.role, item.content)
            for item in self.items
            if item.role in ("user", "assistant") and item.content.strip()
        ]

    def index_of(self, message_id: int) -> int | None:
        for index, item in enumerate(self.items):
            if item.id == message_id:
                return index
        return None

    # --- opening -----------------------------------------------------------------------

    def reset(self) -> None:
        """A new, empty chat (stored when its first message is sent)."""
        self.conversation_id = None
        self.items = []
        if self.store is not None:
            self.store.set_last_opened(None)

    def open(self, conversation_id: int, message_id: int | None = None) -> list[MessageItem]:
        """Show a stored conversation; with `message_id`, the branch that contains it."""
        store = self._require_store()
        branch = store.branch(conversation_id)
        if message_id is not None and message_id not in {m.id for m in branch}:
            message = store.get_message(message_id)
            if message is None or message.conversation_id != conversation_id:
                raise ConversationGoneError("That message is no longer in this conversation.")
            branch = store.select_version(message_id)
        conversation = store.get_conversation(conversation_id)
        self.conversation_id = conversation_id
        self.items = [MessageItem.from_stored(m) for m in branch if m.role != "system"]
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
            item = MessageItem(None, "user", text)
        else:
            if self.conversation_id is None:
                self.conversation_id = self.store.create_conversation(
                    model_path=self.model_key, assistant_id=self.assistant_id
                ).id
                self.store.set_last_opened(self.conversation_id)
                created = True
            item = MessageItem.from_stored(
                self.store.add_message(self.conversation_id, "user", text)
            )
        self.items.append(item)
        return item, created

    def start_reply(self) -> MessageItem:
        """An empty `streaming` reply after the last message (a sibling of any earlier one)."""
        parent_id = self.items[-1].id if self.items else None
        if self.store is None or self.conversation_id is None:
            item = MessageItem(None, "assistant", "", "streaming")
        else:
            item = MessageItem.from_stored(
                self.store.add_message(
                    self.conversation_id, "assistant", "", parent_id=parent_id, status="streaming"
                )
            )
        self.items.append(item)
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
        item = dataclasses.replace(self.items[-1], content=text, status=status)
        self.items[-1] = item
        if self.store is not None and item.id is not None:
            self.store.finish_message(item.id, status, stats, content=text)
        return item

    # --- other branches ----------------------------------------------------------------

    def edit_question(self, index: int, text: str) -> list[MessageItem]:
        """A new version of the user message at `index`; the branch now ends with it."""
        item = self._item(index, "user")
        if self.store is None or item.id is None:
            self.items = [*self.items[:index], MessageItem(None, "user", text)]
        else:
            edited = self.store.edit_user_message(item.id, text)
            self.items = [*self.items[:index], MessageItem.from_stored(edited)]
        return list(self.items)

    def drop_reply(self, index: int) -> list[MessageItem]:
        """Before regenerating the reply at `index`: the branch ends at its question.

        The old reply stays stored; the new one becomes its sibling (`start_reply`).
        """
        self._item(index, "assistant")
        self.items = self.items[:index]
        return list(self.items)

    def switch_version(self, index: int, step: int) -> list[MessageItem]:
        """Show the previous (`step=-1`) or next version of the message at `index`."""
        item = self._item(index)
        store = self._require_store()
        if item.id is None:
            return list(self.items)
        siblings = store.siblings(item.id)
        position = siblings.index(item.id) + step
        if not 0 <= position < len(siblings):
            return list(self.items)
        branch = store.select_version(siblings[position])
        self.items = [MessageItem.from_stored(m) for m in branch if m.role != "system"]
        return list(self.items)

    # --- helpers -----------------------------------------------------------------------

    def _require_store(self) -> ConversationStore:
        if self.store is None:
            raise ActionRefusedError("Conversations are not being saved, so that cannot be done.")
        return self.store

    def _item(self, index: int, role: Role | None = None) -> MessageItem:
        if not 0 <= index < len(self.items):
            raise ActionRefusedError("That message is no longer shown; choose it again.")
        item = self.items[index]
        if role is not None and item.role != role:
            raise ActionRefusedError(
                f"That is not a {role} message, so it cannot be changed that way."
            )
        return item

    def _last_reply(self) -> MessageItem:
        if not self.items or self.items[-1].role != "assistant":
            raise ActionRefusedError("The conversation does not end with a reply to continue.")
        return self.items[-1]
