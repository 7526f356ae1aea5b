"""Opening the encrypted store at start-up: the unlock flow with the real vault, keychain
backends (in-memory, and keyring's `fail` backend for a headless machine) and real
SQLCipher files; and the dialogs it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from desktop.app import unlock_store
from desktop.paths import AppPaths
from desktop.storage.conversations import ConversationStore
from desktop.storage.keychain import Keychain
from desktop.storage.keyfile import ScryptParams
from desktop.storage.migrations import open_and_migrate
from desktop.storage.vault import Vault
from desktop.ui.privacy.unlock import NO_ENCRYPTION, NOT_OPENED, RETRY, USE_RECOVERY_KEY, UnlockFlow
from desktop.ui.privacy.unlock_dialogs import (
    PassphraseDialog,
    RecoveryDialog,
    RecoveryKeyDialog,
    SetupDialog,
)
from tests.memory_keyring import MemoryKeyring

FAST = ScryptParams(n=2**10)
MARKER = "zanzibar-marmalade-7731"


@dataclass
class ScriptedPrompter:
    """Answers the flow's questions from lists, recording what it was asked."""

    passphrases: list[Any] = field(default_factory=list)
    setups: list[Any] = field(default_factory=list)
    recoveries: list[Any] = field(default_factory=list)
    asked: list[tuple[str, str | None]] = field(default_factory=list)

    def passphrase(self, reason: str, error: str | None) -> str | Literal["recovery"] | None:
        self.asked.append(("passphrase", error))
        return self.passphrases.pop(0)

    def setup(self, reason: str, has_data: bool, error: str | None) -> Any:
        self.asked.append(("setup", error))
        return self.setups.pop(0)

    def recovery(self, reason: str, wants_passphrase: bool, error: str | None) -> Any:
        self.asked.append(("recovery", error))
        return self.recoveries.pop(0)


def inline(function: Callable[[], object]) -> object:
    return function()


def vault_for(db_path: Path, backend: Any) -> Vault:
    return Vault(db_path, Keychain(backend), env={}, scrypt=FAST)


def write_marker(db_path: Path, key: bytes | None) -> None:
    store = ConversationStore(open_and_migrate(db_path, key=key))
    try:
        conversation = store.create_conversation()
        store.add_message(conversation.id, "user", f"Remember {MARKER}")
    finally:
        store.db.close()


def finds_marker(db_path: Path, key: bytes | None) -> bool:
    store = ConversationStore(open_and_migrate(db_path, key=key))
    try:
        return bool(store.search(MARKER.split("-")[0]))
    finally:
        store.db.close()


