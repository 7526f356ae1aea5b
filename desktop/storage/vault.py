"""How Hearth gets the key of its database: the decisions, without any user interface.

`Vault.open()` returns what the caller must do next:
- `Unlocked(db_key, mode, ...)`: pass `db_key` to `open_and_migrate(path, key=db_key)`
  (`None` only when the user chose no encryption). `show_recovery_key` asks the caller to offer
  the recovery key because a new key was made.
- `NeedsPassphrase`: ask for the passphrase, then `unlock_with_passphrase()`.
- `NeedsSetup`: no usable keychain and no data protection chosen yet; offer a passphrase
  (`setup_passphrase()`) or, as an explicit choice, `setup_without_encryption()`.
- `NeedsRecovery`: the key cannot be found (keychain entry lost, locked or different, key file
  lost or damaged); offer a retry and `unlock_with_recovery_key()`.

First run with a usable keychain makes a key and keeps it there without asking; `HEARTH_PASSPHRASE`
in `env` supplies a passphrase non-interactively. A plaintext database is encrypted in place
(see `encrypt.py`) once a key is kept, and an interrupted encryption or key rotation is finished
(or undone) by the next successful unlock. A wrong passphrase or recovery key raises a
`VaultError` and changes nothing. There is never a silent plaintext fallback.

Thread: every method may block (keychain prompts, scrypt, encryption); call off the GUI thread,
with the database closed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from desktop.core.errors import (
    EncryptionError,
    KeychainError,
    KeyFileError,
    KeyFileTooNewError,
    VaultStateError,
    WrongPassphraseError,
    WrongRecoveryKeyError,
)
from desktop.storage import encrypt
from desktop.storage.encrypt import StepHook, database_state, opens_with
from desktop.storage.keychain import Keychain, KeychainStatus, account_for, pending_account_for
from desktop.storage.keyfile import (
    KeyInfo,
    Mode,
    PassphraseWrap,
    PendingKey,
    ScryptParams,
    key_check,
    key_from_recovery,
    keyfile_path,
    matches,
    new_key,
    read_keyinfo,
    write_keyinfo,
)
from desktop.storage.keyfile import recovery_key_for as recovery_key_for

log = logging.getLogger(__name__)

ENV_PASSPHRASE = "HEARTH_PASSPHRASE"


@dataclass(frozen=True)
class Unlocked:
    """The key to open the database with (None: unencrypted by choice), and how it is kept."""

    db_key: bytes | None
    mode: Mode
    backend: str | None = None
    show_recovery_key: bool = False


@dataclass(frozen=True)
class NeedsPassphrase:
    """Ask for the passphrase; `env_rejected`: the one in HEARTH_PASSPHRASE is wrong."""

    reason: str
    env_rejected: bool = False


@dataclass(frozen=True)
class NeedsSetup:
    """No usable keychain: offer a passphrase, or no encryption as an explicit choice."""

    reason: str
    keychain: KeychainStatus
    has_plaintext_data: bool


@dataclass(frozen=True)
class NeedsRecovery:
    """The key cannot be found: offer a retry and the recovery key."""

    reason: str
    mode: Mode | None


VaultOutcome = Unlocked | NeedsPassphrase | NeedsSetup | NeedsRecovery


class Vault:
    """The protection of one database file: key file, keychain entry, passphrase, recovery."""

    def __init__(
        self,
        database_path: Path,
        keychain: Keychain,
        *,
        backup_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        scrypt: ScryptParams | None = None,
        on_step: StepHook | None = None,
    ) -> None:
        self.database_path = Path(database_path)
        self.backup_dir = (
            backup_dir if backup_dir is not None else self.database_path.parent / "backups"
        )
        self.keychain = keychain
        self.env = env if env is not None else os.environ
        self.scrypt = scrypt or ScryptParams()
        self.on_step: StepHook = on_step or (lambda step: None)
        self.account = account_for(self.database_path)
        self.pending_account = pending_account_for(self.database_path)

    # -- opening -------------------------------------------------------------------------
    def open(self) -> VaultOutcome:
        state = database_state(self.database_path)
        try:
            info = read_keyinfo(self.database_path)
        except KeyFileTooNewError:
            raise
        except KeyFileError as error:
            return NeedsRecovery(str(error), None)
        if info is None:
            return self._first_run(state)
        if info.mode == "none":
            if state == "encrypted":
                return NeedsRecovery(
                    "The key file says the data is not encrypted, but the database is. Open "
                    "it with your recovery key.",
                    "none",
                )
            return Unlocked(None, "none")
        if info.mode == "keychain":
            return self._open_from_keychain(info)
        passphrase = self.env.get(ENV_PASSPHRASE)
        if passphrase is None:
            return NeedsPassphrase("Your conversations are protected by a passphrase.")
        try:
            return self.unlock_with_passphrase(passphrase)
        except WrongPassphraseError:
            return NeedsPassphrase(f"The passphrase in {ENV_PASSPHRASE} is wrong.", True)

    def _first_run(self, state: str) -> VaultOutcome:
        if state == "encrypted":  # the key file is gone; the keychain may still have the key
            try:
                key = self.keychain.load(self.account)
            except KeychainError:
                key = None
            if key is not None and opens_with(self.database_path, key):
                info = KeyInfo("keychain", key_check(key), self.account)
                write_keyinfo(self.database_path, info)
                return self._settle(info, [key])
            return NeedsRecovery(
                f"The key file {keyfile_path(self.database_path)} is missing, so Hearth cannot "
                "find the key of your encrypted conversations. Open them with your recovery key.",
                None,
            )
        passphrase = self.env.get(ENV_PASSPHRASE)
        if passphrase is not None:
            return self.setup_passphrase(passphrase)
        status = self.keychain.status(self.account)
        if status.usable:
            try:
                return self.setup_keychain()
            except KeychainError as error:
                status = KeychainStatus(False, status.backend, str(error))
        return NeedsSetup(
            f"Hearth cannot keep the database key in a keychain ({status.reason}). Choose a "
            "passphrase to encrypt your conversations, or explicitly choose no encryption.",
            status,
            state == "plaintext",
        )

    def _open_from_keychain(self, info: KeyInfo) -> VaultOutcome:
        try:
            key = self.keychain.load(info.account or self.account)
            pending = info.pending
            new = self.keychain.load(pending.account) if pending and pending.account else None
        except KeychainError as error:
            return NeedsRecovery(
                f"{error} Unlock the keychain and try again, or open your conversations with "
                "your recovery key.",
                "keychain",
            )
        if key is None:
            return NeedsRecovery(
                "The keychain has no key for your conversations (it was reset or the entry was "
                "deleted). Open them with your recovery key.",
                "keychain",
            )
        candidates = [k for k in (key, new) if k is not None and self._known(info, k)]
        if not candidates:
            return NeedsRecovery(
                "The keychain holds a different key from the one your conversations are "
                "encrypted with. Open them with your recovery key.",
                "keychain",
            )
        return self._settle(info, candidates)

    @staticmethod
    def _known(info: KeyInfo, key: bytes) -> bool:
        pending = info.pending.key_check if info.pending else None
        return matches(key, info.key_check) or matches(key, pending)

    def unlock_with_passphrase(self, passphrase: str) -> Unlocked:
        info = self._require("passphrase")
        assert info.wrap is not None  # guaranteed by the key file reader
        kek = info.wrap.kek(passphrase)
        key = info.wrap.unwrap(kek)
        if key is None or not matches(key, info.key_check):
            raise WrongPassphraseError("The passphrase is wrong. Nothing was changed; try again.")
        keys = [key]
        if info.pending is not None and info.pending.wrap is not None:
            wrap = info.pending.wrap
            new = wrap.unwrap(kek if wrap.salt == info.wrap.salt else wrap.kek(passphrase))
            keys += [new] if new is not None and self._known(info, new) else []
        return self._settle(info, keys)

    def unlock_with_recovery_key(
        self, recovery_key: str, *, new_passphrase: str | None = None
    ) -> Unlocked:
        """Open the data with the recovery key and keep the key again: in the keychain, or
        wrapped by `new_passphrase` if one is given."""
        key = key_from_recovery(recovery_key)
        state = database_state(self.database_path)
        try:
            info = read_keyinfo(self.database_path)
        except KeyFileTooNewError:
            raise
        except KeyFileError:
            info = None
        known = info is not None and info.mode != "none" and self._known(info, key)
        if (state == "encrypted" and not opens_with(self.database_path, key)) or (
            state != "encrypted" and not known
        ):
            raise WrongRecoveryKeyError(
                "This recovery key does not open these conversations. Nothing was changed; "
                "check it and try again."
            )
        mode, wrap = self._keep(key, new_passphrase)
        encrypt.remove_files(encrypt.with_side_files(encrypt.rekeying_path(self.database_path)))
        if info is not None and info.pending is not None and info.pending.account:
            self._forget(info.pending.account)
        info = KeyInfo(
            mode,
            key_check(key),
            self.account if mode == "keychain" else None,
            wrap,
            encrypting=state == "plaintext" or bool(info and info.encrypting),
        )
        write_keyinfo(self.database_path, info)
        return self._settle(info, [key])

    # -- setting up ----------------------------------------------------------------------
    def _setup_state(self) -> str:
        state = database_state(self.database_path)
        info = read_keyinfo(self.database_path)
        if state == "encrypted" or (info is not None and info.mode != "none"):
            raise VaultStateError(
                "Your conversations are already encrypted; change the passphrase or open them "
                "with the recovery key instead."
            )
        return state

    def setup_keychain(self) -> Unlocked:
        """Make a key, keep it in the keychain and encrypt any plaintext data with it."""
        state = self._setup_state()
        key = new_key()
        self.keychain.store(self.account, key)
        info = KeyInfo("keychain", key_check(key), self.account, encrypting=state == "plaintext")
        write_keyinfo(self.database_path, info)
        return self._settle(info, [key], show_recovery_key=True)

    def setup_passphrase(self, passphrase: str) -> Unlocked:
        """Make a key, wrap it with `passphrase` and encrypt any plaintext data with it."""
        state = self._setup_state()
        key = new_key()
        wrap = PassphraseWrap.seal(key, passphrase, self.scrypt)
        info = KeyInfo("passphrase", key_check(key), wrap=wrap, encrypting=state == "plaintext")
        write_keyinfo(self.database_path, info)
        return self._settle(info, [key], show_recovery_key=True)

    def setup_without_encryption(self) -> Unlocked:
        """The user's explicit choice: keep the database unencrypted."""
        self._setup_state()
        write_keyinfo(self.database_path, KeyInfo("none"))
        return Unlocked(None, "none")

    # -- changing ------------------------------------------------------------------------
    def change_passphrase(self, old_passphrase: str, new_passphrase: str) -> None:
        info = self._require("passphrase")
        assert info.wrap is not None
        key = info.wrap.unwrap(info.wrap.kek(old_passphrase))
        if key is None or not matches(key, info.key_check):
            raise WrongPassphraseError(
                "The current passphrase is wrong. Nothing was changed; try again."
            )
        if info.pending is not None:
            raise VaultStateError("Open your conversations once before changing the passphrase.")
        wrap = PassphraseWrap.seal(key, new_passphrase, self.scrypt)
        write_keyinfo(self.database_path, replace(info, wrap=wrap))

    def switch_protection(self, db_key: bytes, new_passphrase: str | None = None) -> Unlocked:
        """Keep the current key in the keychain instead (no passphrase) or under a passphrase."""
        info = self._require("keychain", "passphrase")
        if not matches(db_key, info.key_check) or info.pending is not None:
            raise VaultStateError("This is not the current key of your conversations.")
        mode, wrap = self._keep(db_key, new_passphrase)
        write_keyinfo(
            self.database_path,
            KeyInfo(mode, info.key_check, self.account if mode == "keychain" else None, wrap),
        )
        if mode == "passphrase" and info.mode == "keychain":
            self._forget(self.account)
        return Unlocked(db_key, mode, self._backend(mode))

    def rotate_key(self, db_key: bytes, passphrase: str | None = None) -> Unlocked:
        """Replace the database key (and so the recovery key) by a new one, crash-safely.

        In passphrase mode the passphrase is needed to wrap the new key.
        """
        info = self._require("keychain", "passphrase")
        if not matches(db_key, info.key_check) or info.pending is not None:
            raise VaultStateError("This is not the current key of your conversations.")
        new = new_key()
        if info.mode == "keychain":
            self.keychain.store(self.pending_account, new)
            pending = PendingKey(key_check(new), account=self.pending_account)
        else:
            assert info.wrap is not None
            kek = info.wrap.kek(passphrase or "")
            if info.wrap.unwrap(kek) != db_key:
                raise WrongPassphraseError("The passphrase is wrong. Nothing was changed.")
            pending = PendingKey(key_check(new), wrap=info.wrap.rewrap(new, kek))
        info = replace(info, pending=pending)
        write_keyinfo(self.database_path, info)
        if database_state(self.database_path) == "encrypted":
            try:
                encrypt.rekey_file(self.database_path, db_key, new, self.on_step)
            except EncryptionError:  # the database still has the old key: forget the new one
                self._drop_pending(info)
                raise
        self._finish_rotation(info, db_key, new)
        return Unlocked(new, info.mode, self._backend(info.mode), show_recovery_key=True)

    # -- helpers -------------------------------------------------------------------------
    def _require(self, *modes: Mode) -> KeyInfo:
        info = read_keyinfo(self.database_path)
        if info is None or info.mode not in modes:
            raise VaultStateError(
                f"Your conversations are not protected this way ({' or '.join(modes)})."
            )
        return info

    def _backend(self, mode: Mode) -> str | None:
        return self.keychain.backend if mode == "keychain" else None

    def _keep(self, key: bytes, passphrase: str | None) -> tuple[Mode, PassphraseWrap | None]:
        if passphrase is not None:
            return "passphrase", PassphraseWrap.seal(key, passphrase, self.scrypt)
        self.keychain.store(self.account, key)
        return "keychain", None

    def _forget(self, account: str) -> None:
        try:
            self.keychain.delete(account)
        except KeychainError:
            log.warning("could not delete keychain entry %r", account, exc_info=True)

    def _settle(
        self, info: KeyInfo, keys: list[bytes], show_recovery_key: bool = False
    ) -> Unlocked:
        """Finish what an interruption left (rotation, encryption) and report the key."""
        current = next((k for k in keys if matches(k, info.key_check)), None)
        if info.pending is not None:
            new = next((k for k in keys if matches(k, info.pending.key_check)), None)
            swapped = new is not None and opens_with(self.database_path, new)
            if swapped:
                assert new is not None
                info = self._finish_rotation(info, current, new)
                current, show_recovery_key = new, True
            else:
                info = self._drop_pending(info)
        if current is None:
            raise VaultStateError(
                "This key was meant to replace the key of your conversations, but that did not "
                "happen. Open them with the recovery key you saved before."
            )
        if info.encrypting or database_state(self.database_path) == "plaintext":
            self._encrypt(info, current)
        return Unlocked(current, info.mode, self._backend(info.mode), show_recovery_key)

    def _encrypt(self, info: KeyInfo, key: bytes) -> None:
        if not info.encrypting:
            info = replace(info, encrypting=True)
            write_keyinfo(self.database_path, info)
        if database_state(self.database_path) == "plaintext":
            encrypt.encrypt_plaintext(self.database_path, key, self.on_step)
        encrypt.remove_plaintext_copies(self.database_path, self.backup_dir, self.on_step)
        write_keyinfo(self.database_path, replace(info, encrypting=False))

    def _drop_pending(self, info: KeyInfo) -> KeyInfo:
        encrypt.remove_files(encrypt.with_side_files(encrypt.rekeying_path(self.database_path)))
        if info.pending is not None and info.pending.account:
            self._forget(info.pending.account)
        info = replace(info, pending=None)
        write_keyinfo(self.database_path, info)
        return info

    def _finish_rotation(self, info: KeyInfo, old: bytes | None, new: bytes) -> KeyInfo:
        assert info.pending is not None
        self.on_step("rotated")
        if old is not None and self.backup_dir.is_dir():
            for leftover in sorted(self.backup_dir.glob("*.rekeying*")):
                encrypt.remove_files([leftover])
            for backup in sorted(self.backup_dir.iterdir()):
                if backup.suffix == ".db" and opens_with(backup, old):
                    encrypt.rekey_file(backup, old, new, self.on_step)
        if info.mode == "keychain":
            self.keychain.store(self.account, new)
        wrap = info.pending.wrap or info.wrap
        account = self.account if info.mode == "keychain" else None
        done = replace(
            info, key_check=info.pending.key_check, account=account, wrap=wrap, pending=None
        )
        write_keyinfo(self.database_path, done)
        if info.pending.account:
            self._forget(info.pending.account)
        encrypt.remove_files(encrypt.with_side_files(encrypt.rekeying_path(self.database_path)))
        return done
