"""Model downloads wired into the window: the services the Models page offers them with, and
the contact log they write to.

`make_download_services(paths, record_contact)` builds the Hub client (asking the Privacy
switch at each use), the downloader in Hearth's downloads folder, the persistent queue and
its `DownloadManager`, and connects each host contacted to `record_contact(host, purpose,
detail)` on the GUI thread. `resume_downloads` continues, after a restart, the downloads
left waiting (only while the network is on). Thread: GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject

from desktop.core.catalogue import load_catalogue
from desktop.core.network import NetworkPolicy
from desktop.inference.downloader import Downloader
from desktop.inference.hub import HubClient
from desktop.paths import AppPaths
from desktop.storage.download_queue import DownloadQueueFile
from desktop.storage.preferences import Preferences
from desktop.ui.models.downloads import DownloadManager, DownloadServices

log = logging.getLogger(__name__)


def make_download_services(
    paths: AppPaths,
    record_contact: Callable[[str, str, str], None],
    parent: QObject | None = None,
) -> DownloadServices:
    def policy() -> NetworkPolicy:
        return Preferences.load(paths.config_dir).network

    hub = HubClient(policy, paths.cache_dir)
    manager = DownloadManager(
        Downloader(paths.downloads_dir, hub), DownloadQueueFile(paths.downloads_dir), parent
    )
    manager.contacted.connect(record_contact)
    return DownloadServices(manager, hub, policy, load_catalogue)


def resume_downloads(services: DownloadServices) -> None:
    if services.manager.queue.items and services.policy().allowed:
        log.info("continuing %d model download(s)", len(services.manager.queue.items))
        services.manager.resume_queue()
