"""AssistantStore: the shipped built-ins, the user's own assistants as JSON files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from desktop.core.assistants import Example
from desktop.core.errors import AssistantError
from desktop.core.settings import HEARTH_DEFAULTS, settings_from_dict
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir


@pytest.fixture
def store(tmp_path: Path) -> AssistantStore:
    return AssistantStore(builtin_assistants_dir(), tmp_path / "config" / "assistants")


def test_builtins_are_shipped_valid_and_useful(store: AssistantStore) -> None:
    builtins = store.assistants()
    assert [a.id for a in builtins] == ["coder", "general", "summariser", "writer"]
    assert store.problems == []
    for assistant in builtins:
        assert assistant.builtin and assistant.name and len(assistant.system_prompt) > 80
        _, problems = settings_from_dict(assistant.settings, HEARTH_DEFAULTS)
        assert problems == [], assistant.id
    assert store.get("coder").examples  # few-shot examples where they help
    assert store.find(None) == store.get("general")
    assert store.find("deleted-long-ago") == store.get("general")


def test_builtins_cannot_change(store: AssistantStore) -> None:
    writer = store.get("writer")
    with pytest.raises(AssistantError, match="duplicate it and change the copy"):
        store.update(replace(writer, name="Mine"))
    with pytest.raises(AssistantError, match="cannot be deleted"):
        store.delete("writer")
    assert store.get("writer") == writer


def test_create_edit_duplicate_delete_survive_a_restart(tmp_path: Path) -> None:
    user_dir = tmp_path / "assistants"
    store = AssistantStore(builtin_assistants_dir(), user_dir)
    poet = store.create(
        "Poet!", "Answer in verse.", (Example("Rain?", "It falls."),), settings={"temperature": 1.1}
    )
    assert poet.id == "poet" and not poet.builtin
    store.update(replace(poet, system_prompt="Answer in haiku."))
    copy = store.duplicate("poet")
    assert copy.name == "Poet! (copy)" and copy.id != "poet"
    writer_copy = store.duplicate("writer", name="My writer")
    assert writer_copy.examples == store.get("writer").examples and not writer_copy.builtin

    reopened = AssistantStore(builtin_assistants_dir(), user_dir)
    assert reopened.get("poet").system_prompt == "Answer in haiku."
    assert reopened.get("poet").examples == (Example("Rain?", "It falls."),)
    assert reopened.get("poet").settings == {"temperature": 1.1}
    names = [a.name for a in reopened.assistants()[4:]]
    assert names == ["My writer", "Poet!", "Poet! (copy)"]
    reopened.delete(copy.id)
    with pytest.raises(AssistantError, match="There is no assistant"):
        reopened.get(copy.id)
    assert sorted(p.name for p in user_dir.iterdir()) == ["my-writer.json", "poet.json"]


def test_bad_names_are_refused_and_the_old_version_kept(store: AssistantStore) -> None:
    helper = store.create("Helper", "Be kind.")
    with pytest.raises(AssistantError, match="its name is empty"):
        store.update(replace(helper, name="   "))
    with pytest.raises(AssistantError, match="longer than 80"):
        store.create("x" * 81, "")
    assert store.get(helper.id).name == "Helper"
    assert len(store.assistants()) == 5


def test_a_damaged_file_is_skipped_reported_and_kept(tmp_path: Path) -> None:
    user_dir = tmp_path / "assistants"
    user_dir.mkdir()
    (user_dir / "broken.json").write_text("{ not json", encoding="utf-8")
    (user_dir / "odd.json").write_text(json.dumps({"id": "odd", "name": ""}), encoding="utf-8")
    store = AssistantStore(builtin_assistants_dir(), user_dir)
    assert len(store.assistants()) == 4
    assert len(store.problems) == 2
    assert any("broken.json" in p and "cannot be read" in p for p in store.problems)
    assert any("odd.json" in p and "its name is empty" in p for p in store.problems)
    assert (user_dir / "broken.json").read_text(encoding="utf-8") == "{ not json"


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    store = AssistantStore(builtin_assistants_dir(), blocker / "assistants")
    with pytest.raises(AssistantError, match='"Helper" could not be saved'):
        store.create("Helper", "Be kind.")
