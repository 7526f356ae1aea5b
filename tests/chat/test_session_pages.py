"""A long conversation opened in pages (`ConversationSession` on a real encrypted store):
the end first, older pages on demand, positions in the whole branch, message actions on
any page read, and requests that see as much history as the whole branch would give."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from desktop.chat.request import build_request
from desktop.chat.session import PAGE_SIZE, ConversationSession, MessageItem
from desktop.core.errors import ActionRefusedError
from desktop.core.prompting import plan_context
from desktop.core.types import ChatMessage
from desktop.storage.conversations import ConversationStore


def long_chat(store: ConversationStore, exchanges: int) -> int:
    conversation = store.create_conversation().id
    with store.db.transaction():
        for n in range(exchanges):
            store.add_message(conversation, "user", f"question {n} " + "word " * (n % 7))
            store.add_message(conversation, "assistant", f"answer {n} " + "more " * (n % 11))
    return conversation


def words(messages: Sequence[ChatMessage]) -> int:
    """A token count: a word is a token, and each message costs three more."""
    return sum(len(m.content.split()) + 3 for m in messages)


def positions(items: list[MessageItem]) -> list[int]:
    return [item.position for item in items]


def test_a_long_chat_opens_at_its_end_and_reads_older_pages_up_to_the_first(
    store: ConversationStore,
) -> None:
    conversation = long_chat(store, 200)
    session = ConversationSession(store)
    items = session.open(conversation)
    assert len(items) == PAGE_SIZE and positions(items) == list(range(250, 400))
    assert items[-1].content.startswith("answer 199")
    assert [session.has_older for _ in session.items[:1]] == [True]
    pages = [session.load_older() for _ in range(3)]
    assert [len(page) for page in pages] == [PAGE_SIZE, 100, 0]
    assert [session.has_older for _ in session.items[:1]] == [False]
    whole = [m.content for m in store.branch(conversation)]
    assert [item.content for item in session.items] == whole
    assert positions(session.items) == list(range(400))


@pytest.mark.parametrize("n_ctx", [40, 300, 1200, 100_000])
def test_the_request_sees_what_the_whole_branch_would_give(
    store: ConversationStore, n_ctx: int
) -> None:
    conversation = long_chat(store, 500)
    session = ConversationSession(store)
    session.open(conversation)
    whole = [MessageItem.from_stored(m, i) for i, m in enumerate(store.branch(conversation))]
    paged = session.context_items(n_ctx)
    assert paged == whole[-len(paged) :]
    assert n_ctx < len(paged) or paged == whole  # more turns than can fit, or everything
    for draft in ("", "one more question"):
        full = build_request(whole, None, "Be brief.", draft)
        part = build_request(paged, None, "Be brief.", draft)
        full_plan = plan_context(full.messages, n_ctx, 20, words)
        part_plan = plan_context(part.messages, n_ctx, 20, words)
        assert part_plan.messages == full_plan.messages
        assert part.left_out_items(part_plan.omitted) == full.left_out_items(full_plan.omitted)
    assert len(session.items) == PAGE_SIZE  # the view's pages are not touched


def test_edit_regenerate_and_versions_work_on_an_older_page(store: ConversationStore) -> None:
    conversation = long_chat(store, 200)
    session = ConversationSession(store)
    session.open(conversation)
    session.load_older()
    assert session.items[0].position == 100
    question = session.items[20]  # position 120, read with the second page
    assert question.role == "user" and question.position == 120

    items = session.edit_question(120, "asked again")
    assert positions(items) == list(range(100, 121))
    assert (items[-1].content, items[-1].version, items[-1].versions) == ("asked again", 1, 2)
    reply = session.start_reply()
    assert reply.position == 121
    session.finish_reply("complete", "a new answer")
    assert [m.content for m in store.branch(conversation)][-2:] == ["asked again", "a new answer"]

    items = session.switch_version(120, -1)  # the first version, and its 279 answers below
    assert positions(items) == list(range(100, 400))
    assert items[20].content == question.content and items[-1].content.startswith("answer 199")
    assert session.drop_reply(121)[-1] == items[20]
    with pytest.raises(ActionRefusedError, match="no longer shown"):
        session.edit_question(20, "not read yet")  # above the pages read


def test_opening_at_a_far_message_reads_down_to_it_and_selects_its_version(
    store: ConversationStore,
) -> None:
    conversation = long_chat(store, 300)
    old = store.branch(conversation)[10]  # question 5
    session = ConversationSession(store)
    items = session.open(conversation, old.id)
    assert session.index_of(old.id) == 10
    assert items[0].position <= 10 and items[-1].position == 599

    session.edit_question(10, "question 5, better")  # a new branch; the old one is kept
    session.open(conversation, store.branch(conversation)[-1].id)
    assert session.items[-1].content == "question 5, better"
    items = session.open(conversation, old.id)  # on the old branch: it is shown again
    assert items[-1].content.startswith("answer 299") and session.index_of(old.id) == 10
    assert items[10 - items[0].position].content == old.content
    assert items[10 - items[0].position].versions == 2


def test_regenerating_the_first_reply_read_reads_its_question_first(
    store: ConversationStore,
) -> None:
    conversation = long_chat(store, 200)
    store.add_message(conversation, "user", "one more question")
    session = ConversationSession(store)
    session.open(conversation)  # positions 251..400: the first message read is a reply
    first = session.items[0]
    assert first.role == "assistant" and first.position == 251
    items = session.drop_reply(251)
    assert items[-1].role == "user" and items[-1].position == 250
    reply = session.start_reply()
    stored = store.get_message(reply.id or 0)
    assert stored is not None and stored.parent_id == items[-1].id
    assert (reply.position, stored.sibling_index, stored.sibling_count) == (251, 1, 2)
