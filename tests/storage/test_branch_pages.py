"""The branch shown, read in pages from the newest message up, on a real encrypted store:
pages join up to exactly `branch()`, versions are followed, positions and distances."""

from __future__ import annotations

from desktop.storage.branch_pages import BranchPages
from desktop.storage.conversations import ConversationStore, StoredMessage


def chat(store: ConversationStore, exchanges: int, system: bool = False) -> int:
    """A conversation of `exchanges` questions and answers (after a system message)."""
    conversation = store.create_conversation()
    with store.db.transaction():
        if system:
            store.add_message(conversation.id, "system", "Be brief.")
        for n in range(exchanges):
            store.add_message(conversation.id, "user", f"q{n}")
            store.add_message(conversation.id, "assistant", f"a{n}")
    return conversation.id


def all_pages(pages: BranchPages, conversation_id: int, size: int) -> list[StoredMessage]:
    """The branch read as a reader scrolling up would: newest page, then older ones."""
    read = pages.newest(conversation_id, size)
    while read:
        page = pages.older(read[0].id, size)
        if not page:
            break
        assert len(page) <= size
        read = page + read
    return read


def test_pages_from_the_newest_up_join_into_the_whole_branch(store: ConversationStore) -> None:
    conversation = chat(store, 200, system=True)
    pages = BranchPages(store.db)
    newest = pages.newest(conversation, 150)
    assert [m.content for m in newest[-2:]] == ["q199", "a199"]
    assert len(newest) == 150 and newest[0].content == "q125"
    assert pages.older(newest[0].id, 3) == store.branch(conversation)[-153:-150]
    assert all_pages(pages, conversation, 150) == store.branch(conversation)
    assert all_pages(pages, conversation, 7) == store.branch(conversation)
    assert pages.length(conversation) == 400  # the system message does not count
    root = store.branch(conversation)[0]
    assert root.role == "system" and pages.older(root.id, 10) == []


def test_pages_follow_the_version_shown_with_its_version_counts(
    store: ConversationStore,
) -> None:
    conversation = chat(store, 60)
    pages = BranchPages(store.db)
    question = store.branch(conversation)[50]  # q25
    edited = store.edit_user_message(question.id, "q25 asked again")
    for n in range(30):
        store.add_message(conversation, "assistant" if n % 2 == 0 else "user", f"new {n}")
    shown = store.branch(conversation)
    assert len(shown) == 81 and pages.length(conversation) == 81
    assert all_pages(pages, conversation, 20) == shown
    page = pages.older(pages.newest(conversation, 30)[0].id, 5)
    assert page[-1].id == edited.id
    assert (page[-1].sibling_index, page[-1].sibling_count) == (1, 2)
    assert pages.distance(conversation, edited.id) == 31
    assert pages.distance(conversation, question.id) is None  # on the other branch

    store.choose_version(question.id)  # back to the first version: its old answers follow
    assert pages.newest(conversation, 2)[-1].content == "a59"
    assert all_pages(pages, conversation, 16) == store.branch(conversation)
    assert pages.length(conversation) == 120
    assert pages.distance(conversation, question.id) == 70
    assert pages.distance(conversation, shown[-1].id) is None


def test_an_empty_conversation_and_a_missing_one_have_no_pages(store: ConversationStore) -> None:
    empty = store.create_conversation().id
    pages = BranchPages(store.db)
    for conversation in (empty, 999):
        assert pages.newest(conversation, 10) == []
        assert pages.length(conversation) == 0
        assert pages.distance(conversation, 1) is None
    one = chat(store, 1)
    assert [m.content for m in pages.newest(one, 0)] == []
    assert [m.content for m in pages.newest(one, 10)] == ["q0", "a0"]
