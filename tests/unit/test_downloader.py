"""Downloading a model file from a Hub stand-in on loopback: the real huggingface_hub and
HTTP stack, a tiny generated GGUF, and the faults a real network has."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core.downloads import DownloadError, DownloadRequest
from desktop.core.network import NetworkDisabledError, NetworkPolicy
from desktop.inference.downloader import CANCEL, PAUSE, Downloader, DownloadStopped
from desktop.inference.hub import HubClient
from tests.hub_server import HubServer
from tests.tinymodels import write_tiny_llama_gguf

REPO, FILE = "tester/Tiny-GGUF", "tiny-q8_0.gguf"

# Every socket.connect of this process while armed (an audit hook cannot be removed, so it
# is installed once and armed per test).
_CONNECTS: list[Any] = []
_ARMED: list[bool] = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _ARMED[0]:
        _CONNECTS.append(args[1])


sys.addaudithook(_audit)


@pytest.fixture
def connects() -> Iterator[list[Any]]:
    _CONNECTS.clear()
    _ARMED[0] = True
    yield _CONNECTS
    _ARMED[0] = False


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = write_tiny_llama_gguf(tmp_path_factory.mktemp("tiny") / FILE)
    return path.read_bytes()


@pytest.fixture
def hub(model_bytes: bytes) -> Iterator[HubServer]:
    server = HubServer().start()
    server.add(REPO, FILE, model_bytes)
    yield server
    server.stop()


def make(
    tmp_path: Path, hub: HubServer, allowed: bool = True, **options: Any
) -> tuple[Downloader, list[str]]:
    client = HubClient(
        lambda: NetworkPolicy(allowed),
        tmp_path / "cache",
        endpoint=hub.endpoint,
        connect_timeout_s=2,
        read_timeout_s=options.pop("read_timeout_s", 2),
    )
    options.setdefault("backoff_s", 0.01)
    options.setdefault("chunk", 64 * 1024)
    options.setdefault("free_space", lambda folder: 10**12)
    return Downloader(tmp_path / "downloads", client, **options), []


def test_a_download_is_verified_and_contacts_only_the_endpoint(
    tmp_path: Path, hub: HubServer, model_bytes: bytes, connects: list[Any]
) -> None:
    downloader, _ = make(tmp_path, hub)
    seen: list[tuple[int, int | None]] = []
    hosts: list[str] = []
    path = downloader.download(
        DownloadRequest(REPO, FILE), lambda d, t: seen.append((d, t)), on_contact=hosts.append
    )
    assert path == tmp_path / "downloads" / FILE
    assert path.read_bytes() == model_bytes
    assert seen[-1] == (len(model_bytes), len(model_bytes)) and len(seen) > 3
    assert hosts == ["127.0.0.1"]  # reported once, for the contact log
    port = int(hub.endpoint.rsplit(":", 1)[1])
    assert connects and {tuple(a) for a in connects} == {("127.0.0.1", port)}
    assert not list((tmp_path / "downloads").glob("*.partial*"))


def test_a_dropped_connection_is_resumed_with_a_range(
    tmp_path: Path, hub: HubServer, model_bytes: bytes
) -> None:
    hub.faults.drop_after = 200_000
    downloader, _ = make(tmp_path, hub)
    path = downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(model_bytes).hexdigest()
    ranges = [r for _, _, r in hub.gets()]
    assert ranges[0] is None and len(ranges) == 2
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 200_000  # what had been written whole when the line dropped


def test_a_server_ignoring_the_range_restarts_from_the_start(
    tmp_path: Path, hub: HubServer, model_bytes: bytes
) -> None:
    hub.faults.drop_after = 100_000
    hub.faults.ignore_range = True
    downloader, _ = make(tmp_path, hub)
    path = downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert path.read_bytes() == model_bytes


def test_a_wrong_sha256_is_refused_and_removed(tmp_path: Path, hub: HubServer) -> None:
    hub.faults.etag = "0" * 64
    downloader, _ = make(tmp_path, hub)
    with pytest.raises(DownloadError, match="is not the published file; it was deleted"):
        downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert list((tmp_path / "downloads").iterdir()) == []


def test_a_catalogue_hash_that_differs_from_the_repository_fetches_nothing(
    tmp_path: Path, hub: HubServer
) -> None:
    downloader, _ = make(tmp_path, hub)
    with pytest.raises(DownloadError, match="no longer the file the catalogue names"):
        downloader.download(DownloadRequest(REPO, FILE, sha256="1" * 64), lambda d, t: None)
    assert hub.gets() == []


def test_server_errors_are_retried_then_explained(tmp_path: Path, hub: HubServer) -> None:
    hub.faults.fail_status, hub.faults.fail_count = 500, 99
    downloader, _ = make(tmp_path, hub, attempts=3)
    with pytest.raises(DownloadError) as caught:
        downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert str(caught.value).startswith("The server answered 500 for tiny-q8_0.gguf. Tried 3 times")
    assert len(hub.gets()) == 3


def test_a_passing_server_error_is_retried_and_the_download_completes(
    tmp_path: Path, hub: HubServer, model_bytes: bytes
) -> None:
    hub.faults.fail_status, hub.faults.fail_count = 503, 2
    downloader, _ = make(tmp_path, hub, attempts=4)
    assert (
        downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None).read_bytes()
        == model_bytes
    )


def test_a_server_that_does_not_answer_times_out_then_explains(
    tmp_path: Path, hub: HubServer
) -> None:
    hub.faults.stall_s, hub.faults.stall_count = 1.5, 99
    downloader, _ = make(tmp_path, hub, attempts=2, read_timeout_s=0.3)
    with pytest.raises(
        DownloadError, match=r"did not answer in time for tiny-q8_0\.gguf\. Tried 2"
    ):
        downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)


def test_too_little_disk_space_is_found_before_any_byte_is_fetched(
    tmp_path: Path, hub: HubServer
) -> None:
    """The free space comes from an injected probe (a real small tmpfs needs root)."""
    downloader, _ = make(tmp_path, hub, free_space=lambda folder: 1_000_000)
    with pytest.raises(DownloadError, match=r"not enough disk space to download tiny-q8_0\.gguf"):
        downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert hub.gets() == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 300 KB tmpfs (root only: skipped elsewhere)."""
    import subprocess

    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_real_small_disk_is_refused_before_and_a_filled_one_during_the_download(
    tmp_path: Path, hub: HubServer, small_disk: Path
) -> None:
    client = HubClient(lambda: NetworkPolicy(True), tmp_path, endpoint=hub.endpoint)
    checked = Downloader(small_disk, client, margin=0)  # the real free-space probe
    with pytest.raises(DownloadError, match="KB free"):
        checked.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert hub.gets() == []
    lying = Downloader(small_disk, client, margin=0, free_space=lambda folder: 10**12)
    with pytest.raises(DownloadError) as caught:
        lying.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert str(caught.value) == (
        "The disk filled up while downloading tiny-q8_0.gguf; the partial file was deleted. "
        "Free some space and try again."
    )
    assert list(small_disk.iterdir()) == []


