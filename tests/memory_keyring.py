"""An in-memory keyring backend for tests, so no test touches a real keychain.

`MemoryKeyring` keeps entries in a dict (`entries[(service, account)]`). Setting `locked`
makes every call raise `KeyringLocked`, like a keychain whose unlock prompt was dismissed.
Its priority is negative, so keyring never picks it on its own.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A keychain that lives as long as the object."""

    priority = -1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.locked = False

    def _check(self) -> None:
        if self.locked:
            raise KeyringLocked("the keychain is locked")

    def get_password(self, service: str, username: str) -> str | None:
        self._check()
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check()
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._check()
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")
