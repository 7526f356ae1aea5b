"""The conversation store on a real encrypted database: sidebar, trash, titles, branches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.storage.conversations import ConversationStore, StoredMessage, derive_title
from desktop.storage.migrations import open_and_migrate

KEY = bytes(range(32))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    db = open_and_migrate(tmp_path / "hearth.db", KEY)
    yield ConversationStore(db)
    db.close()


def contents(messages: list[StoredMessage]) -> list[str]:
    return [m.content for m in messages]


def test_create_and_get(store: ConversationStore) -> None:
    conv = store.create_conversation("Plans", model_path="/m/a.gguf", system_prompt="Be brief.")
    got = store.get_conversation(conv.id)
    assert got == conv
    assert (got.title, got.model_path, got.system_prompt, got.pinned) == (
        "Plans",
        "/m/a.gguf",
        "Be brief.",
        False,
    )
    assert got.current_leaf_id is None and not got.in_trash
    assert store.get_conversation(conv.id + 100) is None
    assert store.branch(conv.id) == []


def test_paging_puts_pinned_first_then_newest(store: ConversationStore) -> None:
    ids = [store.create_conversation(f"c{i}").id for i in range(7)]
    store.set_pinned(ids[1], True)
    store.set_pinned(ids[4], True)
    store.add_message(ids[0], "user", "bump the oldest one")  # now the newest unpinned
    expected = [ids[4], ids[1], ids[0], ids[6], ids[5], ids[3], ids[2]]
    pages = [store.list_conversations(offset, 3) for offset in (0, 3, 6)]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [c.id for page in pages for c in page] == expected
    assert store.count_conversations() == 7
    assert store.list_conversations(7, 3) == []


def test_trash_restore_and_empty(store: ConversationStore) -> None:
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone")
    store.add_message(gone.id, "user", "soon deleted")
    store.move_to_trash(gone.id)
    assert [c.id for c in store.list_conversations()] == [keep.id]
    assert store.count_conversations() == 1 and store.count_conversations(True) == 2
    assert {c.id for c in store.list_conversations(include_deleted=True)} == {keep.id, gone.id}
    assert [c.id for c in store.list_trash()] == [gone.id]
    assert store.get_conversation(gone.id).in_trash  # type: ignore[union-attr]
    store.restore(gone.id)
    assert store.count_conversations() == 2 and store.list_trash() == []
    store.move_to_trash(gone.id)
    assert store.empty_trash() == 1
    assert store.get_conversation(gone.id) is None
    assert store.db.scalar("SELECT count(*) FROM messages") == 0
    assert [c.id for c in store.list_conversations()] == [keep.id]
    with pytest.raises(KeyError):
        store.rename(gone.id, "nope")


def test_title_comes_from_the_first_user_message(store: ConversationStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "system", "You are helpful.")
    assert store.get_conversation(conv.id).title == ""  # type: ignore[union-attr]
    question = (
        "\n  How do I   bake sourdough bread at home without a proofing basket or a scale?\nok"
    )
    store.add_message(conv.id, "user", question)
    title = store.get_conversation(conv.id).title  # type: ignore[union-attr]
    assert title == "How do I bake sourdough bread at home without a proofing…"
    store.add_message(conv.id, "user", "A second question does not rename it")
    assert store.get_conversation(conv.id).title == title  # type: ignore[union-attr]
    store.rename(conv.id, "Bread")
    assert store.get_conversation(conv.id).title == "Bread"  # type: ignore[union-attr]


def test_derive_title_edges() -> None:
    assert derive_title("short") == "short"
    assert derive_title("   \n\n") == ""
    assert derive_title("x" * 100) == "x" * 60 + "…"
    assert len(derive_title("word " * 40)) <= 61


def test_last_opened(store: ConversationStore) -> None:
    assert store.last_opened_conversation_id() is None
    conv = store.create_conversation("a")
    store.set_last_opened(conv.id)
    assert store.last_opened_conversation_id() == conv.id
    store.move_to_trash(conv.id)
    assert store.last_opened_conversation_id() is None
    store.set_last_opened(None)
    assert store.last_opened_conversation_id() is None


def test_editing_a_user_message_keeps_the_old_branch(store: ConversationStore) -> None:
    conv = store.create_conversation()
    u1 = store.add_message(conv.id, "user", "q1")
    a1 = store.add_message(conv.id, "assistant", "a1")
    u2 = store.add_message(conv.id, "user", "q2")
    store.add_message(conv.id, "assistant", "a2")
    edited = store.edit_user_message(u2.id, "q2 better")
    assert edited.parent_id == a1.id
    assert (edited.sibling_index, edited.sibling_count) == (1, 2)
    assert contents(store.branch(conv.id)) == ["q1", "a1", "q2 better"]
    store.add_message(conv.id, "assistant", "a2 better")
    assert store.siblings(u2.id) == [u2.id, edited.id] == store.siblings(edited.id)
    shown = store.select_version(u2.id)  # back to the old version: its reply follows
    assert contents(shown) == ["q1", "a1", "q2", "a2"]
    assert [(m.sibling_index, m.sibling_count) for m in shown] == [(0, 1), (0, 1), (0, 2), (0, 1)]
    assert store.get_conversation(conv.id).current_leaf_id == shown[-1].id  # type: ignore[union-attr]
    shown = store.select_version(u1.id)  # from the root: the most recent descendant
    assert contents(shown) == ["q1", "a1", "q2 better", "a2 better"]
    root_edit = store.edit_user_message(u1.id, "q1 again")
    assert root_edit.parent_id is None and store.siblings(u1.id) == [u1.id, root_edit.id]
    assert contents(store.branch(conv.id)) == ["q1 again"]
    with pytest.raises(ValueError, match="not a user"):
        store.edit_user_message(a1.id, "no")


def test_regenerate_adds_a_sibling_reply(store: ConversationStore) -> None:
    conv = store.create_conversation()
    question = store.add_message(conv.id, "user", "q")
    first = store.add_message(conv.id, "assistant", "first answer")
    again = store.add_message(conv.id, "assistant", "", parent_id=question.id, status="streaming")
    assert again.parent_id == question.id and store.siblings(first.id) == [first.id, again.id]
    store.finish_message(again.id, "complete", {"tokens": 3}, content="second answer")
    assert contents(store.branch(conv.id)) == ["q", "second answer"]
    assert store.get_message(again.id).stats == {"tokens": 3}  # type: ignore[union-attr]
    assert contents(store.select_version(first.id)) == ["q", "first answer"]
    assert len(store.messages(conv.id)) == 3


def test_a_parent_must_belong_to_the_conversation(store: ConversationStore) -> None:
    one, two = store.create_conversation(), store.create_conversation()
    foreign = store.add_message(one.id, "user", "mine")
    with pytest.raises(KeyError):
        store.add_message(two.id, "assistant", "x", parent_id=foreign.id)
    with pytest.raises(ValueError, match="role"):
        store.add_message(two.id, "robot", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        store.add_message(two.id, "user", "x", status="done")  # type: ignore[arg-type]
    assert store.messages(two.id) == []


def test_streaming_updates_and_recovery(tmp_path: Path, store: ConversationStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "tell me")
    reply = store.add_message(conv.id, "assistant", "", status="streaming")
    text = ""
    for word in ["Once", "upon", "a", "time"]:
        text += word + " "
        store.update_message_content(reply.id, text)
    assert [m.id for m in store.incomplete_messages()] == [reply.id]
    with pytest.raises(KeyError):
        store.update_message_content(reply.id + 100, "lost")
    store.db.close()
    db = open_and_migrate(tmp_path / "hearth.db", KEY)  # as after a crash
    reopened = ConversationStore(db)
    assert reopened.recover_interrupted() == 1
    last = reopened.branch(conv.id)[-1]
    assert (last.content, last.status) == ("Once upon a time ", "incomplete")
    assert reopened.incomplete_messages() == []
    store.db = db  # the fixture closes this one


@pytest.mark.slow
def test_a_killed_writer_loses_at_most_the_update_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    child = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from desktop.storage.conversations import ConversationStore
        from desktop.storage.migrations import open_and_migrate

        store = ConversationStore(open_and_migrate(Path(sys.argv[1]), bytes(range(32))))
        conv = store.create_conversation()
        store.add_message(conv.id, "user", "Tell me a long story")
        reply = store.add_message(conv.id, "assistant", "", status="streaming")
        print("ready", conv.id, reply.id, flush=True)
        text = ""
        while True:
            text += "word "
            store.update_message_content(reply.id, text)
            print(len(text), flush=True)
            time.sleep(0.001)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", child, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        try:
            header = process.stdout.readline().split()
            assert header[:1] == ["ready"], process.stderr.read()
            conversation_id, reply_id = int(header[1]), int(header[2])
            lengths = [int(process.stdout.readline()) for _ in range(50)]
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            lengths += [int(line) for line in process.stdout.read().split()]
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == -signal.SIGKILL
    db = open_and_migrate(path, KEY)
    store = ConversationStore(db)
    assert [m.id for m in store.incomplete_messages()] == [reply_id]
    assert store.recover_interrupted() == 1
    question, reply = store.branch(conversation_id)
    assert question.content == "Tell me a long story"
    assert reply.status == "incomplete"
    # Everything reported as committed survived; at most one later update also made it.
    assert len(reply.content) in (lengths[-1], lengths[-1] + len("word "))
    assert reply.content == "word " * (len(reply.content) // 5)
    db.close()
