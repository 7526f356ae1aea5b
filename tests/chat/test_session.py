"""The open conversation and its saving, without Qt: a real (SQLCipher) store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.chat.request import build_request
from desktop.chat.session import ConversationSession
from desktop.core.errors import ActionRefusedError, ConversationGoneError
from desktop.storage.conversations import ConversationStore
from desktop.storage.migrations import open_and_migrate

KEY = bytes(range(32))  # an encrypted store, as Hearth keeps it


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    db = open_and_migrate(tmp_path / "hearth.db", KEY, backup_dir=tmp_path / "backups")
    yield ConversationStore(db)
    db.close()


def _exchange(session: ConversationSession, question: str, answer: str) -> None:
    session.add_question(question)
    session.start_reply()
    assert session.finish_reply("complete", answer) is not None


def test_a_question_is_stored_before_its_reply_and_the_reply_when_it_ends(
    store: ConversationStore,
) -> None:
    session = ConversationSession(store, save_interval_s=0.0)
    _item, created = session.add_question("Hello?")
    assert created and session.conversation_id is not None
    assert [m.content for m in store.branch(session.conversation_id)] == ["Hello?"]
    session.start_reply()
    assert session.save_streaming("Hi")
    assert store.branch(session.conversation_id)[-1].content == "Hi"
    session.finish_reply("complete", "Hi there.")
    reopened = ConversationSession(store)
    items = reopened.open(session.conversation_id)
    assert [(i.role, i.content, i.status) for i in items] == [
        ("user", "Hello?", "complete"),
        ("assistant", "Hi there.", "complete"),
    ]


def test_an_edit_makes_a_new_version_and_the_old_branch_stays(store: ConversationStore) -> None:
    session = ConversationSession(store)
    _exchange(session, "Name a colour", "Blue.")
    items = session.edit_question(0, "Name a fruit")
    assert [i.content for i in items] == ["Name a fruit"] and items[0].versions == 2
    session.start_reply()
    session.finish_reply("complete", "A pear.")
    older = session.switch_version(0, -1)
    assert [i.content for i in older] == ["Name a colour", "Blue."]
    request = build_request(older, None, "Be brief.")
    assert [m.content for m in request.messages] == ["Be brief.", "Name a colour", "Blue."]


def test_actions_that_do_not_apply_say_so_in_a_sentence(store: ConversationStore) -> None:
    session = ConversationSession(store)
    _exchange(session, "Hello?", "Hi.")
    with pytest.raises(ActionRefusedError, match="no longer shown"):
        session.drop_reply(5)
    with pytest.raises(ActionRefusedError, match="not a user message"):
        session.edit_question(1, "changed")
    with pytest.raises(ActionRefusedError, match="Only an interrupted or stopped reply"):
        session.resume_reply()
    with pytest.raises(ConversationGoneError, match="no longer in this conversation"):
        session.open(session.conversation_id or 0, message_id=999_999)
    gone = store.get_conversation(session.conversation_id or 0)
    assert gone is not None
    with pytest.raises(ConversationGoneError) as caught:
        store.set_model_path(10_000, "x")
    assert str(caught.value) == "That conversation is no longer there; it was deleted."
    assert isinstance(caught.value, KeyError)  # callers that look up by id still work


def test_without_a_store_the_chat_lives_in_memory() -> None:
    session = ConversationSession(None)
    _exchange(session, "Hello?", "Hi.")
    assert [m.content for m in session.history()] == ["Hello?", "Hi."]
    with pytest.raises(ActionRefusedError, match="not being saved"):
        session.switch_version(0, 1)
