"""Getting the database key: first run, reopening, passphrases, lost keychains, recovery keys."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest
from keyring.backends import fail, null

from desktop.core.errors import (
    KeyFileTooNewError,
    VaultStateError,
    WeakPassphraseError,
    WrongPassphraseError,
    WrongRecoveryKeyError,
)
from desktop.storage.conversations import ConversationStore
from desktop.storage.encrypt import PLAINTEXT_HEADER
from desktop.storage.keychain import SERVICE, Keychain, account_for
from desktop.storage.keyfile import (
    ScryptParams,
    key_from_recovery,
    keyfile_path,
    recovery_key_for,
)
from desktop.storage.migrations import open_and_migrate
from desktop.storage.vault import (
    NeedsPassphrase,
    NeedsRecovery,
    NeedsSetup,
    Unlocked,
    Vault,
    VaultOutcome,
)
from tests.memory_keyring import MemoryKeyring

FAST = ScryptParams(n=2**10)
PASSPHRASE = "correct horse battery staple"


def make_vault(path: Path, backend: object, env: dict[str, str] | None = None) -> Vault:
    return Vault(path, Keychain(backend), env=env or {}, scrypt=FAST)


def unlocked(outcome: VaultOutcome) -> Unlocked:
    assert isinstance(outcome, Unlocked), outcome
    return outcome


def digests(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def write_conversation(path: Path, key: bytes | None, text: str) -> None:
    db = open_and_migrate(path, key)
    try:
        store = ConversationStore(db)
        conversation = store.create_conversation("kept")
        store.add_message(conversation.id, "user", text)
    finally:
        db.close()


def search(path: Path, key: bytes | None, text: str) -> list[str]:
    db = open_and_migrate(path, key)
    try:
        return [hit.snippet_html for hit in ConversationStore(db).search(text)]
    finally:
        db.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "hearth.db"


def test_first_run_makes_a_key_keeps_it_in_the_keychain_and_reopens(db_path: Path) -> None:
    backend = MemoryKeyring()
    first = unlocked(make_vault(db_path, backend).open())
    assert first.mode == "keychain" and first.show_recovery_key
    assert first.backend == "tests.memory_keyring.MemoryKeyring"
    assert first.db_key is not None and len(first.db_key) == 32
    assert backend.entries == {(SERVICE, account_for(db_path)): first.db_key.hex()}
    write_conversation(db_path, first.db_key, "hello vault")
    assert not db_path.read_bytes().startswith(PLAINTEXT_HEADER)

    again = unlocked(make_vault(db_path, backend).open())
    assert again.db_key == first.db_key and not again.show_recovery_key
    assert search(db_path, again.db_key, "vault")


def test_key_file_never_holds_the_key(db_path: Path) -> None:
    key = unlocked(make_vault(db_path, MemoryKeyring()).open()).db_key
    assert key is not None
    raw = keyfile_path(db_path).read_bytes()
    for form in (key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key)):
        assert form not in raw
    info = json.loads(raw)
    assert info["format"] == "hearth-keyinfo" and info["version"] == 1
    assert info["mode"] == "keychain" and len(info["key_check"]) == 32


def test_two_data_dirs_get_two_keys(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    one = unlocked(make_vault(tmp_path / "a" / "hearth.db", backend).open())
    two = unlocked(make_vault(tmp_path / "b" / "hearth.db", backend).open())
    assert one.db_key != two.db_key and len(backend.entries) == 2


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_without_usable_keychain_the_caller_must_choose(db_path: Path, backend: object) -> None:
    outcome = make_vault(db_path, backend).open()
    assert isinstance(outcome, NeedsSetup)
    assert not outcome.keychain.usable and not outcome.has_plaintext_data
    assert "passphrase" in outcome.reason and "no encryption" in outcome.reason
    assert not db_path.parent.exists() or not any(db_path.parent.iterdir())  # nothing written


def test_passphrase_setup_wrong_passphrase_and_retry(db_path: Path) -> None:
    vault = make_vault(db_path, fail.Keyring())
    key = unlocked(vault.setup_passphrase(PASSPHRASE)).db_key
    write_conversation(db_path, key, "secret words")
    outcome = vault.open()
    assert isinstance(outcome, NeedsPassphrase) and not outcome.env_rejected
    before = digests(db_path.parent)
    with pytest.raises(WrongPassphraseError, match="wrong"):
        vault.unlock_with_passphrase("not the passphrase")
    assert digests(db_path.parent) == before
    again = unlocked(vault.unlock_with_passphrase(PASSPHRASE))
    assert again.db_key == key and again.mode == "passphrase"
    assert search(db_path, key, "secret")


def test_short_passphrase_is_refused(db_path: Path) -> None:
    with pytest.raises(WeakPassphraseError, match="at least 8"):
        make_vault(db_path, fail.Keyring()).setup_passphrase("short")
    assert not keyfile_path(db_path).exists()


def test_hearth_passphrase_sets_up_and_unlocks_without_asking(db_path: Path) -> None:
    env = {"HEARTH_PASSPHRASE": PASSPHRASE}
    first = unlocked(make_vault(db_path, fail.Keyring(), env).open())
    assert first.mode == "passphrase"
    assert unlocked(make_vault(db_path, fail.Keyring(), env).open()).db_key == first.db_key
    wrong = make_vault(db_path, fail.Keyring(), {"HEARTH_PASSPHRASE": "wrong passphrase"}).open()
    assert isinstance(wrong, NeedsPassphrase) and wrong.env_rejected
    assert "HEARTH_PASSPHRASE" in wrong.reason


def test_default_scrypt_cost_is_recorded_and_takes_a_moment(db_path: Path) -> None:
    vault = Vault(db_path, Keychain(fail.Keyring()), env={})
    key = unlocked(vault.setup_passphrase(PASSPHRASE)).db_key
    params = json.loads(keyfile_path(db_path).read_text())["passphrase"]
    assert (params["kdf"], params["n"], params["r"], params["p"]) == ("scrypt", 2**16, 8, 1)
    start = time.perf_counter()
    assert vault.unlock_with_passphrase(PASSPHRASE).db_key == key
    assert time.perf_counter() - start > 0.05  # 64 MiB of scrypt is not free


def test_change_passphrase_rewraps_the_same_key(db_path: Path) -> None:
    vault = make_vault(db_path, fail.Keyring())
    key = unlocked(vault.setup_passphrase(PASSPHRASE)).db_key
    before = keyfile_path(db_path).read_bytes()
    with pytest.raises(WrongPassphraseError):
        vault.change_passphrase("not the passphrase", "a new passphrase")
    assert keyfile_path(db_path).read_bytes() == before
    vault.change_passphrase(PASSPHRASE, "a new passphrase")
    with pytest.raises(WrongPassphraseError):
        vault.unlock_with_passphrase(PASSPHRASE)
    assert vault.unlock_with_passphrase("a new passphrase").db_key == key


def test_lost_keychain_entry_recovery_key_opens_the_data(db_path: Path) -> None:
    backend = MemoryKeyring()
    key = unlocked(make_vault(db_path, backend).open()).db_key
    assert key is not None
    write_conversation(db_path, key, "remember this")
    recovery = recovery_key_for(key)
    backend.entries.clear()  # the keychain was reset

    vault = make_vault(db_path, backend)
    outcome = vault.open()
    assert isinstance(outcome, NeedsRecovery) and "recovery key" in outcome.reason
    before = digests(db_path.parent)
    with pytest.raises(WrongRecoveryKeyError, match="does not open"):
        vault.unlock_with_recovery_key(recovery_key_for(bytes(32)))
    typo = ("1" if recovery[0] != "1" else "2") + recovery[1:]
    with pytest.raises(WrongRecoveryKeyError, match="typo"):
        vault.unlock_with_recovery_key(typo)
    assert digests(db_path.parent) == before and not backend.entries

    recovered = unlocked(vault.unlock_with_recovery_key(recovery.lower().replace("-", " ")))
    assert recovered.db_key == key and recovered.mode == "keychain"
    assert backend.entries[(SERVICE, account_for(db_path))] == key.hex()
    assert unlocked(make_vault(db_path, backend).open()).db_key == key
    assert search(db_path, key, "remember")


def test_recovery_can_move_the_key_under_a_passphrase(db_path: Path) -> None:
    backend = MemoryKeyring()
    key = unlocked(make_vault(db_path, backend).open()).db_key
    assert key is not None
    write_conversation(db_path, key, "moved")
    vault = make_vault(db_path, fail.Keyring())  # the keychain is gone for good
    assert isinstance(vault.open(), NeedsRecovery)
    vault.unlock_with_recovery_key(recovery_key_for(key), new_passphrase=PASSPHRASE)
    assert isinstance(vault.open(), NeedsPassphrase)
    assert vault.unlock_with_passphrase(PASSPHRASE).db_key == key


def test_locked_keychain_can_be_retried(db_path: Path) -> None:
    backend = MemoryKeyring()
    key = unlocked(make_vault(db_path, backend).open()).db_key
    backend.locked = True
    outcome = make_vault(db_path, backend).open()
    assert isinstance(outcome, NeedsRecovery) and "locked" in outcome.reason
    assert "try again" in outcome.reason
    backend.locked = False
    assert unlocked(make_vault(db_path, backend).open()).db_key == key


def test_a_different_key_in_the_keychain_is_not_used(db_path: Path) -> None:
    backend = MemoryKeyring()
    unlocked(make_vault(db_path, backend).open())
    backend.entries[(SERVICE, account_for(db_path))] = bytes(32).hex()
    outcome = make_vault(db_path, backend).open()
    assert isinstance(outcome, NeedsRecovery) and "different key" in outcome.reason


def test_lost_key_file_is_rebuilt_from_the_keychain(db_path: Path) -> None:
    backend = MemoryKeyring()
    key = unlocked(make_vault(db_path, backend).open()).db_key
    write_conversation(db_path, key, "still here")
    keyfile_path(db_path).unlink()
    assert unlocked(make_vault(db_path, backend).open()).db_key == key
    assert keyfile_path(db_path).exists()


def test_lost_key_file_in_passphrase_mode_needs_the_recovery_key(db_path: Path) -> None:
    vault = make_vault(db_path, fail.Keyring())
    key = unlocked(vault.setup_passphrase(PASSPHRASE)).db_key
    assert key is not None
    write_conversation(db_path, key, "still here")
    keyfile_path(db_path).unlink()
    outcome = vault.open()
    assert isinstance(outcome, NeedsRecovery) and "missing" in outcome.reason
    with pytest.raises(VaultStateError):
        vault.setup_passphrase(PASSPHRASE)  # would make a new key for an encrypted file
    vault.unlock_with_recovery_key(recovery_key_for(key), new_passphrase="another passphrase")
    assert vault.unlock_with_passphrase("another passphrase").db_key == key


def test_damaged_and_too_new_key_files(db_path: Path) -> None:
    backend = MemoryKeyring()
    key = unlocked(make_vault(db_path, backend).open()).db_key
    assert key is not None
    write_conversation(db_path, key, "x")
    path = keyfile_path(db_path)
    good = json.loads(path.read_text())
    for damage in ("{not json", json.dumps({**good, "key_check": "ü" * 32}), "[]"):
        path.write_text(damage)
        outcome = make_vault(db_path, backend).open()
        assert isinstance(outcome, NeedsRecovery) and "damaged" in outcome.reason
    path.write_text(json.dumps({"format": "hearth-keyinfo", "version": 99, "mode": "x"}))
    with pytest.raises(KeyFileTooNewError, match="newer Hearth"):
        make_vault(db_path, backend).open()
    path.unlink()
    assert unlocked(make_vault(db_path, backend).open()).db_key == key


def test_no_encryption_only_as_an_explicit_choice(db_path: Path) -> None:
    vault = make_vault(db_path, fail.Keyring())
    assert isinstance(vault.open(), NeedsSetup)
    assert vault.setup_without_encryption() == Unlocked(None, "none")
    write_conversation(db_path, None, "in the clear")
    assert db_path.read_bytes().startswith(PLAINTEXT_HEADER)
    assert vault.open() == Unlocked(None, "none")
    # later the user turns encryption on
    key = unlocked(vault.setup_passphrase(PASSPHRASE)).db_key
    assert not db_path.read_bytes().startswith(PLAINTEXT_HEADER)
    assert search(db_path, key, "clear")


def test_switching_from_keychain_to_passphrase_forgets_the_keychain_entry(db_path: Path) -> None:
    backend = MemoryKeyring()
    vault = make_vault(db_path, backend)
    key = unlocked(vault.open()).db_key
    assert key is not None
    with pytest.raises(VaultStateError):
        vault.switch_protection(bytes(32), PASSPHRASE)
    assert vault.switch_protection(key, PASSPHRASE).mode == "passphrase"
    assert not backend.entries
    assert vault.unlock_with_passphrase(PASSPHRASE).db_key == key
    assert vault.switch_protection(key).mode == "keychain"
    assert unlocked(vault.open()).db_key == key


def test_marker_is_in_no_file_of_an_encrypted_database(db_path: Path) -> None:
    marker = "zebra-quartz-marker-7741"
    key = unlocked(make_vault(db_path, MemoryKeyring()).open()).db_key
    db = open_and_migrate(db_path, key)
    try:
        store = ConversationStore(db)
        conversation = store.create_conversation(f"title {marker}")
        store.add_message(conversation.id, "user", f"the {marker} is here")
        wal = db_path.with_name("hearth.db-wal")
        assert wal.exists() and wal.stat().st_size > 0  # the write sits in the WAL
        for path in db_path.parent.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert marker.encode() not in data, path
                assert marker.encode("utf-16-le") not in data, path
        assert [hit.message_id for hit in store.search("zebra")]
    finally:
        db.close()


def test_recovery_key_form_and_typo_detection() -> None:
    key = bytes(range(32))
    text = recovery_key_for(key)
    groups = text.split("-")
    assert len(groups) == 14 and all(len(g) == 4 for g in groups)
    assert key_from_recovery(text) == key
    assert key_from_recovery(text.lower().replace("0", "o").replace("1", "l")) == key
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    compact = text.replace("-", "")
    for position in range(0, 56, 5):
        changed = alphabet[(alphabet.index(compact[position]) + 1) % 32]
        with pytest.raises(WrongRecoveryKeyError):
            key_from_recovery(compact[:position] + changed + compact[position + 1 :])
    with pytest.raises(WrongRecoveryKeyError, match="56"):
        key_from_recovery(text[:-1])
    with pytest.raises(WrongRecoveryKeyError, match="'U'"):
        key_from_recovery("U" + compact[1:])


def test_migration_backups_of_a_keyed_database_are_encrypted(tmp_path: Path) -> None:
    """`open_and_migrate` backs up with VACUUM INTO: the copy must be encrypted too."""
    from desktop.storage.db import open_database

    key = bytes(range(32))
    path = tmp_path / "hearth.db"
    db = open_database(path, key)
    db.execute("CREATE TABLE legacy (note TEXT)")
    db.execute("INSERT INTO legacy VALUES ('zebra-quartz-marker-7741')")
    db.close()
    open_and_migrate(path, key, backup_dir=tmp_path / "backups").close()
    (backup,) = (tmp_path / "backups").iterdir()
    data = backup.read_bytes()
    assert not data.startswith(PLAINTEXT_HEADER) and b"zebra-quartz" not in data
    copy = open_database(backup, key)
    assert copy.scalar("SELECT note FROM legacy") == "zebra-quartz-marker-7741"
    copy.close()
