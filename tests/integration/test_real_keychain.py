"""The database key in a real keychain: gnome-keyring's Secret Service on a private D-Bus.

Each test starts its own `dbus-run-session` with a `gnome-keyring-daemon` whose login
keyring is new and unlocked (no display, so it can never show an unlock prompt), and runs
`hearth` as a person would, with no keyring backend forced and no passphrase set: keyring
finds the Secret Service by itself. `secret-tool` (libsecret) checks what is really kept.
The developer's own keychain is never touched: HOME and the bus are the test's own.

Needs Debian's gnome-keyring, dbus and libsecret-tools (`packaging/ci_system_deps.sh`
installs them); without them the tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from keyring.backends.SecretService import Keyring as SecretServiceKeyring

from desktop.app import wipe_targets
from desktop.paths import AppPaths
from desktop.storage.keychain import SERVICE, Keychain, account_for
from desktop.storage.keyfile import read_keyinfo, recovery_key_for
from desktop.storage.vault import NeedsRecovery, Unlocked, Vault
from desktop.storage.wipe import wipe_all_data
from tests import tinymodels

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("dbus-run-session", "gnome-keyring-daemon", "secret-tool")
QUESTION = "Where do otters sleep?"
START_TIMEOUT_S = 15.0
SECRET_SERVICE = "org.freedesktop.secrets"
LOCKED = (
    "hearth: The keychain (keyring.backends.SecretService.Keyring) could not read the "
    "database key: the keychain is locked and was not unlocked."
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (packaging/ci_system_deps.sh installs what is needed)")
    pytest.skip(reason)


@dataclass
class Desktop:
    """A private desktop session: its environment, a data dir, and the tools to inspect it."""

    env: dict[str, str]
    data_dir: Path
    model: Path

    @property
    def database(self) -> Path:
        return AppPaths.resolve(str(self.data_dir)).database_path

    @property
    def account(self) -> str:
        return account_for(self.database)

    def hearth(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "desktop", "--data-dir", str(self.data_dir), *args],
            env={**self.env, **extra},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def ask(self) -> None:
        result = self.hearth("ask", "--model", str(self.model), "--max-tokens", "4", QUESTION)
        assert result.returncode == 0, result.stderr

    def secret_tool(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["secret-tool", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def lock_keyring(self) -> None:
        """Lock the login keyring (`secret-tool lock` hangs on gnome-keyring 42)."""
        import secretstorage

        with closing(secretstorage.dbus_init()) as bus:
            collection = secretstorage.get_default_collection(bus)
            collection.lock()
            assert collection.is_locked()

    def stored_key(self) -> str:
        """The entry under service "Hearth" for this data dir ("" when there is none)."""
        return self.secret_tool("lookup", "service", SERVICE, "username", self.account).stdout


def _wait_for_secret_service(env: dict[str, str], daemon: subprocess.Popen[str]) -> None:
    """Until gnome-keyring owns the Secret Service name (asking earlier would start another)."""
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    deadline = time.monotonic() + START_TIMEOUT_S
    with open_dbus_connection(env["DBUS_SESSION_BUS_ADDRESS"]) as bus:
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                break
            if bus.send_and_get_reply(message_bus.NameHasOwner(SECRET_SERVICE)).body[0]:
                return
            time.sleep(0.02)
    _unavailable(f"gnome-keyring-daemon did not start: {daemon.poll()}")


@pytest.fixture
def desktop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desktop]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the Secret Service is a Linux desktop's keychain")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(f"not installed: {', '.join(missing)}")
    home = tmp_path / "home"
    runtime = tmp_path / "runtime"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "DISPLAY",  # no display: an unlock prompt can never be shown
            "WAYLAND_DISPLAY",
            "DBUS_SESSION_BUS_ADDRESS",
            "PYTHON_KEYRING_BACKEND",  # keyring finds the Secret Service by itself
            "HEARTH_PASSPHRASE",
            "HEARTH_DATA_DIR",
        )
    }
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_RUNTIME_DIR=str(runtime),
    )
    daemon = subprocess.Popen(
        [
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            'echo "$DBUS_SESSION_BUS_ADDRESS"; '
            "exec gnome-keyring-daemon --foreground --unlock --components=secrets",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the bus and the daemon end together
    )
    try:
        assert daemon.stdin is not None and daemon.stdout is not None
        daemon.stdin.write("login keyring password\n")  # a new login keyring, unlocked
        daemon.stdin.close()
        address = daemon.stdout.readline().strip()
        if not address:
            _unavailable("dbus-run-session started no session bus")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        _wait_for_secret_service(env, daemon)
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)  # for keyring in this process
        model = tinymodels.write_tiny_llama_gguf(tmp_path / "tiny.gguf")
        yield Desktop(env, tmp_path / "data", model)
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=10)
        assert daemon.stdout is not None
        daemon.stdout.close()


def test_the_key_is_kept_in_the_keychain_and_read_back(desktop: Desktop) -> None:
    desktop.ask()
    info = read_keyinfo(desktop.database)
    assert info is not None and info.mode == "keychain" and info.account == desktop.account
    key = desktop.stored_key()
    assert len(bytes.fromhex(key)) == 32  # a 256-bit key, only in the keychain
    assert key not in (desktop.database.parent / "hearth.db.keyinfo.json").read_text()
    found = desktop.hearth("search", "otters")  # a second process reads it back
    assert found.returncode == 0, found.stderr
    assert "otters" in found.stdout.lower()
    status = Keychain(SecretServiceKeyring()).status(desktop.account)
    assert status.usable and status.backend == "keyring.backends.SecretService.Keyring"


def test_a_locked_keychain_falls_back_with_a_sentence(desktop: Desktop) -> None:
    desktop.ask()
    key = desktop.stored_key()
    desktop.lock_keyring()
    started = time.monotonic()
    refused = desktop.hearth("search", "otters")
    assert time.monotonic() - started < 30  # no prompt to wait for
    assert refused.returncode == 1
    assert refused.stderr.startswith(LOCKED), refused.stderr
    assert "Unlock the keychain and try again, or open your conversations with your " in (
        refused.stderr
    )
    # The window gets the same reason and offers the recovery key; nothing was changed.
    outcome = Vault(desktop.database, Keychain(SecretServiceKeyring())).open()
    assert isinstance(outcome, NeedsRecovery) and "locked" in outcome.reason
    # A new data dir on the locked keychain is offered a passphrase instead.
    fresh = desktop.hearth("--data-dir", str(desktop.data_dir.parent / "fresh"), "search", "x")
    assert fresh.returncode == 1
    assert "Hearth cannot keep the database key in a keychain (The keychain" in fresh.stderr
    assert "locked" in fresh.stderr and "HEARTH_PASSPHRASE" in fresh.stderr
    protected = desktop.hearth(
        "--data-dir",
        str(desktop.data_dir.parent / "fresh"),
        "ask",
        "--model",
        str(desktop.model),
        "--max-tokens",
        "2",
        QUESTION,
        HEARTH_PASSPHRASE="a passphrase for the fresh store",
    )
    assert protected.returncode == 0, protected.stderr
    assert read_keyinfo(desktop.database) is not None  # the first store's key file is intact
    assert desktop.stored_key() == ""  # still locked: nothing can be read or overwritten
    assert key


def test_a_deleted_entry_leads_to_the_recovery_key(desktop: Desktop) -> None:
    desktop.ask()
    key = desktop.stored_key()
    recovery = recovery_key_for(bytes.fromhex(key))  # what the window showed at first run
    cleared = desktop.secret_tool("clear", "service", SERVICE, "username", desktop.account)
    assert cleared.returncode == 0 and desktop.stored_key() == ""
    refused = desktop.hearth("search", "otters")
    assert refused.returncode == 1
    assert "The keychain has no key for your conversations (it was reset or the entry was " in (
        refused.stderr
    )
    assert "Run `hearth key recover` (or open the Hearth window) to enter your recovery key." in (
        refused.stderr
    )
    # The window's recovery path: the recovery key opens the data and keeps the key again.
    vault = Vault(desktop.database, Keychain(SecretServiceKeyring()))
    assert isinstance(vault.open(), NeedsRecovery)
    unlocked = vault.unlock_with_recovery_key(recovery)
    assert isinstance(unlocked, Unlocked) and unlocked.mode == "keychain"
    assert desktop.stored_key() == key
    found = desktop.hearth("search", "otters")
    assert found.returncode == 0 and "otters" in found.stdout.lower(), found.stderr


def test_delete_all_my_data_removes_the_keychain_entry(desktop: Desktop) -> None:
    desktop.ask()
    assert desktop.stored_key()
    paths = AppPaths.resolve(str(desktop.data_dir))
    # What the Privacy page's "Delete all my data" runs, with the keychain Hearth finds.
    report = wipe_all_data(wipe_targets(paths), Keychain(SecretServiceKeyring()))
    assert report.complete, report.failures
    assert report.keychain_entries == [desktop.account]
    assert desktop.stored_key() == ""
    left = desktop.secret_tool("search", "--all", "service", SERVICE)
    assert "attribute.service" not in left.stdout
    assert not paths.database_path.exists()
