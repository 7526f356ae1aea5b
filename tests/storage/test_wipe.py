"""Deleting all of the user's data: files, backups, logs, settings and keychain entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.storage.conversations import ConversationStore
from desktop.storage.keychain import SERVICE, Keychain, account_for, pending_account_for
from desktop.storage.migrations import open_and_migrate
from desktop.storage.vault import Unlocked, Vault
from desktop.storage.wipe import WipeTargets, wipe_all_data
from tests.memory_keyring import MemoryKeyring


def populate(root: Path, backend: MemoryKeyring) -> WipeTargets:
    data = root / "data"
    targets = WipeTargets(
        database_path=data / "hearth.db",
        backup_dir=data / "backups",
        config_dir=root / "config",
        log_dir=root / "logs",
        models_dir=data / "models",
        cache_dir=root / "cache",
        states_dir=data / "states",
    )
    outcome = Vault(targets.database_path, Keychain(backend), env={}).open()
    assert isinstance(outcome, Unlocked)
    db = open_and_migrate(targets.database_path, outcome.db_key)
    ConversationStore(db).create_conversation("private")
    targets.backup_dir.mkdir()
    db.backup_to(targets.backup_dir / "hearth-v1-20250101-000000.db")
    db.close()
    targets.database_path.with_name("hearth.db-wal").write_bytes(b"left over")
    for directory, name in (
        (targets.config_dir, "settings.json"),
        (targets.log_dir, "hearth.log"),
        (root / "cache", "model-inspections.json"),
        (data / "states", "0123abcd.kv"),
    ):
        directory.mkdir()
        (directory / name).write_text("{}")
    (targets.log_dir / "hearth.log.1").write_text("old")
    assert targets.models_dir is not None
    targets.models_dir.mkdir()
    (targets.models_dir / "mine.gguf").write_bytes(b"GGUF")
    backend.entries[(SERVICE, pending_account_for(targets.database_path))] = "00" * 32
    return targets


def test_wipe_removes_everything_but_imported_models(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    targets = populate(tmp_path, backend)
    report = wipe_all_data(targets, Keychain(backend))
    assert report.complete, report.failures
    data = tmp_path / "data"
    assert sorted(p.name for p in data.iterdir()) == ["models"]
    assert (data / "models" / "mine.gguf").exists()
    assert not (tmp_path / "config").exists() and not (tmp_path / "logs").exists()
    assert not (tmp_path / "cache").exists()  # and the kept states, "data/states", went
    assert backend.entries == {}
    db = targets.database_path
    assert set(report.keychain_entries) == {account_for(db), pending_account_for(db)}
    names = {p.name for p in report.removed}
    assert {"hearth.db", "hearth.db-wal", "hearth.db.keyinfo.json", "backups"} <= names
    assert {"settings.json", "hearth.log", "hearth.log.1", "config", "logs"} <= names


def test_wipe_removes_models_only_on_request(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    targets = populate(tmp_path, backend)
    report = wipe_all_data(
        WipeTargets(**{**targets.__dict__, "include_models": True}), Keychain(backend)
    )
    assert report.complete
    assert not any((tmp_path / "data" / "models").iterdir())
    assert tmp_path / "data" / "models" / "mine.gguf" in report.removed


def test_wipe_of_nothing_reports_nothing(tmp_path: Path) -> None:
    targets = WipeTargets(tmp_path / "hearth.db", tmp_path / "b", tmp_path / "c", tmp_path / "l")
    report = wipe_all_data(targets, Keychain(MemoryKeyring()))
    assert report.complete and report.removed == [] and report.keychain_entries == []


def test_wipe_does_not_follow_links_out_of_its_folders(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "linked").symlink_to(outside, target_is_directory=True)
    targets = WipeTargets(tmp_path / "d" / "hearth.db", tmp_path / "b", tmp_path / "c", logs)
    assert wipe_all_data(targets, None).complete
    assert (outside / "precious.txt").read_text() == "keep" and not logs.exists()


def test_wipe_refuses_to_empty_home_or_a_folder_holding_the_models(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / "mine.gguf").write_bytes(b"GGUF")
    targets = WipeTargets(
        database_path=data / "hearth.db",
        backup_dir=Path.home(),
        config_dir=data,  # a mistaken configuration must not take the models with it
        log_dir=tmp_path / "logs",
        models_dir=data / "models",
    )
    report = wipe_all_data(targets, None)
    assert len(report.failures) == 2
    assert all("refusing" in failure for failure in report.failures)
    assert (data / "models" / "mine.gguf").exists()


def test_locked_keychain_is_reported_and_files_are_still_removed(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    targets = populate(tmp_path, backend)
    backend.locked = True
    report = wipe_all_data(targets, Keychain(backend))
    assert not report.complete and all("locked" in f for f in report.failures)
    assert not targets.database_path.exists() and not targets.backup_dir.exists()
    assert len(backend.entries) == 2  # still there: the user is told


@pytest.mark.parametrize("name", ["hearth.db.encrypting", "hearth.db.plaintext-backup"])
def test_wipe_removes_leftovers_of_an_interrupted_encryption(tmp_path: Path, name: str) -> None:
    leftover = tmp_path / name
    leftover.write_bytes(b"SQLite format 3\x00")
    targets = WipeTargets(tmp_path / "hearth.db", tmp_path / "b", tmp_path / "c", tmp_path / "l")
    assert wipe_all_data(targets, None).removed == [leftover]
