"""`ModelLibrary` shared between the window's thread and an import running on its own.

Real library and files; the trial load is replaced by a prober that waits, so the import
can be held in the middle while the other thread changes the library.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from desktop.inference.library import EMBEDDED_KEY, ModelEntry, ModelLibrary
from tests import tinymodels


class HeldProber:
    """Stands in for the child-process trial load: holds the import until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def check(self, path: Path, model_type: str | None = None) -> None:
        self.started.set()
        assert self.release.wait(10)


def _library(tmp_path: Path, prober: HeldProber) -> ModelLibrary:
    embedded = tinymodels.write_tiny_llama_gguf(tmp_path / "builtin.gguf")
    return ModelLibrary(
        tmp_path / "models",
        tmp_path / "models.json",
        embedded,
        prober=prober,  # type: ignore[arg-type]
        free_memory=lambda: 8 << 30,
    )


def test_changes_made_during_an_import_do_not_wait_for_it_and_both_are_kept(
    tmp_path: Path,
) -> None:
    prober = HeldProber()
    library = _library(tmp_path, prober)
    (tmp_path / "incoming").mkdir()
    incoming = tinymodels.write_tiny_llama_gguf(tmp_path / "incoming" / "new.gguf")
    results: list[ModelEntry | BaseException] = []

    def run_import() -> None:
        try:
            results.append(library.import_model(incoming))
        except BaseException as error:
            results.append(error)

    importer = threading.Thread(target=run_import)
    importer.start()
    assert prober.started.wait(10)
    start = time.monotonic()
    builtin = library.find(EMBEDDED_KEY)
    library.save_settings(builtin, replace(library.settings_for(builtin), temperature=0.4))
    assert [e.name for e in library.entries()] == ["builtin.gguf"]  # not listed half-copied
    assert time.monotonic() - start < 2.0  # the import's trial load did not hold us up
    prober.release.set()
    importer.join(10)
    [imported] = results
    assert isinstance(imported, ModelEntry) and imported.usable
    library.set_default("new")
    reread = _library(tmp_path, HeldProber())
    assert reread.default_entry() is not None
    assert reread.default_entry().name == "new.gguf"  # type: ignore[union-attr]
    assert reread.settings_for(reread.find(EMBEDDED_KEY)).temperature == 0.4


def test_two_threads_writing_choices_lose_nothing(tmp_path: Path) -> None:
    library = _library(tmp_path, HeldProber())
    errors: list[BaseException] = []

    def crashes() -> None:
        try:
            for n in range(300):
                library.record_load_crash(f"/models/crashing-{n}.gguf")
        except BaseException as error:
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that a race shows at once
    try:
        other = threading.Thread(target=crashes)
        other.start()
        builtin = library.find(EMBEDDED_KEY)
        for n in range(300):
            library.save_settings(builtin, replace(library.settings_for(builtin), top_k=n + 1))
        other.join(30)
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    reread = _library(tmp_path, HeldProber())
    assert reread.settings_for(reread.find(EMBEDDED_KEY)).top_k == 300
    assert reread.record_load_crash("/models/crashing-299.gguf") == 2
