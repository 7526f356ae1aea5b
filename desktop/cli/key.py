"""`hearth key show` and `hearth key recover`: the recovery key on the command line.

`show` prints the recovery key of the conversations (after the usual unlock). `recover` opens
them with the recovery key when the key file, the keychain entry or the passphrase is lost,
and keeps the key again: under the passphrase in `HEARTH_PASSPHRASE` or typed in a terminal,
else in the keychain. It takes the write lock, so it refuses while the window is open.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TextIO

from desktop.cli.store import COMMAND_WAIT_S
from desktop.cli.vault import RECOVERY_KEY_ADVICE, database_key, make_vault
from desktop.core.errors import VaultError
from desktop.paths import AppPaths
from desktop.storage.keyfile import key_from_recovery
from desktop.storage.lock import WriteLock
from desktop.storage.vault import ENV_PASSPHRASE, recovery_key_for


def run(
    args: argparse.Namespace,
    out: TextIO,
    paths: AppPaths,
    ask: Callable[[str], str] = getpass.getpass,
) -> int:
    paths.ensure()
    if args.key_command == "show":
        key = database_key(make_vault(paths))
        if key is None:
            raise VaultError(
                "Your conversations are not encrypted (you chose no encryption), so there is no "
                "recovery key."
            )
        print(f"Your recovery key: {recovery_key_for(key)}", file=out)
        print(RECOVERY_KEY_ADVICE, file=out)
        return 0
    interactive = sys.stdin.isatty()
    if interactive:
        text = ask("Recovery key (56 letters and digits): ")
    else:
        text = sys.stdin.readline(1000)
    if not text.strip():
        raise VaultError("No recovery key was given. Nothing was changed.")
    key_from_recovery(text)  # a typo is found before anything else
    lock = WriteLock(paths.data_dir, "command line")
    if not lock.try_acquire():  # the window refuses at once; another command is waited for
        lock.acquire(0.0 if lock.owner().kind == "window" else COMMAND_WAIT_S)
    try:
        return _recover(paths, out, ask, text, interactive)
    finally:
        lock.release()


def _recover(
    paths: AppPaths, out: TextIO, ask: Callable[[str], str], text: str, interactive: bool
) -> int:
    vault = make_vault(paths)
    new_passphrase = vault.env.get(ENV_PASSPHRASE)
    if new_passphrase is None and interactive:
        first = ask("New passphrase (leave empty to keep the key in the keychain): ")
        if first:
            if ask("The new passphrase again: ") != first:
                raise VaultError("The two passphrases differ. Nothing was changed.")
            new_passphrase = first
    unlocked = vault.unlock_with_recovery_key(text, new_passphrase=new_passphrase)
    where = "under your passphrase" if unlocked.mode == "passphrase" else "in the keychain"
    print(f"Your conversations are open again; their key is kept {where}.", file=out)
    return 0
