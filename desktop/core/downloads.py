"""What a model download is, and how its progress reads to a person. Plain Python.

`DownloadRequest` names one file in a Hugging Face repository (with the sha256 the
catalogue expects, if it knows it). `Rate` turns byte counts over time into a speed and a
time left, smoothed over the last few seconds; `progress_text` says it in one line:
"312 MB of 1.0 GB · 4.2 MB/s · about 3 min left".
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from desktop.core.durations import duration_text
from desktop.core.errors import HearthError
from desktop.core.memory import format_bytes

#: Hosts a download from Hugging Face contacts: the Hub, and the download servers it sends
#: the file from (named to the user before the first download).
HUB_HOST = "huggingface.co"
HUB_DOWNLOAD_HOSTS = ("cdn-lfs.hf.co", "cas-bridge.xethub.hf.co")


def consent_text(host: str) -> str:
    """What the first download says before anything is sent (window and command line)."""
    others = (
        f" and its download servers ({', '.join(HUB_DOWNLOAD_HOSTS)})" if host == HUB_HOST else ""
    )
    return (
        f"Downloading a model contacts {host}{others}. Hearth sends only the repository and "
        "file names it asks for, with no account, token or conversation data; those servers "
        "see your IP address. Each host contacted is listed in Privacy."
    )


class DownloadError(HearthError):
    """A download failed; the sentence says why and what was kept."""


@dataclass(frozen=True)
class DownloadRequest:
    """One file to download: `repo` (owner/name), `file`, and what to check it against."""

    repo: str
    file: str
    sha256: str | None = None  # None: the repository's metadata gives it
    size_hint: int | None = None  # the catalogue's approximate size, before the Hub says
    revision: str = "main"
    title: str = ""  # the catalogue's name, for people

    @property
    def key(self) -> str:
        return f"{self.repo}/{self.file}"

    @property
    def label(self) -> str:
        return self.title or self.file

    @property
    def stem(self) -> str:
        """A file-system-safe name for this download's files in Hearth's folder."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.repo}--{self.file}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DownloadRequest:
        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        repo, file = text("repo"), text("file")
        if repo is None or file is None:
            raise ValueError("a download needs a repository and a file")
        size = data.get("size_hint")
        return cls(
            repo,
            file,
            text("sha256"),
            size if isinstance(size, int) and not isinstance(size, bool) else None,
            text("revision") or "main",
            text("title") or "",
        )


class Rate:
    """Bytes per second over the last `window_s` seconds (injectable clock for tests)."""

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window_s
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, done: int) -> None:
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()

    def per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else None


def progress_text(done: int, total: int | None, speed: float | None) -> str:
    """ "312 MB of 1.0 GB · 4.2 MB/s · about 3 min left" (parts left out when unknown)."""
    parts = [f"{format_bytes(done)} of {format_bytes(total)}" if total else format_bytes(done)]
    if speed is not None and speed > 0:
        parts.append(f"{format_bytes(int(speed))}/s")
        if total and total > done:
            parts.append(f"about {duration_text((total - done) / speed)} left")
    return " · ".join(parts)
