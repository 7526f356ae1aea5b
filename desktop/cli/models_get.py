"""`hearth models catalog [--json]` and `hearth models get ID | REPO FILE`.

`catalog` lists the shipped catalogue with each model's size, licence and memory estimate,
marked fits / tight / too big against the memory free now. `get` downloads a catalogue
model (or any GGUF file of a repository) through the same checks as the window: the network
switch, a one-time consent naming the host, the disk space, resume, sha256, then the usual
inspect-and-probe import. Each host contacted is written to the contact log in the
encrypted store. A progress line is redrawn on a terminal; Ctrl+C pauses (the partial file
is kept, and the same command continues it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from desktop.core.catalogue import CatalogueEntry, fit_of, load_catalogue
from desktop.core.downloads import (
    DownloadError,
    DownloadRequest,
    Rate,
    consent_text,
    progress_text,
)
from desktop.core.memory import format_bytes
from desktop.inference.downloader import Downloader, DownloadStopped
from desktop.inference.hub import HubClient
from desktop.inference.sysmem import available_memory
from desktop.paths import AppPaths
from desktop.storage.download_queue import DownloadQueueFile
from desktop.storage.preferences import Preferences


def cmd_catalog(out: TextIO, paths: AppPaths, as_json: bool) -> int:
    entries = load_catalogue()
    free = available_memory()
    rows = [catalogue_row(e, free) for e in entries]
    if as_json:
        json.dump({"available_bytes": free, "models": rows}, out, indent=2)
        out.write("\n")
        return 0
    free_text = f"{format_bytes(free)} of memory free now" if free else "free memory unknown"
    print(f"Models Hearth can download ({free_text}):", file=out)
    for row in rows:
        approx = "" if row["size_exact"] else "~"
        print(
            f"  {row['id']:<16} {row['name']} ({row['quantization']}), {approx}"
            f"{format_bytes(row['size_bytes'])}, needs ~{format_bytes(row['memory_bytes'])}: "
            f"{row['fit']}",
            file=out,
        )
        print(f"  {'':<16} {row['good_at']} Licence: {row['licence']}.", file=out)
    if not Preferences.load(paths.config_dir).network_allowed:
        print(
            "The network is off (Privacy in the window): `hearth models get ID` needs it on. "
            "Or download the file yourself from the repository's page and run "
            "`hearth models import FILE`.",
            file=out,
        )
    return 0


def catalogue_row(entry: CatalogueEntry, free: int | None) -> dict[str, Any]:
    estimate = entry.estimate(free)
    return {
        "id": entry.id,
        "name": entry.name,
        "repo": entry.repo,
        "file": entry.file,
        "url": entry.file_url,
        "quantization": entry.quantization,
        "parameters": entry.parameters,
        "size_bytes": entry.size_bytes,
        "size_exact": entry.size_exact,
        "sha256": entry.sha256 or "from the repository's metadata",
        "licence": entry.licence,
        "context_length": entry.context_length,
        "good_at": entry.good_at,
        "memory_bytes": estimate.total_bytes,
        "memory_n_ctx": estimate.n_ctx,
        "fit": fit_of(estimate),
    }


def request_for(ref: str, file: str | None) -> DownloadRequest:
    """A catalogue id, or a repository and one of its files."""
    if file is None:
        entries = load_catalogue()
        entry = next((e for e in entries if e.id == ref), None)
        if entry is None:
            raise DownloadError(
                f'"{ref}" is not in the catalogue (`hearth models catalog` lists it); to '
                "download another file, give its repository and file name."
            )
        return DownloadRequest(
            entry.repo, entry.file, entry.sha256, entry.size_bytes, title=entry.name
        )
    if ref.count("/") != 1 or not file.lower().endswith(".gguf"):
        raise DownloadError("Give a repository as OWNER/NAME and a .gguf file in it.")
    return DownloadRequest(ref, file)


def cmd_get(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    from desktop.cli.models import open_library
    from desktop.cli.store import open_store
    from desktop.storage.contacts import ContactLog

    request = request_for(args.ref, args.file)
    policy = Preferences.load(paths.config_dir).network
    policy.require(f"Downloading {request.file}")
    hub = HubClient(lambda: Preferences.load(paths.config_dir).network, paths.cache_dir)
    queue = DownloadQueueFile(paths.downloads_dir)
    if not queue.has_consent(hub.host) and not _ask_consent(hub.host, args.yes, out):
        print("Nothing was downloaded.", file=out)
        return 1
    queue.consent(hub.host)
    downloader = Downloader(paths.downloads_dir, hub)
    library = open_library(paths)
    with open_store(paths, advice="Download it from the Models page instead.") as store:
        contacts = ContactLog(store.db)
        bar = _ProgressLine(out)
        queue.put(request)
        try:
            path = downloader.download(
                request,
                bar.update,
                on_contact=lambda host: contacts.record(host, "download", request.file),
            )
        except KeyboardInterrupt:
            bar.end()
            print(
                f"Paused; the part downloaded is kept. Run `hearth models get {args.ref}"
                f"{' ' + args.file if args.file else ''}` again to continue.",
                file=out,
            )
            return 130
        except DownloadStopped:  # pragma: no cover - the command line only pauses by Ctrl+C
            return 130
        except DownloadError:
            bar.end()
            raise
        bar.end()
    queue.remove(request.key)
    print(f"Downloaded and verified {request.file} (sha256). Checking it…", file=out, flush=True)
    try:
        entry = library.import_model(path, move=True)
    finally:
        path.unlink(missing_ok=True)
    print(f'Imported "{entry.name}" into {library.models_dir}.', file=out)
    return 0


def _ask_consent(host: str, assume_yes: bool, out: TextIO) -> bool:
    print(consent_text(host), file=out)
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print("Add --yes to agree without a terminal.", file=out)
        return False
    answer = input("Download? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


class _ProgressLine:
    """One line redrawn in place on a terminal; a line every 10 % otherwise."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out
        self._tty = out.isatty()
        self._rate = Rate()
        self._clock = clock
        self._last = 0.0
        self._tenth = -1

    def update(self, done: int, total: int | None) -> None:
        self._rate.add(done)
        text = progress_text(done, total, self._rate.per_second())
        if self._tty:
            now = self._clock()
            if now - self._last >= 0.2 or (total and done >= total):
                self._last = now
                filled = done * 20 // total if total else 0
                self._out.write(f"\r[{'#' * filled}{'-' * (20 - filled)}] {text:<60}")
                self._out.flush()
            return
        tenth = done * 10 // total if total else 0
        if tenth != self._tenth:
            self._tenth = tenth
            print(text, file=self._out, flush=True)

    def end(self) -> None:
        if self._tty:
            self._out.write("\n")
            self._out.flush()
