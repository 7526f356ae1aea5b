"""`hearth models catalog` and `hearth models get` as a person runs them (a separate process),
against a Hub stand-in on loopback (`HF_ENDPOINT`) serving a tiny generated GGUF: the file
is downloaded, verified, trial-loaded and imported, and the host lands in the contact log."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.paths import AppPaths
from desktop.storage.preferences import Preferences
from tests.hub_server import TINY_FILE as FILE
from tests.hub_server import HubServer, serve_tiny_model

pytestmark = pytest.mark.slow


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubServer, Path]]:
    server, catalogue = serve_tiny_model(tmp_path)
    yield server, catalogue
    server.stop()


def hearth(
    home: Path, data_dir: Path, hub: HubServer, catalogue: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HEARTH_DATA_DIR": str(data_dir),
        "HEARTH_CATALOGUE": str(catalogue),
        "HF_ENDPOINT": hub.endpoint,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    env.pop("HF_HUB_OFFLINE", None)
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_get_downloads_verifies_imports_and_logs_the_host(
    tmp_path: Path, hub: tuple[HubServer, Path]
) -> None:
    server, catalogue = hub
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    paths = AppPaths.resolve(data)
    Preferences(network_allowed=True).save(paths.config_dir)

    done = hearth(home, data, server, catalogue, "models", "get", "tiny", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Downloading a model contacts 127.0.0.1." in done.stdout
    assert "Downloaded and verified tiny-q8_0.gguf (sha256)." in done.stdout
    assert f'Imported "{FILE}"' in done.stdout
    listed = hearth(home, data, server, catalogue, "models", "list", "--json")
    names = [m["name"] for m in json.loads(listed.stdout)["models"]]
    assert FILE in names
    assert (
        list(paths.downloads_dir.glob("*.partial*")) == []
        and not (paths.downloads_dir / FILE).exists()
    )
    assert json.loads((paths.downloads_dir / "queue.json").read_text())["downloads"] == []
    assert not (home / ".cache" / "huggingface").exists()  # nothing in the user's home
    assert [r[0] for r in server.requests] == ["HEAD", "GET"]

    from desktop.cli.store import open_store
    from desktop.storage.contacts import ContactLog

    with open_store(paths, writing=False) as store:
        [contact] = ContactLog(store.db).recent()
    assert (contact.host, contact.purpose, contact.detail) == ("127.0.0.1", "download", FILE)

    again = hearth(home, data, server, catalogue, "models", "get", "tiny", "--yes")
    assert again.returncode == 1
    assert f'A model named "{FILE}" is already in the library' in again.stderr


def test_get_with_the_switch_off_contacts_nothing(
    tmp_path: Path, hub: tuple[HubServer, Path]
) -> None:
    server, catalogue = hub
    done = hearth(tmp_path, tmp_path / "data", server, catalogue, "models", "get", "tiny", "--yes")
    assert done.returncode == 1
    assert done.stderr == (
        "hearth: Downloading tiny-q8_0.gguf needs the network, which is turned off in Privacy. "
        "Nothing was sent.\n"
    )
    assert server.requests == []


def test_catalog_lists_sizes_and_fit(tmp_path: Path, hub: tuple[HubServer, Path]) -> None:
    server, catalogue = hub
    done = hearth(tmp_path, tmp_path / "data", server, catalogue, "models", "catalog", "--json")
    [row] = json.loads(done.stdout)["models"]
    assert row["id"] == "tiny" and row["fit"] == "fits"
    assert row["sha256"] == hashlib.sha256((tmp_path / FILE).read_bytes()).hexdigest()
    text = hearth(tmp_path, tmp_path / "data", server, catalogue, "models", "catalog").stdout
    assert "tiny             Tiny (Q8_0)" in text and "The network is off" in text
    assert server.requests == []
