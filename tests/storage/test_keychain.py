"""The keychain wrapper: which backends may keep the database key, and every failure explained."""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import InitError

from desktop.core.errors import KeychainError
from desktop.storage.keychain import SERVICE, Keychain, account_for, pending_account_for
from tests.memory_keyring import MemoryKeyring

KEY = bytes(range(32))
ACCOUNT = account_for(Path("/data/hearth.db"))


class ForgetfulKeyring(MemoryKeyring):
    """Accepts every secret and keeps none, like null.Keyring under another name."""

    def set_password(self, service: str, username: str, password: str) -> None:
        pass


class DBusError(Exception):
    pass


class BrokenBusKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise DBusError("org.freedesktop.DBus.Error.ServiceUnknown")


class InitFailingKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise InitError("Failed to unlock the collection")


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt.file.PlaintextKeyring (not installed here)."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


def test_memory_keychain_keeps_reads_and_deletes_a_key() -> None:
    backend = MemoryKeyring()
    chain = Keychain(backend)
    status = chain.status(ACCOUNT)
    assert status.usable and status.reason == ""
    assert status.backend == "tests.memory_keyring.MemoryKeyring"
    assert chain.load(ACCOUNT) is None
    chain.store(ACCOUNT, KEY)
    assert backend.entries == {(SERVICE, ACCOUNT): KEY.hex()}
    assert chain.load(ACCOUNT) == KEY
    assert chain.delete(ACCOUNT) is True
    assert chain.delete(ACCOUNT) is False
    assert chain.load(ACCOUNT) is None


def test_accounts_differ_per_database_path(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "hearth.db", tmp_path / "b" / "hearth.db"
    assert account_for(first) != account_for(second)
    assert account_for(first) == account_for(tmp_path / "a" / ".." / "a" / "hearth.db")
    assert pending_account_for(first) not in (account_for(first), account_for(second))


def test_no_keychain_service_is_not_usable_and_explained() -> None:
    chain = Keychain(fail.Keyring())
    status = chain.status(ACCOUNT)
    assert not status.usable
    assert status.backend == "keyring.backends.fail.Keyring"
    assert "no keychain service" in status.reason
    with pytest.raises(KeychainError, match="no keychain service"):
        chain.store(ACCOUNT, KEY)
    with pytest.raises(KeychainError, match="no keychain service"):
        chain.load(ACCOUNT)
    assert chain.delete(ACCOUNT) is False  # nothing can have been kept there


def test_null_backend_is_not_usable() -> None:
    chain = Keychain(null.Keyring())
    assert not chain.status(ACCOUNT).usable
    assert "stores nothing" in chain.status(ACCOUNT).reason
    with pytest.raises(KeychainError, match="stores nothing"):
        chain.store(ACCOUNT, KEY)


def test_keyrings_alt_backends_are_not_usable() -> None:
    chain = Keychain(PlaintextKeyring())
    status = chain.status(ACCOUNT)
    assert not status.usable
    assert "PlaintextKeyring" in status.reason and "without real protection" in status.reason
    with pytest.raises(KeychainError):
        chain.store(ACCOUNT, KEY)


def test_a_backend_that_drops_secrets_is_caught_by_reading_back() -> None:
    chain = Keychain(ForgetfulKeyring())
    assert chain.status(ACCOUNT).usable  # it looks fine until a key is stored
    with pytest.raises(KeychainError, match="did not keep it"):
        chain.store(ACCOUNT, KEY)


def test_locked_keychain_is_not_usable_until_unlocked() -> None:
    backend = MemoryKeyring()
    chain = Keychain(backend)
    chain.store(ACCOUNT, KEY)
    backend.locked = True
    status = chain.status(ACCOUNT)
    assert not status.usable and "locked" in status.reason
    with pytest.raises(KeychainError, match="locked"):
        chain.load(ACCOUNT)
    with pytest.raises(KeychainError, match="locked"):
        chain.delete(ACCOUNT)
    backend.locked = False
    assert chain.load(ACCOUNT) == KEY


@pytest.mark.parametrize(
    ("backend", "detail", "readable"),
    [
        (BrokenBusKeyring(), "ServiceUnknown", False),
        (InitFailingKeyring(), "could not be started", True),
    ],
)
def test_backend_errors_become_one_keychain_error(
    backend: MemoryKeyring, detail: str, readable: bool
) -> None:
    chain = Keychain(backend)
    with pytest.raises(KeychainError, match=detail) as caught:
        chain.store(ACCOUNT, KEY)
    assert str(caught.value).startswith(f"The keychain ({chain.backend}) could not ")
    assert type(backend).__qualname__ in chain.backend
    assert chain.status(ACCOUNT).usable is readable


def test_an_entry_changed_by_another_program_is_reported() -> None:
    backend = MemoryKeyring()
    backend.entries[(SERVICE, ACCOUNT)] = "not a key"
    with pytest.raises(KeychainError, match="does not hold a Hearth database key"):
        Keychain(backend).load(ACCOUNT)


def test_a_chain_is_judged_by_the_backend_it_stores_in(monkeypatch: pytest.MonkeyPatch) -> None:
    member = MemoryKeyring()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [member, PlaintextKeyring()])
    chain = Keychain(chainer.ChainerBackend())
    assert chain.status(ACCOUNT).usable
    chain.store(ACCOUNT, KEY)
    assert member.entries[(SERVICE, ACCOUNT)] == KEY.hex()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [PlaintextKeyring(), member])
    assert not chain.status(ACCOUNT).usable
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert not chain.status(ACCOUNT).usable


def test_default_backend_is_the_one_keyring_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.set_keyring(backend)
    try:
        Keychain().store(ACCOUNT, KEY)
    finally:
        monkeypatch.undo()
    assert backend.entries[(SERVICE, ACCOUNT)] == KEY.hex()
