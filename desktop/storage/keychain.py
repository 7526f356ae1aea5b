"""The operating system's keychain (via `keyring`), as a place to keep the database key.

`Keychain` wraps one injected keyring backend (default: `keyring.get_keyring()`). Entries live
under the service "Hearth" with one account per database path (`account_for()`), so two data
directories never share a key. A backend counts as *usable* only if it keeps secrets safely:
`fail.Keyring` (no keychain service, e.g. headless Linux), `null.Keyring` (stores nothing) and
every `keyrings.alt` backend (plain or weakly protected files) do not. `store()` reads the
value back, so a backend that silently drops secrets is caught as well.

Every failure of the backend (no service, a locked or reset keychain, a D-Bus error, ...)
becomes one `KeychainError` with a message for the user; the original is logged.

Thread: keychain calls can block on an unlock prompt; call them off the GUI thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
from keyring.backends import chainer, fail, null
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordDeleteError

from desktop.core.errors import KeychainError

log = logging.getLogger(__name__)

SERVICE = "Hearth"
KEY_BYTES = 32


def account_for(database_path: Path) -> str:
    """The keychain account of the key of the database at `database_path`."""
    return f"database key: {Path(database_path).expanduser().resolve()}"


def pending_account_for(database_path: Path) -> str:
    """The account of a new key while it replaces the current one."""
    return account_for(database_path) + " (new key)"


def backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _unsafe_reason(backend: Any) -> str | None:
    """Why this backend must not hold the database key, or None if it may."""
    if isinstance(backend, fail.Keyring):
        return "no keychain service is available on this system"
    if isinstance(backend, null.Keyring):
        return "the keychain is switched off (the 'null' backend stores nothing)"
    if type(backend).__module__.startswith("keyrings.alt"):
        return (
            f"the keychain backend {type(backend).__qualname__} keeps secrets in a file "
            "without real protection"
        )
    return None


@dataclass(frozen=True)
class KeychainStatus:
    """Whether the keychain can keep the database key, which backend it is, and why not."""

    usable: bool
    backend: str
    reason: str


def _failure(action: str, name: str, error: BaseException) -> KeychainError:
    if isinstance(error, NoKeyringError):
        detail = "no keychain service is available on this system"
    elif isinstance(error, KeyringLocked):
        detail = "the keychain is locked and was not unlocked"
    elif isinstance(error, InitError):
        detail = "the keychain could not be started"
    else:
        detail = str(error) or type(error).__name__
    return KeychainError(f"The keychain ({name}) could not {action}: {detail}.")


class Keychain:
    """Reads, writes and deletes hex-encoded 256-bit keys in one keyring backend."""

    def __init__(self, backend: Any | None = None, service: str = SERVICE) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        self.service = service

    def _effective(self) -> Any:
        """The backend that really stores: a chain stores in its first member."""
        if isinstance(self._backend, chainer.ChainerBackend):
            members = list(type(self._backend).backends)
            return members[0] if members else null.Keyring()
        return self._backend

    @property
    def backend(self) -> str:
        return backend_name(self._effective())

    def _call(self, action: str, method: str, *args: str) -> Any:
        backend = self._effective()
        try:
            return getattr(backend, method)(self.service, *args)
        except Exception as error:  # any backend failure is the environment's, not Hearth's
            log.warning("keychain %s failed in %s", method, backend_name(backend), exc_info=True)
            raise _failure(action, backend_name(backend), error) from error

    def status(self, account: str) -> KeychainStatus:
        """Usable or not, with the reason; reads `account` once (this may prompt to unlock)."""
        backend = self._effective()
        reason = _unsafe_reason(backend)
        if reason is None:
            try:
                self._call("be read", "get_password", account)
            except KeychainError as error:
                reason = str(error)
        return KeychainStatus(reason is None, backend_name(backend), reason or "")

    def _check_usable(self, action: str) -> None:
        reason = _unsafe_reason(self._effective())
        if reason is not None:
            raise KeychainError(f"The keychain cannot {action}: {reason}.")

    def load(self, account: str) -> bytes | None:
        """The key kept for `account`, or None if there is none."""
        self._check_usable("provide the database key")
        value = self._call("read the database key", "get_password", account)
        if value is None:
            return None
        try:
            key = bytes.fromhex(str(value))
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise KeychainError(
                f"The keychain entry '{account}' of service '{self.service}' does not hold a "
                "Hearth database key (it was changed by another program)."
            )
        return key

    def store(self, account: str, key: bytes) -> None:
        """Keep `key` for `account` and prove it by reading it back."""
        if len(key) != KEY_BYTES:
            raise ValueError(f"a database key has {KEY_BYTES} bytes, not {len(key)}")
        self._check_usable("keep the database key")
        self._call("save the database key", "set_password", account, key.hex())
        if self._call("read the database key back", "get_password", account) != key.hex():
            raise KeychainError(
                f"The keychain ({self.backend}) accepted the database key but did not keep it."
            )

    def load_secret(self, account: str) -> str | None:
        """Another secret kept for `account` (a server's API key), or None."""
        self._check_usable("provide the API key")
        value = self._call("read the API key", "get_password", account)
        return None if value is None else str(value)

    def store_secret(self, account: str, secret: str) -> None:
        """Keep `secret` (a server's API key) for `account` and prove it by reading it back."""
        self._check_usable("keep the API key")
        self._call("save the API key", "set_password", account, secret)
        if self._call("read the API key back", "get_password", account) != secret:
            raise KeychainError(
                f"The keychain ({self.backend}) accepted the API key but did not keep it."
            )

    def delete(self, account: str) -> bool:
        """Remove the entry for `account`; False if there was none.

        A backend Hearth never stores in (no keychain, null, keyrings.alt) has none.
        """
        if _unsafe_reason(self._effective()) is not None:
            return False
        if self._call("read the database key", "get_password", account) is None:
            return False
        try:
            self._effective().delete_password(self.service, account)
        except PasswordDeleteError as error:
            if self._call("read the database key", "get_password", account) is None:
                return True
            raise _failure("delete the database key", self.backend, error) from error
        except Exception as error:  # any backend failure is the environment's
            raise _failure("delete the database key", self.backend, error) from error
        return True