def test_with_the_switch_off_nothing_is_contacted(
    tmp_path: Path, hub: HubServer, connects: list[Any]
) -> None:
    downloader, _ = make(tmp_path, hub, allowed=False)
    with pytest.raises(NetworkDisabledError) as caught:
        downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)
    assert str(caught.value) == (
        "Downloading tiny-q8_0.gguf needs the network, which is turned off in Privacy. "
        "Nothing was sent."
    )
    assert connects == [] and hub.requests == []


def test_a_request_outside_hearths_switch_is_refused(hub: HubServer, tmp_path: Path) -> None:
    downloader, _ = make(tmp_path, hub)
    downloader.download(DownloadRequest(REPO, FILE), lambda d, t: None)  # installs the gate
    from huggingface_hub.utils import get_session

    count = len(hub.requests)
    with pytest.raises(NetworkDisabledError, match="did not go through its network switch"):
        get_session().get(f"{hub.endpoint}/api/models")
    assert len(hub.requests) == count


def test_cancel_midway_deletes_the_partial_file(tmp_path: Path, hub: HubServer) -> None:
    downloader, _ = make(tmp_path, hub)
    done: list[int] = []
    with pytest.raises(DownloadStopped):
        downloader.download(
            DownloadRequest(REPO, FILE),
            lambda d, t: done.append(d),
            stopping=lambda: CANCEL if done and done[-1] > 100_000 else None,
        )
    assert list((tmp_path / "downloads").iterdir()) == []


def test_pause_keeps_the_partial_file_and_a_later_run_resumes_it(
    tmp_path: Path, hub: HubServer, model_bytes: bytes
) -> None:
    downloader, _ = make(tmp_path, hub)
    done: list[int] = []
    request = DownloadRequest(REPO, FILE)
    with pytest.raises(DownloadStopped):
        downloader.download(
            request, lambda d, t: done.append(d), stopping=lambda: PAUSE if done[-1] else None
        )
    kept = downloader.partial_path(request).stat().st_size
    assert 0 < kept < len(model_bytes)
    again, _ = make(tmp_path, hub)  # as after a restart
    assert again.download(request, lambda d, t: None).read_bytes() == model_bytes
    assert hub.gets()[-1][2] == f"bytes={kept}-"


def test_search_and_repository_files(tmp_path: Path, hub: HubServer, model_bytes: bytes) -> None:
    client = HubClient(lambda: NetworkPolicy(True), tmp_path, endpoint=hub.endpoint)
    hosts: list[str] = []
    with client.watching("Searching Hugging Face", hosts.append):
        assert client.search("tiny") == [(REPO, 10)]
        files = client.gguf_files(REPO)
    assert [(f.name, f.size) for f in files] == [(FILE, len(model_bytes))]
    assert files[0].sha256 == hashlib.sha256(model_bytes).hexdigest()
    assert hosts == ["127.0.0.1"]


@pytest.mark.slow
def test_importing_and_preparing_the_hub_contacts_nothing(tmp_path: Path) -> None:
    """In a fresh interpreter: the audit hook first, then everything a download imports."""
    import subprocess

    script = f"""
import sys
seen = []
sys.addaudithook(lambda event, args: seen.append(args[1]) if event == "socket.connect" else None)
from pathlib import Path
from desktop.core.network import NetworkPolicy
from desktop.inference.downloader import Downloader
from desktop.inference.hub import HubClient
client = HubClient(lambda: NetworkPolicy(True), Path({str(tmp_path)!r}))
import huggingface_hub, httpx2
from huggingface_hub import HfApi, get_hf_file_metadata
import os
print(seen, os.environ["HF_HUB_CACHE"], os.environ["HF_HUB_DISABLE_TELEMETRY"])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["[]", str(tmp_path / "huggingface" / "hub"), "1"]
