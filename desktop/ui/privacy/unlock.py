"""Opening the conversation store's key at start-up: the dialog flow around `Vault`.

`UnlockFlow.run()` asks the `Vault` what it needs and talks to the user through a
`Prompter` until the key is known or the user gives up: a passphrase (with a retry after a
wrong one), the first-run choice when no keychain can be used (a passphrase, or no
encryption as an explicit choice), and the recovery key when the keychain has lost the
key. A new key's recovery key comes back with the result, for the window to offer once it
is up (a modal box at start-up would hold the window back). Giving up never changes
anything: the app then runs without saving.

Every vault call runs as a background task while the GUI thread keeps its event loop
turning (`run_and_wait`): keychain prompts and scrypt never freeze the window.
`QtPrompter` is the real dialogs (`desktop.ui.privacy.unlock_dialogs`); tests script their own.

Thread: GUI thread (the vault calls themselves run on a helper thread).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from desktop.core.errors import VaultError
from desktop.storage.vault import (
    NeedsPassphrase,
    NeedsRecovery,
    NeedsSetup,
    Unlocked,
    Vault,
    VaultOutcome,
    recovery_key_for,
)
from desktop.ui.common.tasks import run_and_wait

_T = TypeVar("_T")

#: What the passphrase prompt may answer besides a passphrase.
USE_RECOVERY_KEY: Literal["recovery"] = "recovery"
#: What the first-run prompt answers for "don't encrypt".
NO_ENCRYPTION: Literal["none"] = "none"
#: What the recovery prompt answers for "try the keychain again".
RETRY: Literal["retry"] = "retry"

NOT_OPENED = (
    "Your conversations were not opened, so chats in this window are not kept. Nothing was "
    "changed; choose Protect my conversations… to try again."
)


class Prompter(Protocol):
    """The questions the flow asks; None always means "give up" (nothing is changed)."""

    def passphrase(self, reason: str, error: str | None) -> str | Literal["recovery"] | None:
        """The passphrase, or USE_RECOVERY_KEY."""
        ...

    def setup(self, reason: str, has_data: bool, error: str | None) -> str | Literal["none"] | None:
        """A new passphrase, or NO_ENCRYPTION (already confirmed by the user)."""
        ...

    def recovery(
        self, reason: str, wants_passphrase: bool, error: str | None
    ) -> tuple[str, str | None] | Literal["retry"] | None:
        """(recovery key, new passphrase or None), or RETRY."""
        ...


@dataclass(frozen=True)
class UnlockResult:
    """`unlocked` is None when the store stays closed; `message` then says why.

    `recovery_key` is set when a new key was made: the user should save it now."""

    unlocked: Unlocked | None
    message: str | None = None
    recovery_key: str | None = None


class UnlockFlow:
    """Asks the vault, then the user, until the database key is known (or not)."""

    def __init__(
        self,
        vault: Vault,
        prompter: Prompter,
        run: Callable[[Callable[[], object]], object] = run_and_wait,
    ) -> None:
        self._vault = vault
        self._prompter = prompter
        self._run = run

    def _call(self, function: Callable[[], _T]) -> _T:
        return self._run(function)  # type: ignore[return-value]

    def run(self) -> UnlockResult:
        try:
            outcome: VaultOutcome = self._call(self._vault.open)
        except VaultError as failure:
            return UnlockResult(None, f"{failure}\n{NOT_OPENED}")
        error: str | None = None
        while True:
            if isinstance(outcome, Unlocked):
                new_key = outcome.show_recovery_key and outcome.db_key is not None
                recovery = recovery_key_for(outcome.db_key) if new_key and outcome.db_key else None
                return UnlockResult(outcome, recovery_key=recovery)
            try:
                step = self._step(outcome, error)
            except VaultError as failure:
                error = str(failure)
                continue
            if step is None:
                return UnlockResult(None, NOT_OPENED)
            outcome, error = step, None

    def _step(self, outcome: VaultOutcome, error: str | None) -> VaultOutcome | None:
        """One question and the vault call it leads to; raises `VaultError` for a retry."""
        vault = self._vault
        if isinstance(outcome, NeedsPassphrase):
            reason = outcome.reason
            if outcome.env_rejected and error is None:
                error = reason
            answer = self._prompter.passphrase(reason, error)
            if answer is None:
                return None
            if answer == USE_RECOVERY_KEY:
                return NeedsRecovery(
                    "Enter the recovery key you saved when the passphrase was set.", "passphrase"
                )
            return self._call(lambda: vault.unlock_with_passphrase(answer))
        if isinstance(outcome, NeedsSetup):
            choice = self._prompter.setup(outcome.reason, outcome.has_plaintext_data, error)
            if choice is None:
                return None
            if choice == NO_ENCRYPTION:
                return self._call(vault.setup_without_encryption)
            return self._call(lambda: vault.setup_passphrase(choice))
        if isinstance(outcome, NeedsRecovery):
            wants_passphrase = outcome.mode == "passphrase"
            reply = self._prompter.recovery(outcome.reason, wants_passphrase, error)
            if reply is None:
                return None
            if reply == RETRY:
                return self._call(vault.open)
            text, new_passphrase = reply
            return self._call(
                lambda: vault.unlock_with_recovery_key(text, new_passphrase=new_passphrase)
            )
        return outcome
