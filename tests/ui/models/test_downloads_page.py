"""The Models page's catalogue and downloads, against a Hub stand-in on loopback serving a tiny
generated GGUF, with the real downloader, queue file and trial-load import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.core.catalogue import load_catalogue
from desktop.core.downloads import DownloadRequest
from desktop.core.network import NetworkPolicy
from desktop.inference.bench_results import BenchResults
from desktop.inference.downloader import Downloader
from desktop.inference.hub import HubClient
from desktop.inference.library import ModelLibrary
from desktop.inference.probe import ModelProber
from desktop.storage.contacts import ContactLog
from desktop.storage.conversations import ConversationStore
from desktop.storage.download_queue import DownloadQueueFile
from desktop.ui.models.catalogue import CatalogueDialog
from desktop.ui.models.downloads import DownloadManager, DownloadServices
from desktop.ui.models.page import ModelsPage
from desktop.ui.privacy.contacts import ContactsSection
from tests.hub_server import TINY_FILE as FILE
from tests.hub_server import TINY_REPO as REPO
from tests.hub_server import HubServer, serve_tiny_model

FREE = 2 << 30


class Setup:
    def __init__(self, tmp: Path, hub: HubServer, catalogue: Path) -> None:
        self.tmp, self.hub, self.catalogue = tmp, hub, catalogue
        self.allowed = [False]
        self.asked: list[str] = []
        self.contacts: list[tuple[str, str, str]] = []
        self.library = ModelLibrary(
            tmp / "models", tmp / "config" / "models.json", None, ModelProber(timeout_s=60)
        )

    def services(self, parent: QWidget | None = None) -> DownloadServices:
        def policy() -> NetworkPolicy:
            return NetworkPolicy(self.allowed[0])

        client = HubClient(policy, self.tmp / "cache", endpoint=self.hub.endpoint)
        downloads = self.tmp / "downloads"
        manager = DownloadManager(
            Downloader(downloads, client, chunk=32 * 1024, backoff_s=0.01),
            DownloadQueueFile(downloads),
            parent,
        )
        manager.contacted.connect(lambda *contact: self.contacts.append(contact))
        return DownloadServices(
            manager,
            client,
            policy,
            lambda: load_catalogue(self.catalogue),
            free_memory=lambda: FREE,
            ask_consent=lambda parent, host: self.asked.append(host) is None,
        )

    def page(self, qtbot: QtBot) -> ModelsPage:
        services = self.services()
        page = ModelsPage(self.library, BenchResults(self.tmp / "bench.json"), downloads=services)
        services.manager.setParent(page)
        qtbot.addWidget(page)
        page.show()
        assert page.downloads is not None
        return page


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    big = {"id": "big", "name": "Big", "repo": "tester/Big-GGUF", "file": "big.gguf"}
    big |= {"size_bytes": 3 << 30, "sha256": "repository", "size_exact": False}
    hub, catalogue = serve_tiny_model(tmp_path, big)
    yield Setup(tmp_path, hub, catalogue)
    hub.stop()


def rows(dialog: CatalogueDialog) -> list[list[str]]:
    tree = dialog.table
    return [
        [tree.topLevelItem(i).text(c) for c in range(5)]  # type: ignore[union-attr]
        for i in range(tree.topLevelItemCount())
    ]


def test_with_the_switch_off_the_catalogue_shows_fit_and_the_way_by_hand(
    qtbot: QtBot, setup: Setup
) -> None:
    page = setup.page(qtbot)
    dialog = page.open_catalogue()
    assert dialog is not None and dialog.isVisible()
    tiny, big = rows(dialog)
    assert tiny[0] == "Tiny · Q8_0" and tiny[3] == "fits" and tiny[1].endswith("KB")
    assert big[1] == "~3.0 GB" and big[3] == "too big"
    assert (
        "The network is off (Privacy), so Hearth downloads nothing." in dialog.network_note.text()
    )
    assert "then add it with Import…" in dialog.network_note.text()
    assert f"{setup.hub.endpoint}/{REPO}" in dialog.details.text()
    assert not dialog.download_button.isEnabled() and not dialog.search_edit.isVisible()
    assert not dialog.download_selected()
    assert setup.hub.requests == [] and setup.asked == []


@pytest.mark.slow
def test_a_catalogue_model_downloads_in_view_and_lands_in_the_library(
    qtbot: QtBot, setup: Setup
) -> None:
    setup.allowed[0] = True
    setup.hub.faults.rate = 160 * 1024  # about three seconds, to watch it
    page = setup.page(qtbot)
    dialog = page.open_catalogue()
    assert dialog is not None
    dialog.refresh_network()
    assert dialog.download_button.isEnabled() and dialog.search_edit.isVisible()
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert setup.asked == ["127.0.0.1"]  # asked once, naming the host
    lines = dialog.download_list
    qtbot.waitUntil(
        lambda: bool(lines.rows) and lines.rows[f"{REPO}/{FILE}"][0].value() > 100, timeout=10_000
    )
    _bar, text, toggle, _ = lines.rows[f"{REPO}/{FILE}"]
    assert " of " in text.text() and toggle.text() == "Pause"
    assert not dialog.download_button.isEnabled()  # already downloading
    with qtbot.waitSignal(page.imports.imported, timeout=60_000):
        pass
    assert FILE in [e.name for e in page.library.entries()]
    assert "passed its trial load" in page.message.text()
    assert list((setup.tmp / "downloads").glob("*.gguf*")) == []
    assert setup.contacts == [("127.0.0.1", "download", FILE)]
    assert json.loads((setup.tmp / "downloads" / "queue.json").read_text())["downloads"] == []
    assert not lines.isVisible() or not lines.rows
    assert dialog.download_button.toolTip() == "Already in your library"


def test_pause_resume_and_cancel(qtbot: QtBot, setup: Setup) -> None:
    setup.allowed[0] = True
    setup.hub.faults.rate = 64 * 1024
    page = setup.page(qtbot)
    dialog = page.open_catalogue()
    assert dialog is not None and dialog.download_selected()
    manager = dialog.manager
    key = f"{REPO}/{FILE}"
    qtbot.waitUntil(
        lambda: key in dialog.download_list.rows and dialog.download_list.rows[key][0].value() > 0
    )
    toggle = dialog.download_list.rows[key][2]
    toggle.click()  # Pause
    qtbot.waitUntil(lambda: not manager.is_busy(), timeout=10_000)
    partial = manager.downloader.partial_path(load_request(dialog))
    assert partial.exists() and dialog.download_list.rows[key][2].text() == "Resume"
    kept = partial.stat().st_size
    assert manager.queue.find(key) is not None and manager.queue.find(key).state == "paused"  # type: ignore[union-attr]
    dialog.download_list.rows[key][2].click()  # Resume
    qtbot.waitUntil(lambda: manager.is_busy() and len(setup.hub.gets()) == 2)
    assert kept > 0 and setup.hub.gets()[-1][2] == f"bytes={kept}-"
    dialog.download_list.rows[key][3].click()  # Cancel
    qtbot.waitUntil(lambda: not manager.is_busy(), timeout=10_000)
    assert not partial.exists() and manager.queue.items == []
    assert not dialog.download_list.rows


def load_request(dialog: CatalogueDialog) -> DownloadRequest:
    return dialog.requests[f"{REPO}/{FILE}"]


def test_a_download_left_waiting_continues_after_a_restart(qtbot: QtBot, setup: Setup) -> None:
    setup.allowed[0] = True
    entry = load_catalogue(setup.catalogue)[0]
    wanted = DownloadRequest(entry.repo, entry.file, entry.sha256, entry.size_bytes)
    downloads = setup.tmp / "downloads"
    DownloadQueueFile(downloads).put(wanted)  # as if Hearth quit while it ran...
    partial = downloads / f"{wanted.stem}.partial"
    partial.write_bytes(setup.hub.files[(REPO, FILE)][:100_000])
    sidecar = {"sha256": entry.sha256, "size": entry.size_bytes}
    partial.with_name(partial.name + ".json").write_text(json.dumps(sidecar))
    holder = QWidget()
    qtbot.addWidget(holder)
    again = setup.services(holder)  # ...and started again
    assert [i.request.key for i in again.manager.queue.items] == [wanted.key]
    with qtbot.waitSignal(again.manager.downloaded, timeout=20_000) as done:
        again.manager.resume_queue()
    assert Path(done.args[1]).read_bytes() == setup.hub.files[(REPO, FILE)]
    assert setup.hub.gets()[0][2] == "bytes=100000-"
    qtbot.waitUntil(lambda: not again.manager.is_busy())


def test_privacy_lists_the_hosts_contacted(qtbot: QtBot, store: ConversationStore) -> None:
    empty = ContactsSection(ContactLog(store.db))
    qtbot.addWidget(empty)
    assert empty.summary.text() == "Hearth has contacted no other computer."
    log = ContactLog(store.db)
    log.record("huggingface.co", "download", "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    log.record("cdn-lfs.hf.co", "download", "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    log.record("huggingface.co", "search", "GGUF models")
    section = ContactsSection(log)
    qtbot.addWidget(section)
    hosts = [section.hosts.topLevelItem(i) for i in range(section.hosts.topLevelItemCount())]
    assert [(h.text(0), h.text(2)) for h in hosts if h] == [
        ("huggingface.co", "2"),
        ("cdn-lfs.hf.co", "1"),
    ]
    recent = section.recent.topLevelItem(2)
    assert recent is not None and recent.text(2) == "download: qwen2.5-0.5b-instruct-q4_k_m.gguf"
    closed = ContactsSection(None)
    qtbot.addWidget(closed)
    assert "not open in this session" in closed.summary.text()
