"""Encrypting an existing plaintext database and replacing a key, including interruptions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from keyring.backends import fail
from sqlcipher3 import dbapi2 as sqlcipher

from desktop.core.errors import EncryptionError
from desktop.storage import encrypt
from desktop.storage.conversations import ConversationStore
from desktop.storage.db import open_database
from desktop.storage.encrypt import (
    PLAINTEXT_HEADER,
    connect,
    opens_with,
    table_counts,
    verify_copy,
)
from desktop.storage.keychain import SERVICE, Keychain, account_for, pending_account_for
from desktop.storage.keyfile import ScryptParams, recovery_key_for
from desktop.storage.migrations import open_and_migrate
from desktop.storage.vault import NeedsPassphrase, NeedsSetup, Unlocked, Vault, VaultOutcome
from tests.memory_keyring import MemoryKeyring

FAST = ScryptParams(n=2**10)
PASSPHRASE = "correct horse battery staple"
MARKER = "zebra-quartz-marker-7741"
ENCRYPT_STEPS = ["prepare", "backup", "export", "verify", "replace", "cleanup"]
REKEY_STEPS = ["prepare", "copy", "rekey", "verify", "replace"]


class Crash(BaseException):
    """Stands for the process dying: nothing catches it."""


def crash_at(step: str, nth: int = 1) -> object:
    seen: list[str] = []

    def hook(name: str) -> None:
        seen.append(name)
        if seen.count(step) == nth and name == step:
            raise Crash(step)

    return hook


def make_vault(path: Path, backend: object, hook: object | None = None) -> Vault:
    if hook is None:
        return Vault(path, Keychain(backend), env={}, scrypt=FAST)
    return Vault(path, Keychain(backend), env={}, scrypt=FAST, on_step=hook)  # type: ignore[arg-type]


def unlocked(outcome: VaultOutcome) -> Unlocked:
    assert isinstance(outcome, Unlocked), outcome
    return outcome


def make_plaintext_db(path: Path) -> dict[str, int]:
    """A plaintext database as older Hearth left it: some content still in the WAL, and a
    plaintext VACUUM INTO backup in backups/."""
    db = open_and_migrate(path, None)
    store = ConversationStore(db)
    for n in range(5):
        conversation = store.create_conversation(f"talk {n}")
        store.add_message(conversation.id, "user", f"question {n} about {MARKER}")
        store.add_message(conversation.id, "assistant", f"answer {n}")
    (path.parent / "backups").mkdir()
    db.backup_to(path.parent / "backups" / "hearth-v0-20240101-000000.db")
    store.add_message(1, "user", "late words in the wal")
    side = path.parent / "crash-copy"
    side.mkdir()
    names = (path.name, path.name + "-wal")
    for name in names:
        shutil.copy2(path.parent / name, side / name)  # as if the process died now
    counts = table_counts(db._conn)
    db.close()
    for name in names:
        shutil.copy2(side / name, path.parent / name)
    shutil.rmtree(side)
    assert (path.parent / names[1]).stat().st_size > 0
    return counts


def assert_encrypted_and_complete(
    path: Path, key: bytes, counts: dict[str, int], hits: int = 5
) -> None:
    assert not path.read_bytes().startswith(PLAINTEXT_HEADER)
    db = open_and_migrate(path, key)
    try:
        assert table_counts(db._conn) == counts
        store = ConversationStore(db)
        assert len(store.search(MARKER.split("-")[0])) == hits
        assert len(store.search("late words")) == (1 if hits == 5 else 0)
    finally:
        db.close()
    for file in path.parent.rglob("*"):
        if file.is_file():
            assert not file.read_bytes().startswith(PLAINTEXT_HEADER), file
            assert MARKER.encode() not in file.read_bytes(), file
    leftovers = {p.name for p in path.parent.iterdir()} - {"hearth.db", "backups"}
    assert leftovers <= {"hearth.db.keyinfo.json", "hearth.db-wal", "hearth.db-shm"}


def test_plaintext_database_is_encrypted_with_the_keychain_key(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    counts = make_plaintext_db(path)
    outcome = unlocked(make_vault(path, MemoryKeyring()).open())
    assert outcome.mode == "keychain" and outcome.show_recovery_key and outcome.db_key
    assert_encrypted_and_complete(path, outcome.db_key, counts)
    assert not list((tmp_path / "backups").iterdir())  # the plaintext backup is gone


@pytest.mark.parametrize("step", ENCRYPT_STEPS)
def test_interrupted_encryption_is_finished_by_the_next_open(tmp_path: Path, step: str) -> None:
    path = tmp_path / "hearth.db"
    counts = make_plaintext_db(path)
    backend = MemoryKeyring()
    with pytest.raises(Crash):
        make_vault(path, backend, crash_at(step)).open()
    key = bytes.fromhex(backend.entries[(SERVICE, account_for(path))])
    swapped = step == "cleanup"
    assert opens_with(path, key if swapped else None)  # usable either way
    assert path.read_bytes().startswith(PLAINTEXT_HEADER) is not swapped
    if step in ("export", "verify", "replace", "cleanup"):  # a plaintext copy is left over
        assert (tmp_path / "hearth.db.plaintext-backup").exists()
    outcome = unlocked(make_vault(path, backend).open())
    assert outcome.db_key == key
    assert_encrypted_and_complete(path, key, counts)


def test_plaintext_database_without_keychain_waits_for_a_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    counts = make_plaintext_db(path)
    vault = make_vault(path, fail.Keyring())
    outcome = vault.open()
    assert isinstance(outcome, NeedsSetup) and outcome.has_plaintext_data
    assert path.read_bytes().startswith(PLAINTEXT_HEADER)  # not touched while undecided
    key = unlocked(vault.setup_passphrase(PASSPHRASE)).db_key
    assert key is not None
    assert_encrypted_and_complete(path, key, counts)


@pytest.mark.parametrize("step", ["export", "replace"])
def test_interrupted_passphrase_encryption_resumes_after_unlock(tmp_path: Path, step: str) -> None:
    path = tmp_path / "hearth.db"
    counts = make_plaintext_db(path)
    with pytest.raises(Crash):
        make_vault(path, fail.Keyring(), crash_at(step)).setup_passphrase(PASSPHRASE)
    vault = make_vault(path, fail.Keyring())
    assert isinstance(vault.open(), NeedsPassphrase)
    key = unlocked(vault.unlock_with_passphrase(PASSPHRASE)).db_key
    assert key is not None
    assert_encrypted_and_complete(path, key, counts)


def test_database_in_use_is_not_encrypted_and_nothing_changes(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    make_plaintext_db(path)
    other = open_database(path)  # another Hearth still has it open
    other.scalar("SELECT count(*) FROM messages")
    backend = MemoryKeyring()
    try:
        with pytest.raises(EncryptionError, match="unchanged"):
            make_vault(path, backend).open()
        assert path.read_bytes().startswith(PLAINTEXT_HEADER)
        assert other.scalar("SELECT count(*) FROM messages") == 11
    finally:
        other.close()
    key = unlocked(make_vault(path, backend).open()).db_key  # retried once it is closed
    assert key is not None and opens_with(path, key)


def test_failed_verification_leaves_the_plaintext_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hearth.db"
    counts = make_plaintext_db(path)

    def differ(source: object, copy: object) -> None:
        raise sqlcipher.DatabaseError("the copy does not match: row counts differ")

    monkeypatch.setattr(encrypt, "verify_copy", differ)
    backend = MemoryKeyring()
    with pytest.raises(EncryptionError, match="row counts differ"):
        make_vault(path, backend).open()
    assert path.read_bytes().startswith(PLAINTEXT_HEADER)
    monkeypatch.undo()
    key = unlocked(make_vault(path, backend).open()).db_key
    assert key is not None
    assert_encrypted_and_complete(path, key, counts)


def test_verification_notices_a_missing_row(tmp_path: Path) -> None:
    make_plaintext_db(tmp_path / "a.db")
    connect(tmp_path / "a.db", None).close()  # folds the WAL into the file
    shutil.copy2(tmp_path / "a.db", tmp_path / "b.db")
    source, copy = connect(tmp_path / "a.db", None), connect(tmp_path / "b.db", None)
    try:
        verify_copy(source, copy)
        copy.execute("DELETE FROM meta")
        copy.execute("DELETE FROM messages WHERE id = 3")
        with pytest.raises(sqlcipher.DatabaseError, match="row counts differ"):
            verify_copy(source, copy)
    finally:
        source.close()
        copy.close()


def keyed_store(tmp_path: Path, backend: MemoryKeyring) -> tuple[Path, bytes, dict[str, int]]:
    path = tmp_path / "hearth.db"
    key = unlocked(make_vault(path, backend).open()).db_key
    assert key is not None
    db = open_and_migrate(path, key)
    store = ConversationStore(db)
    conversation = store.create_conversation("keyed")
    store.add_message(conversation.id, "user", f"rotate {MARKER}")
    (tmp_path / "backups").mkdir()
    db.backup_to(tmp_path / "backups" / "hearth-v1-20250101-000000.db")
    counts = table_counts(db._conn)
    db.close()
    return path, key, counts


def test_rotate_key_replaces_the_key_everywhere(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    path, old, counts = keyed_store(tmp_path, backend)
    rotated = make_vault(path, backend).rotate_key(old)
    new = rotated.db_key
    assert new is not None and new != old and rotated.show_recovery_key
    assert recovery_key_for(new) != recovery_key_for(old)
    assert backend.entries == {(SERVICE, account_for(path)): new.hex()}
    assert not opens_with(path, old)
    assert_encrypted_and_complete(path, new, counts, hits=1)
    (backup,) = (tmp_path / "backups").iterdir()
    assert opens_with(backup, new) and not opens_with(backup, old)
    assert unlocked(make_vault(path, backend).open()).db_key == new


@pytest.mark.parametrize(
    ("step", "nth"), [(s, 1) for s in REKEY_STEPS] + [("replace", 2), ("rotated", 1)]
)
def test_interrupted_rotation_leaves_one_working_key(tmp_path: Path, step: str, nth: int) -> None:
    backend = MemoryKeyring()
    path, old, counts = keyed_store(tmp_path, backend)
    with pytest.raises(Crash):
        make_vault(path, backend, crash_at(step, nth)).rotate_key(old)
    assert (SERVICE, pending_account_for(path)) in backend.entries
    outcome = unlocked(make_vault(path, backend).open())
    swapped = nth == 2 or step == "rotated"  # the database has the new key by then
    assert (outcome.db_key != old) is swapped and outcome.show_recovery_key is swapped
    assert outcome.db_key is not None
    assert backend.entries == {(SERVICE, account_for(path)): outcome.db_key.hex()}
    assert_encrypted_and_complete(path, outcome.db_key, counts, hits=1)
    (backup,) = (tmp_path / "backups").iterdir()
    assert opens_with(backup, outcome.db_key)


def test_rotate_key_in_passphrase_mode(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    vault = make_vault(path, fail.Keyring())
    old = unlocked(vault.setup_passphrase(PASSPHRASE)).db_key
    assert old is not None
    db = open_and_migrate(path, old)
    ConversationStore(db).create_conversation("x")
    db.close()
    new = vault.rotate_key(old, PASSPHRASE).db_key
    assert new is not None and new != old and opens_with(path, new)
    assert vault.unlock_with_passphrase(PASSPHRASE).db_key == new


def test_interrupted_passphrase_rotation_finishes_after_unlock(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    old = unlocked(make_vault(path, fail.Keyring()).setup_passphrase(PASSPHRASE)).db_key
    assert old is not None
    open_and_migrate(path, old).close()
    with pytest.raises(Crash):
        make_vault(path, fail.Keyring(), crash_at("rotated")).rotate_key(old, PASSPHRASE)
    vault = make_vault(path, fail.Keyring())
    assert isinstance(vault.open(), NeedsPassphrase)
    outcome = vault.unlock_with_passphrase(PASSPHRASE)
    assert outcome.db_key != old and outcome.show_recovery_key
    assert outcome.db_key is not None and opens_with(path, outcome.db_key)
    again = vault.unlock_with_passphrase(PASSPHRASE)
    assert again.db_key == outcome.db_key and not again.show_recovery_key
