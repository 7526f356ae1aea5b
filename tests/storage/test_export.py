"""Exports (Markdown, HTML, JSON) and the JSON import: round trips and hostile files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core.errors import ConversationImportError, HearthError
from desktop.storage.conversations import ConversationStore
from desktop.storage.export import (
    ImportLimits,
    export_html,
    export_json,
    export_markdown,
    import_json,
    write_export,
)
from desktop.storage.migrations import open_and_migrate

KEY = bytes(range(32))
NASTY = '<script>alert("x")</script> & <b>bold</b>'


@pytest.fixture
def new_store(tmp_path: Path) -> Iterator[Callable[[str], ConversationStore]]:
    opened: list[ConversationStore] = []

    def make(name: str) -> ConversationStore:
        opened.append(ConversationStore(open_and_migrate(tmp_path / f"{name}.db", KEY)))
        return opened[-1]

    yield make
    for store in opened:
        store.db.close()


@pytest.fixture
def store(new_store: Callable[[str], ConversationStore]) -> ConversationStore:
    """Two conversations: one with edits, a regeneration, stats and a cancelled reply."""
    store = new_store("source")
    chat = store.create_conversation(system_prompt="Answer in French.", model_path="/m/x.gguf")
    question = store.add_message(chat.id, "user", f"What is {NASTY}?")
    store.add_message(chat.id, "assistant", "An old answer")
    store.add_message(chat.id, "assistant", "", parent_id=question.id, status="streaming")
    reply = store.branch(chat.id)[-1]
    store.finish_message(reply.id, "complete", {"tokens": 12, "tps": 31.5}, content="Le HTML")
    store.add_message(chat.id, "user", "Thanks")
    store.edit_user_message(store.branch(chat.id)[-1].id, "Merci")
    store.add_message(chat.id, "assistant", "De rien", status="cancelled")
    other = store.create_conversation("Pinned one")
    store.set_pinned(other.id, True)
    store.add_message(other.id, "user", "Ünïcödé ✓ 日本")
    return store


def normalized(text: str) -> list[dict[str, Any]]:
    """The export with message ids replaced by their position (ids change on import)."""
    result = []
    for conv in json.loads(text)["conversations"]:
        index = {m["id"]: i for i, m in enumerate(conv["messages"])}
        messages = [
            {**m, "id": index[m["id"]], "parent_id": index.get(m["parent_id"])}
            for m in conv["messages"]
        ]
        result.append(
            {**conv, "messages": messages, "current_leaf_id": index[conv["current_leaf_id"]]}
        )
    return result


def counts(store: ConversationStore) -> tuple[int, int]:
    return (
        store.db.scalar("SELECT count(*) FROM conversations"),
        store.db.scalar("SELECT count(*) FROM messages"),
    )


def test_markdown_shows_the_current_branch(store: ConversationStore) -> None:
    text = export_markdown(store)
    assert "# Pinned one" in text and "Ünïcödé ✓ 日本" in text
    assert f"## You\n\nWhat is {NASTY}?" in text
    assert "Le HTML" in text and "Merci" in text and "De rien" in text
    assert "An old answer" not in text and "Thanks" not in text
    assert "## Assistant (cancelled)" in text and "Answer in French." in text
    assert text.index("# Pinned one") < text.index("# What is")  # sidebar order


def test_html_is_escaped_and_self_contained(store: ConversationStore) -> None:
    page = export_html(store)
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script" not in page and "<b>" not in page
    assert "default-src 'none'" in page
    assert "http://" not in page and "https://" not in page
    assert "Ünïcödé ✓ 日本" in page and "An old answer" not in page


def test_json_round_trip_reproduces_everything(
    store: ConversationStore, new_store: Callable[[str], ConversationStore], tmp_path: Path
) -> None:
    exported = export_json(store)
    document = json.loads(exported)
    assert (document["format"], document["version"]) == ("hearth-conversations", 1)
    path = tmp_path / "export.json"
    write_export(store, path, "json")
    target = new_store("target")
    new_ids = import_json(target, path)
    assert len(new_ids) == 2
    assert normalized(export_json(target)) == normalized(exported)
    for old, new in zip(store.list_conversations(), target.list_conversations(), strict=True):
        assert (old.title, old.pinned, old.created_at, old.updated_at) == (
            new.title,
            new.pinned,
            new.created_at,
            new.updated_at,
        )
        old_branch, new_branch = store.branch(old.id), target.branch(new.id)
        assert [
            (m.role, m.content, m.status, m.stats, m.sibling_index, m.sibling_count)
            for m in old_branch
        ] == [
            (m.role, m.content, m.status, m.stats, m.sibling_index, m.sibling_count)
            for m in new_branch
        ]
    assert target.search("merci")  # imported messages are indexed


def test_export_of_chosen_conversations_and_text_import(
    store: ConversationStore, new_store: Callable[[str], ConversationStore]
) -> None:
    pinned = store.list_conversations()[0]
    text = export_json(store, [pinned.id])
    target = new_store("target")
    [new_id] = import_json(target, text)
    assert target.get_conversation(new_id).title == "Pinned one"  # type: ignore[union-attr]
    with pytest.raises(HearthError):
        export_markdown(store, [999])


def test_streaming_messages_are_imported_as_incomplete(
    new_store: Callable[[str], ConversationStore],
) -> None:
    target = new_store("target")
    document = valid_document()
    document["conversations"][0]["messages"][1]["status"] = "streaming"
    [conv_id] = import_json(target, json.dumps(document))
    assert [m.status for m in target.branch(conv_id)] == ["complete", "incomplete"]


def valid_document() -> dict[str, Any]:
    time = "2026-01-02T03:04:05+00:00"
    message = {"role": "user", "content": "hi", "status": "complete", "created_at": time}
    return {
        "format": "hearth-conversations",
        "version": 1,
        "conversations": [
            {
                "title": "t",
                "created_at": time,
                "updated_at": time,
                "pinned": False,
                "current_leaf_id": 2,
                "messages": [
                    {**message, "id": 1, "parent_id": None},
                    {**message, "id": 2, "parent_id": 1, "role": "assistant"},
                ],
            }
        ],
    }


def mutate(change: Callable[[dict[str, Any]], object]) -> str:
    document = valid_document()
    document["conversations"].insert(0, valid_document()["conversations"][0])  # a good one first
    change(document)
    return json.dumps(document)


def first_messages(document: dict[str, Any]) -> list[Any]:
    messages: list[Any] = document["conversations"][1]["messages"]
    return messages


BAD_FILES: dict[str, str] = {
    "not json": '{"format": "hearth-conversations", ',
    "not an object": "[1, 2, 3]",
    "other format": json.dumps({"format": "chatgpt", "version": 1, "conversations": []}),
    "newer version": mutate(lambda d: d.update(version=2)),
    "version as text": mutate(lambda d: d.update(version="1")),
    "version as bool": mutate(lambda d: d.update(version=True)),
    "conversations not a list": mutate(lambda d: d.update(conversations={})),
    "parent cycle": mutate(lambda d: first_messages(d)[0].update(parent_id=2)),
    "own parent": mutate(lambda d: first_messages(d)[1].update(parent_id=2)),
    "unknown parent": mutate(lambda d: first_messages(d)[1].update(parent_id=77)),
    "unknown leaf": mutate(lambda d: d["conversations"][1].update(current_leaf_id=9)),
    "wrong role": mutate(lambda d: first_messages(d)[0].update(role="robot")),
    "wrong status": mutate(lambda d: first_messages(d)[0].update(status="done")),
    "duplicate id": mutate(lambda d: first_messages(d)[1].update(id=1, parent_id=None)),
    "id as bool": mutate(lambda d: first_messages(d)[0].update(id=True)),
    "content not text": mutate(lambda d: first_messages(d)[0].update(content=["x"])),
    "bad time": mutate(lambda d: first_messages(d)[0].update(created_at="yesterday")),
    "time out of range": mutate(
        lambda d: first_messages(d)[0].update(created_at="0001-01-01T00:00:00+14:00")
    ),
    "pinned not bool": mutate(lambda d: d["conversations"][1].update(pinned="yes")),
    "message not object": mutate(lambda d: first_messages(d).append("hello")),
    "stats not object": mutate(lambda d: first_messages(d)[0].update(stats=[1])),
    "missing title": mutate(lambda d: d["conversations"][1].pop("title")),
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "huge number": '{"format": "hearth-conversations", "version": 1' + "0" * 5000 + "}",
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_are_refused_and_change_nothing(store: ConversationStore, name: str) -> None:
    before = counts(store)
    with pytest.raises(ConversationImportError, match="Nothing was imported"):
        import_json(store, BAD_FILES[name])
    assert counts(store) == before


def test_limits_refuse_big_files(store: ConversationStore, tmp_path: Path) -> None:
    before = counts(store)
    many = valid_document()
    many["conversations"] *= 3
    text = json.dumps(many)
    limits = [
        ImportLimits(max_conversations=2),
        ImportLimits(max_messages=5),
        ImportLimits(max_text_chars=1),
        ImportLimits(max_bytes=100),
    ]
    for limit in limits:
        with pytest.raises(ConversationImportError):
            import_json(store, text, limit)
    path = tmp_path / "big.json"
    path.write_text(text + " " * 200, encoding="utf-8")
    with pytest.raises(ConversationImportError, match="larger than"):
        import_json(store, path, ImportLimits(max_bytes=len(text) + 100))
    with pytest.raises(ConversationImportError, match="cannot read"):
        import_json(store, tmp_path / "missing.json")
    assert counts(store) == before
    assert len(import_json(store, text, ImportLimits(max_conversations=3))) == 3
