"""The model downloads waiting, running or paused, kept across restarts, and the user's consent.

A small JSON file in Hearth's downloads folder (`<data>/downloads/queue.json`, written
atomically): each download's request and whether it is "waiting" or "paused", and the hosts
the user agreed to contact when asked before the first download. A damaged file gives an
empty queue (the partial files stay, so adding the same model again resumes it). No
conversation data is ever written here. Plain Python; used from one thread.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from desktop.core.downloads import DownloadRequest
from desktop.core.files import atomic_write_text

log = logging.getLogger(__name__)

FILE_NAME = "queue.json"
VERSION = 1
WAITING, PAUSED = "waiting", "paused"


@dataclass(frozen=True)
class QueuedDownload:
    request: DownloadRequest
    state: str  # WAITING or PAUSED


class DownloadQueueFile:
    """Load once, then every change is saved at once."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self.items: list[QueuedDownload] = []
        self.consented: list[str] = []
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError, ValueError) as error:
            log.warning("download queue %s unreadable (%s): starting empty", self.path, error)
            return
        if not isinstance(data, dict) or data.get("schema_version", 0) > VERSION:
            log.warning("download queue %s not understood: starting empty", self.path)
            return
        hosts = data.get("consented")
        self.consented = [h for h in hosts if isinstance(h, str)] if isinstance(hosts, list) else []
        for item in data.get("downloads") or []:
            try:
                request = DownloadRequest.from_dict(item)
            except (TypeError, ValueError, AttributeError):
                log.warning("download queue: skipping a damaged entry")
                continue
            state = PAUSED if item.get("state") == PAUSED else WAITING
            self.items.append(QueuedDownload(request, state))

    def save(self) -> None:
        data = {
            "schema_version": VERSION,
            "consented": self.consented,
            "downloads": [{**i.request.to_dict(), "state": i.state} for i in self.items],
        }
        atomic_write_text(self.path, json.dumps(data, indent=2) + "\n")

    def find(self, key: str) -> QueuedDownload | None:
        return next((i for i in self.items if i.request.key == key), None)

    def put(self, request: DownloadRequest, state: str = WAITING) -> None:
        """Add `request`, or set its state if it is queued already."""
        for index, item in enumerate(self.items):
            if item.request.key == request.key:
                self.items[index] = QueuedDownload(item.request, state)
                break
        else:
            self.items.append(QueuedDownload(request, state))
        self.save()

    def remove(self, key: str) -> None:
        self.items = [i for i in self.items if i.request.key != key]
        self.save()

    def has_consent(self, host: str) -> bool:
        return host in self.consented

    def consent(self, host: str) -> None:
        if host not in self.consented:
            self.consented.append(host)
            self.save()