def test_first_run_with_a_keychain_asks_nothing_and_encrypts(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    db_path = tmp_path / "hearth.db"
    prompter = ScriptedPrompter()
    result = UnlockFlow(vault_for(db_path, memory_keyring), prompter, inline).run()
    assert result.unlocked is not None and result.unlocked.mode == "keychain"
    assert result.recovery_key is not None and len(result.recovery_key.split("-")) == 14
    assert prompter.asked == []
    write_marker(db_path, result.unlocked.db_key)
    assert not db_path.read_bytes().startswith(b"SQLite format 3")
    # The next start finds the key in the keychain, still without a question.
    again = UnlockFlow(vault_for(db_path, memory_keyring), prompter, inline).run()
    assert again.unlocked is not None and again.recovery_key is None
    assert finds_marker(db_path, again.unlocked.db_key)


def test_headless_first_run_offers_a_passphrase_and_a_wrong_one_loses_nothing(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "hearth.db"
    prompter = ScriptedPrompter(setups=["short", "a good long passphrase"])
    result = UnlockFlow(vault_for(db_path, fail.Keyring()), prompter, inline).run()
    assert result.unlocked is not None and result.unlocked.mode == "passphrase"
    assert prompter.asked[0] == ("setup", None)
    assert prompter.asked[1][0] == "setup" and "8" in str(prompter.asked[1][1])  # too short
    write_marker(db_path, result.unlocked.db_key)
    before = db_path.read_bytes()

    prompter = ScriptedPrompter(passphrases=["wrong passphrase", "a good long passphrase"])
    result = UnlockFlow(vault_for(db_path, fail.Keyring()), prompter, inline).run()
    assert [kind for kind, _ in prompter.asked] == ["passphrase", "passphrase"]
    assert prompter.asked[0][1] is None
    assert "wrong" in str(prompter.asked[1][1])
    assert result.unlocked is not None
    assert db_path.read_bytes() == before  # the wrong try wrote nothing
    assert finds_marker(db_path, result.unlocked.db_key)


def test_a_lost_keychain_entry_is_recovered_with_the_recovery_key(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    db_path = tmp_path / "hearth.db"
    first = UnlockFlow(vault_for(db_path, memory_keyring), ScriptedPrompter(), inline).run()
    assert first.unlocked is not None and first.recovery_key is not None
    write_marker(db_path, first.unlocked.db_key)
    memory_keyring.entries.clear()  # the keychain was reset
    before = db_path.read_bytes()

    typo = "0" * 56
    prompter = ScriptedPrompter(recoveries=[RETRY, (typo, None), (first.recovery_key, None)])
    result = UnlockFlow(vault_for(db_path, memory_keyring), prompter, inline).run()
    assert [kind for kind, _ in prompter.asked] == ["recovery"] * 3
    assert "recovery key" in str(prompter.asked[2][1]).lower()
    assert result.unlocked is not None
    assert result.unlocked.db_key == first.unlocked.db_key
    assert db_path.read_bytes() == before
    assert memory_keyring.entries  # kept in the keychain again
    assert finds_marker(db_path, result.unlocked.db_key)


def test_a_forgotten_passphrase_is_replaced_through_the_recovery_key(tmp_path: Path) -> None:
    db_path = tmp_path / "hearth.db"
    setup = ScriptedPrompter(setups=["first passphrase"])
    first = UnlockFlow(vault_for(db_path, fail.Keyring()), setup, inline).run()
    assert first.unlocked is not None and first.recovery_key is not None
    write_marker(db_path, first.unlocked.db_key)
    prompter = ScriptedPrompter(
        passphrases=[USE_RECOVERY_KEY], recoveries=[(first.recovery_key, "second passphrase")]
    )
    assert UnlockFlow(vault_for(db_path, fail.Keyring()), prompter, inline).run().unlocked
    later = ScriptedPrompter(passphrases=["second passphrase"])
    result = UnlockFlow(vault_for(db_path, fail.Keyring()), later, inline).run()
    assert result.unlocked is not None and finds_marker(db_path, result.unlocked.db_key)


def test_giving_up_changes_nothing_and_no_encryption_is_only_an_explicit_choice(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "hearth.db"
    result = UnlockFlow(
        vault_for(db_path, fail.Keyring()), ScriptedPrompter([], [None]), inline
    ).run()
    assert result.unlocked is None and result.message == NOT_OPENED
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no key file, no database

    prompter = ScriptedPrompter(setups=[NO_ENCRYPTION])
    chosen = UnlockFlow(vault_for(db_path, fail.Keyring()), prompter, inline).run()
    assert chosen.unlocked is not None and chosen.unlocked.db_key is None
    assert chosen.unlocked.mode == "none" and chosen.recovery_key is None


def test_the_app_unlocks_its_store_off_the_gui_thread(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    threads: list[str] = []
    original = MemoryKeyring.get_password

    def recording(self: MemoryKeyring, service: str, username: str) -> str | None:
        threads.append(threading.current_thread().name)
        return original(self, service, username)

    monkeypatch.setattr(MemoryKeyring, "get_password", recording)
    monkeypatch.delenv("HEARTH_PASSPHRASE")  # else the first run takes that passphrase
    paths = AppPaths.resolve(tmp_path / "data").ensure()
    opened = unlock_store(paths, Keychain(memory_keyring))
    assert opened.store is not None and opened.recovery_key is not None
    try:
        conversation = opened.store.create_conversation()
        opened.store.add_message(conversation.id, "user", MARKER)
    finally:
        opened.store.db.close()
    assert threads and "MainThread" not in threads
    assert not paths.database_path.read_bytes().startswith(b"SQLite format 3")


def test_dialogs_validate_before_they_answer(qtbot: QtBot, tmp_path: Path) -> None:
    setup = SetupDialog("No keychain here.", True, None)
    qtbot.addWidget(setup)
    setup.passphrase.setText("short")
    setup.confirm.setText("short")
    qtbot.mouseClick(setup.protect, Qt.MouseButton.LeftButton)
    assert "at least 8" in setup.error.text() and setup.result() == 0
    setup.passphrase.setText("long enough")
    setup.confirm.setText("long enougH")
    qtbot.mouseClick(setup.protect, Qt.MouseButton.LeftButton)
    assert "not the same" in setup.error.text()
    setup.confirm.setText("long enough")
    qtbot.mouseClick(setup.protect, Qt.MouseButton.LeftButton)
    assert setup.result() == 1

    unlock = PassphraseDialog("Locked.", "The passphrase is wrong.", None)
    qtbot.addWidget(unlock)
    assert unlock.error.text() == "The passphrase is wrong."
    qtbot.mouseClick(unlock.use_recovery, Qt.MouseButton.LeftButton)
    assert unlock.result() == 2

    recovery = RecoveryDialog("Lost.", True, None)
    qtbot.addWidget(recovery)
    recovery.recovery_key.setText("ABCD")
    qtbot.mouseClick(recovery.open_button, Qt.MouseButton.LeftButton)
    assert "passphrase" in recovery.error.text() and recovery.result() == 0

    shown = RecoveryKeyDialog("ABCD EFGH")
    qtbot.addWidget(shown)
    shown.copy()
    assert QGuiApplication.clipboard().text() == "ABCD EFGH"
    saved = shown.save_to(tmp_path / "key.txt")
    assert saved is not None and "ABCD EFGH" in saved.read_text(encoding="utf-8")
