"""Test-wide setup: offscreen Qt, isolated data dirs, an in-memory keyring, no network."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest

from tests.memory_keyring import MemoryKeyring

if TYPE_CHECKING:
    from desktop.storage.conversations import ConversationStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Child processes (the CLI and app subprocess tests) see no usable keychain, like a
# headless machine, and protect their store with this passphrase; in this process every
# test gets a fresh in-memory keychain (below). The real keychain is never touched.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
os.environ.setdefault("HEARTH_PASSPHRASE", "test passphrase, not a secret")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def collect_garbage_between_tests() -> Iterator[None]:
    """Free the last test's Qt objects now, at a safe point.

    A controller or window kept alive only by reference cycles would otherwise be collected
    whenever the garbage collector next runs, possibly inside one of its own timer events
    during a later test, which crashes Qt (the timer's object is deleted while it fires).
    """
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test writes into its own data dir, never the developer's real one."""
    data_dir = tmp_path / "hearth-data"
    monkeypatch.setenv("HEARTH_DATA_DIR", str(data_dir))
    yield data_dir


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A fresh in-memory keychain for this test, installed as keyring's backend."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    """The real embedded model (SmolLM2-135M-Instruct Q4_1), checked by sha256."""
    from desktop.inference.embedded import find_embedded_model

    return find_embedded_model()


@pytest.fixture(scope="session")
def embedding_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-MiniLM-L6-v2 converted to GGUF Q8_0 from its installed wheel, once per run."""
    from desktop.inference.embedding_model import embedding_model

    return embedding_model(tmp_path_factory.mktemp("embedding-cache"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    """A conversation store on a real encrypted database in a temporary directory."""
    from desktop.storage.conversations import ConversationStore
    from desktop.storage.migrations import open_and_migrate

    db = open_and_migrate(tmp_path / "hearth.db", bytes(range(32)))
    yield ConversationStore(db)
    db.close()
