"""Keeping a chat that started without a store: copy its shown branch into a new one.

When the user protects their conversations after starting without saving, the chat on
screen becomes a stored conversation (the versions not shown are not kept: they were never
saved anywhere). Uses only `ConversationSession`'s public steps, so what is written is what
a normal exchange writes.
"""

from __future__ import annotations

from desktop.chat.session import ConversationSession
from desktop.storage.conversations import ConversationStore


def keep_in_store(unsaved: ConversationSession, store: ConversationStore) -> ConversationSession:
    """A session over `store` holding `unsaved`'s messages (a new conversation if any).

    Raises the store's `HearthError` if a write fails; `unsaved` is left as it was.
    """
    session = ConversationSession(store)
    session.assistant_id, session.model_key = unsaved.assistant_id, unsaved.model_key
    for item in unsaved.items:
        if item.role == "user":
            session.add_question(item.content)
        elif item.role == "assistant":
            session.start_reply()
            status = "incomplete" if item.status == "streaming" else item.status
            session.finish_reply(status, item.content)
    return session
