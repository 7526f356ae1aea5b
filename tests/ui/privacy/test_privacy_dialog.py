"""The Privacy page: what it shows, the network switch, changing the passphrase with the
real vault, and the typed confirmation before "Delete all my data"."""

from __future__ import annotations

from pathlib import Path

from keyring.backends import fail
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.paths import AppPaths
from desktop.storage.keychain import Keychain
from desktop.storage.keyfile import ScryptParams
from desktop.storage.preferences import Preferences
from desktop.storage.vault import Vault
from desktop.ui.privacy.dialog import PrivacyDialog, PrivacyState


def make_dialog(
    qtbot: QtBot, tmp_path: Path, mode: str, vault: Vault | None = None
) -> PrivacyDialog:
    paths = AppPaths.resolve(tmp_path / "data").ensure()

    def change(old: str, new: str) -> None:
        assert vault is not None
        vault.change_passphrase(old, new)

    dialog = PrivacyDialog(
        PrivacyState(paths, mode, "MemoryKeyring", "ABCD-EFGH", Preferences.load(paths.config_dir)),
        change_passphrase=change,
        save_preferences=lambda preferences: preferences.save(paths.config_dir),
    )
    qtbot.addWidget(dialog)
    return dialog


def test_it_shows_where_data_lives_and_how_it_is_protected(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path, "keychain")
    assert "keychain: MemoryKeyring" in dialog.protection_label.text()
    assert not dialog.change_button.isVisibleTo(dialog)
    shown = dialog.show_recovery_key()
    assert shown is not None and shown.recovery_key == "ABCD-EFGH"
    assert "Not encrypted" in make_dialog(qtbot, tmp_path, "none").protection_label.text()
    assert "nothing is being saved" in make_dialog(qtbot, tmp_path, None).protection_label.text()


def test_the_network_switch_is_off_by_default_and_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path, "keychain")
    config = tmp_path / "data" / "config"
    assert not dialog.network_box.isChecked()
    assert not Preferences.load(config).network.allowed
    dialog.network_box.setChecked(True)
    assert Preferences.load(config).network_allowed
    dialog.network_box.setChecked(False)
    assert not Preferences.load(config).network_allowed


def test_change_passphrase_uses_the_vault_and_a_wrong_one_is_refused(
    qtbot: QtBot, tmp_path: Path
) -> None:
    db_path = tmp_path / "data" / "hearth.db"
    db_path.parent.mkdir(parents=True)
    vault = Vault(db_path, Keychain(fail.Keyring()), env={}, scrypt=ScryptParams(n=2**10))
    vault.setup_passphrase("first passphrase")
    dialog = make_dialog(qtbot, tmp_path, "passphrase", vault)
    assert dialog.change_button.isVisibleTo(dialog)
    change = dialog.open_change_passphrase()
    change.old.setText("not the passphrase")
    change.new.setText("second passphrase")
    change.again.setText("second passphrase")
    assert not change.submit()
    assert "wrong" in change.error.text()
    change.old.setText("first passphrase")
    assert change.submit()
    assert vault.unlock_with_passphrase("second passphrase").db_key is not None


def test_delete_needs_the_typed_word(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path, "keychain")
    assert not dialog.delete_button.isEnabled()
    dialog.confirm_edit.setText("del")
    assert not dialog.delete_button.isEnabled()
    dialog.confirm_edit.setText("Delete")
    dialog.include_models.setChecked(True)
    with qtbot.waitSignal(dialog.delete_confirmed) as confirmed:
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert confirmed.args == [True]
