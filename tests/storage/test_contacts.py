"""The local log of contacts with other computers, in the real encrypted store."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.storage.contacts import ContactLog
from desktop.storage.migrations import open_and_migrate

KEY = bytes(range(32))


def test_contacts_are_listed_newest_first_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    db = open_and_migrate(path, KEY)
    log = ContactLog(db)
    log.record("huggingface.co", "download", "SmolLM2-360M-Instruct-Q4_K_M.gguf")
    log.record("LAB.example", "chat", "Contract questions")
    log.record("huggingface.co", "download", "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    db.close()

    db = open_and_migrate(path, KEY)
    try:
        log = ContactLog(db)
        recent = log.recent()
        assert [(c.host, c.detail) for c in recent] == [
            ("huggingface.co", "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
            ("lab.example", "Contract questions"),
            ("huggingface.co", "SmolLM2-360M-Instruct-Q4_K_M.gguf"),
        ]
        assert [c.purpose for c in log.recent(host="lab.example")] == ["chat"]
        assert [(h, n) for h, _, n in log.hosts()] == [("huggingface.co", 2), ("lab.example", 1)]
    finally:
        db.close()
    # The details are private: they are not in the file in plain text.
    assert b"Contract questions" not in path.read_bytes()


def test_the_log_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    db = open_and_migrate(tmp_path / "hearth.db", KEY)
    try:
        log = ContactLog(db, keep=3)
        for n in range(5):
            log.record("example.org", "chat", f"turn {n}")
        assert [c.detail for c in log.recent()] == ["turn 4", "turn 3", "turn 2"]
        with pytest.raises(ValueError):
            log.record("  ", "chat")
    finally:
        db.close()
