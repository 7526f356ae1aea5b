"""Examples to teach from, taken from what Hearth already holds: an assistant's example
exchanges, or the exchanges of chosen conversations (each question with the reply shown
under it, when that reply is complete). Files are read by `desktop.teach.examples`.
Plain Python over the store; the caller's thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from desktop.core.assistants import Assistant
from desktop.storage.conversations import ConversationStore
from desktop.teach.examples import Example


def from_assistant(assistant: Assistant) -> list[Example]:
    return [
        Example(e.user.strip(), e.assistant.strip())
        for e in assistant.examples
        if e.user.strip() and e.assistant.strip()
    ]


def from_conversations(store: ConversationStore, conversation_ids: Iterable[int]) -> list[Example]:
    """Each question and its complete reply, on the branch shown, in order."""
    examples = []
    for conversation_id in conversation_ids:
        branch = store.branch(conversation_id)
        for question, reply in pairwise(branch):
            if (
                question.role == "user"
                and reply.role == "assistant"
                and reply.status == "complete"
                and question.content.strip()
                and reply.content.strip()
            ):
                examples.append(Example(question.content.strip(), reply.content.strip()))
    return examples
