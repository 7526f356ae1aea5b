"""Conversations' states on disk: found by the prompt that continues them, encrypted, for
one model only, damaged files deleted with a log line, a conversation's latest only, the
disk budget held, a deleted conversation's states gone."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from desktop.inference.kv_disk import DiskStates, DiskStatesConfig, KeptStates, states_key
from desktop.inference.kv_states import SavedState

FP = "llama.cpp 0.3.36|/models/a.gguf|100|1|ctx 2048"
SECRET = "Quillfeather"


def disk(folder: Path, budget: int = 10_000, key: bytes = b"k" * 32) -> DiskStates:
    return DiskStates(DiskStatesConfig(folder, states_key(key), budget))


def state(text: str, size: int = 100) -> SavedState:
    return SavedState(text, (1, 2, 3), (1, 2, 3, 4, 5), bytes([7]) * size)


def test_a_state_comes_back_for_the_prompt_that_continues_it(tmp_path: Path) -> None:
    states = disk(tmp_path)
    kept = state(f"system|{SECRET} asks", 300)
    states.write(FP, "conversation 1", kept)
    assert states.find(FP, f"system|{SECRET} asks|reply|next") == kept
    assert states.find(FP, "system|another chat|reply") is None
    assert states.find("another model", f"system|{SECRET} asks|reply") is None
    assert disk(tmp_path, key=b"x" * 32).find(FP, f"system|{SECRET} asks|x") is None


def test_nothing_of_the_conversation_is_in_the_file(tmp_path: Path) -> None:
    states = disk(tmp_path)
    path = states.write(FP, "conversation 1", state(f"system|{SECRET} asks", 300))
    raw = path.read_bytes()
    assert SECRET.encode() not in raw and b"system" not in raw and b"a.gguf" not in raw
    assert SECRET not in path.name and len(path.stem) == 48


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage"])
def test_a_damaged_file_is_ignored_and_deleted_with_a_log_line(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    states = disk(tmp_path)
    path = states.write(FP, "conversation 1", state("system|question", 500))
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-100] ^= 1
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "empty":
        raw = bytearray()
    else:
        raw[:40] = os.urandom(40)
    path.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, "hearth.states"):
        assert states.find(FP, "system|question|reply") is None
    assert not path.exists()
    assert any("damaged" in record.getMessage() for record in caplog.records)


def test_a_conversation_keeps_its_latest_state_only(tmp_path: Path) -> None:
    states = disk(tmp_path)
    states.write(FP, "conversation 1", state("system|q1"))
    states.write(FP, "conversation 2", state("system|other"))
    latest = state("system|q1|a1|q2")
    states.write(FP, "conversation 1", latest)
    assert len(list(tmp_path.iterdir())) == 2
    assert states.find(FP, "system|q1|a1|q2|a2|q3") == latest
    assert states.find(FP, "system|other|x") is not None


def test_the_least_recently_used_go_beyond_the_budget(tmp_path: Path) -> None:
    states = disk(tmp_path, budget=3_500)
    for n in range(3):
        path = states.write(FP, f"conversation {n}", state(f"system|chat {n}", 800))
        os.utime(path, (1000 + n, 1000 + n))
    assert states.find(FP, "system|chat 0|more") is not None  # used: now the newest
    states.write(FP, "conversation 3", state("system|chat 3", 800))
    assert states.size <= 3_500
    assert states.find(FP, "system|chat 1|more") is None  # the least recently used went
    assert states.find(FP, "system|chat 0|more") is not None
    states.write(FP, "conversation 4", state("system|huge", 5_000))  # over the budget
    assert states.find(FP, "system|huge|more") is None


def test_written_on_the_writer_thread_and_a_deleted_conversation_forgotten(
    tmp_path: Path,
) -> None:
    kept = KeptStates(tmp_path / "states", budget=10_000)
    assert kept.config() is None and kept.forget(1) == 0  # no key yet: nothing kept
    kept.unlock(b"d" * 32)
    config = kept.config()
    assert config is not None and config.key != b"d" * 32  # derived, not the store's key
    states = DiskStates(config)
    states.save(FP, "conversation 1", state("system|one"))
    states.save(FP, "conversation 2", state("system|two"))
    assert states.flush(5.0)
    assert len(list(config.folder.iterdir())) == 2
    assert kept.forget(1) == 1
    assert states.find(FP, "system|one|x") is None and states.find(FP, "system|two|x")
    states.close()
    unencrypted = KeptStates(tmp_path / "other")
    unencrypted.unlock(None)  # a store kept unencrypted by choice: no states on disk
    assert unencrypted.config() is None


def test_leftovers_of_a_cut_write_are_removed(tmp_path: Path) -> None:
    states = disk(tmp_path)
    (tmp_path / "abc.tmp").write_bytes(b"half a state")
    states.remove_leftovers()
    assert list(tmp_path.iterdir()) == []
