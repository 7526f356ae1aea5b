"""The database key for the command line: the same `Vault` as the window, without dialogs.

A key in the keychain is used as is. A passphrase comes from `HEARTH_PASSPHRASE`, or is
asked for on the terminal (three tries) when there is one. Everything that needs a choice
(first run without a usable keychain, a lost keychain entry) gets a clear message saying
what to do, and nothing is changed.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

from desktop.core.errors import VaultError, WrongPassphraseError
from desktop.paths import AppPaths
from desktop.storage.keychain import Keychain
from desktop.storage.vault import (
    ENV_PASSPHRASE,
    NeedsPassphrase,
    NeedsRecovery,
    NeedsSetup,
    Unlocked,
    Vault,
    recovery_key_for,
)

TRIES = 3

#: The same advice the window gives beside a new recovery key.
RECOVERY_KEY_ADVICE = (
    "If this computer's keychain is reset or you forget your passphrase, this key is the only "
    "way to open your conversations. Write it down or save it somewhere safe, away from this "
    "computer."
)


def print_new_recovery_key(key: bytes, err: TextIO) -> None:
    """Shown once, when a command made a new key."""
    print(
        f"Hearth made a new key for your conversations. Save your recovery key. "
        f"{RECOVERY_KEY_ADVICE} `hearth key show` shows it again.\n\n    {recovery_key_for(key)}\n",
        file=err,
    )


def make_vault(
    paths: AppPaths, keychain: Keychain | None = None, env: Mapping[str, str] | None = None
) -> Vault:
    return Vault(
        paths.database_path,
        keychain or Keychain(),
        backup_dir=paths.data_dir / "backups",
        env=env,
    )


def database_key(
    vault: Vault,
    *,
    interactive: bool | None = None,
    ask: Callable[[str], str] = getpass.getpass,
) -> bytes | None:
    """The key to open the database with (None: unencrypted by the user's choice).

    Raises `VaultError` with a message for the user when it cannot be had here.
    """
    if interactive is None:
        interactive = sys.stdin.isatty()
    outcome = vault.open()
    if isinstance(outcome, Unlocked):
        if outcome.show_recovery_key and outcome.db_key is not None:
            print_new_recovery_key(outcome.db_key, sys.stderr)
        return outcome.db_key
    if isinstance(outcome, NeedsPassphrase):
        if outcome.env_rejected:
            raise VaultError(
                f"{outcome.reason} Nothing was changed; correct it, or unset it to type the "
                "passphrase in a terminal."
            )
        if not interactive:
            raise VaultError(
                f"{outcome.reason} Set {ENV_PASSPHRASE} or run this command in a terminal."
            )
        for _ in range(TRIES):
            try:
                return vault.unlock_with_passphrase(ask("Hearth passphrase: ")).db_key
            except WrongPassphraseError as error:
                print(str(error), file=sys.stderr)
        raise VaultError("The passphrase was wrong three times. Nothing was changed.")
    if isinstance(outcome, NeedsSetup):
        raise VaultError(
            f"{outcome.reason} Open the Hearth window once to choose how your conversations "
            f"are protected, or set {ENV_PASSPHRASE} to protect them with a passphrase."
        )
    assert isinstance(outcome, NeedsRecovery)
    raise VaultError(
        f"{outcome.reason} Run `hearth key recover` (or open the Hearth window) to enter your "
        "recovery key. Nothing was changed."
    )
