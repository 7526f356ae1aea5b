"""Talking to the Hugging Face Hub (`huggingface_hub`), only through the network switch.

`HubClient` reads a file's metadata (size, commit, the LFS sha256), opens a ranged GET of
it, searches GGUF repositories and lists a repository's GGUF files. Every call first asks
`NetworkPolicy.require()`. Underneath, huggingface_hub's shared HTTP client is replaced
(`set_client_factory`, its public hook) by one whose request hook lets a request through
only inside a `HubClient` call whose policy allows it, and tells that call's `on_contact`
each host contacted (the Hub, and the download server it redirects to), so the Privacy
page's log sees every host, and a request from anywhere else is refused.

The endpoint is `HF_ENDPOINT` read at each call (default https://huggingface.co) and passed
through the API's `endpoint=` arguments: huggingface_hub reads `HF_ENDPOINT` only once, when
it is imported. Before that import, `prepare_environment` points its cache and home into
Hearth's cache folder and turns off its telemetry, implicit token and update checks; every
call also passes `token=False`, so no token is read or sent.

Thread: any (each call runs where it is made; the client is thread-safe).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from desktop.core.downloads import DownloadError
from desktop.core.network import NetworkDisabledError, NetworkPolicy

if TYPE_CHECKING:
    import httpx2

DEFAULT_ENDPOINT = "https://huggingface.co"
ENDPOINT_ENV = "HF_ENDPOINT"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_STATUS_RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})


def hub_endpoint() -> str:
    return (os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT).rstrip("/")


def prepare_environment(cache_dir: Path) -> None:
    """huggingface_hub's settings, read when it is first imported: Hearth's own folder, no
    telemetry, no token from the user's home, no update checks."""
    home = Path(cache_dir) / "huggingface"
    os.environ["HF_HOME"] = str(home)
    os.environ["HF_HUB_CACHE"] = str(home / "hub")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    os.environ["HF_HUB_DISABLE_UPDATE_CHECK"] = "1"


class TransientError(DownloadError):
    """The server or the connection failed in a way worth trying again."""


@dataclass(frozen=True)
class RemoteFile:
    url: str  # where to GET it (the download server's address when the Hub redirects)
    size: int | None
    sha256: str | None  # the LFS object id, when the file is in LFS
    commit: str | None


@dataclass(frozen=True)
class RepoFile:
    name: str
    size: int | None
    sha256: str | None


@dataclass
class _Watch:
    policy: NetworkPolicy
    purpose: str
    on_contact: Callable[[str], None]
    seen: set[str]


_WATCH: ContextVar[_Watch | None] = ContextVar("hearth_hub_watch", default=None)
_installed: list[bool] = []


def _gate(request: httpx2.Request) -> None:
    """huggingface_hub's every request: allowed only inside a `HubClient` call."""
    watch = _WATCH.get()
    if watch is None:
        raise NetworkDisabledError(
            f"Hearth refused a request to {request.url.host} that did not go through its "
            "network switch. Nothing was sent."
        )
    watch.policy.require(watch.purpose)
    host = (request.url.host or "").lower()
    if host and host not in watch.seen:
        watch.seen.add(host)
        watch.on_contact(host)


def _install_client() -> None:
    if _installed:
        return
    import httpx2
    from huggingface_hub import set_client_factory

    set_client_factory(
        lambda: httpx2.Client(event_hooks={"request": [_gate]}, follow_redirects=True, timeout=None)
    )
    _installed.append(True)


class HubClient:
    """See the module docstring. `policy` is asked at each call (the switch may change)."""

    def __init__(
        self,
        policy: Callable[[], NetworkPolicy],
        cache_dir: Path,
        *,
        endpoint: str | None = None,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 30.0,
    ) -> None:
        self._policy = policy
        self._endpoint = endpoint
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        if "huggingface_hub" not in __import__("sys").modules:
            prepare_environment(cache_dir)

    @property
    def endpoint(self) -> str:
        return self._endpoint or hub_endpoint()

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or self.endpoint

    @contextlib.contextmanager
    def watching(self, purpose: str, on_contact: Callable[[str], None]) -> Iterator[None]:
        """Requests made inside are allowed (if the switch is on) and their hosts reported."""
        policy = self._policy()
        policy.require(purpose)
        _install_client()
        token = _WATCH.set(_Watch(policy, purpose, on_contact, set()))
        try:
            yield
        finally:
            _WATCH.reset(token)

    def _timeout(self) -> Any:
        import httpx2

        return httpx2.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)

    def metadata(self, repo: str, file: str, revision: str = "main") -> RemoteFile:
        """HEAD of the file (inside `watching`): its size, sha256 and download address."""
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        url = hf_hub_url(repo, file, revision=revision, endpoint=self.endpoint)
        with _translated(file):
            meta = get_hf_file_metadata(
                url, token=False, timeout=self.connect_timeout_s, endpoint=self.endpoint
            )
        etag = (meta.etag or "").lower()
        return RemoteFile(
            meta.location or url, meta.size, etag if SHA256.match(etag) else None, meta.commit_hash
        )

    @contextlib.contextmanager
    def stream(self, url: str, start: int, file: str) -> Iterator[httpx2.Response]:
        """GET `url` from byte `start` (inside `watching`); raises on an error status."""
        from huggingface_hub.utils import build_hf_headers, get_session

        headers = build_hf_headers(token=False)
        headers["Accept-Encoding"] = "identity"
        if start > 0:
            headers["Range"] = f"bytes={start}-"
        with (
            _translated(file),
            get_session().stream("GET", url, headers=headers, timeout=self._timeout()) as response,
        ):
            _check_status(response.status_code, file)
            yield response

    def search(self, query: str, limit: int = 20) -> list[tuple[str, int]]:
        """GGUF repositories matching `query` (inside `watching`): (repo, downloads)."""
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.endpoint, token=False)
        with _translated("the search"):
            found = api.list_models(
                search=query, filter="gguf", sort="downloads", limit=limit, token=False
            )
            return [(m.id, int(m.downloads or 0)) for m in found]

    def gguf_files(self, repo: str) -> list[RepoFile]:
        """The repository's GGUF files with size and sha256 (inside `watching`)."""
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.endpoint, token=False)
        with _translated(repo):
            info = api.model_info(repo, files_metadata=True, token=False)
        files = []
        for sibling in info.siblings or []:
            if sibling.rfilename.lower().endswith(".gguf"):
                sha = sibling.lfs.sha256 if sibling.lfs is not None else None
                files.append(RepoFile(sibling.rfilename, sibling.size, sha))
        return files


def _check_status(status: int, what: str) -> None:
    if status < 400:
        return
    if status in _STATUS_RETRIED:
        raise TransientError(f"The server answered {status} for {what}.")
    if status in (401, 403):
        raise DownloadError(
            f"The server refused {what} ({status}): the repository may be private or ask you to "
            "accept its licence on its web page first. Nothing was downloaded."
        )
    if status == 404:
        raise DownloadError(f"{what} is not in that repository (404). Nothing was downloaded.")
    raise DownloadError(f"The server answered {status} for {what}. Nothing was downloaded.")


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """huggingface_hub's and httpx's errors as Hearth's sentences."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else 0
        _check_status(status or 500, what)
        raise
    except httpx2.TimeoutException as error:
        raise TransientError(f"The server did not answer in time for {what}.") from error
    except (httpx2.NetworkError, httpx2.RemoteProtocolError) as error:
        raise TransientError(f"The connection failed while getting {what} ({error}).") from error
    except httpx2.HTTPError as error:
        raise DownloadError(f"Getting {what} failed ({error}). Nothing was downloaded.") from error
