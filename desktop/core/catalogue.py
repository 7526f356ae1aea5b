"""The catalogue of small instruct models Hearth offers to download, and how well each fits.

The catalogue is a JSON file shipped in `resources/catalogue.json` (reviewed with each
release, so it works offline). Each entry names a Hugging Face repository and one GGUF file,
its approximate size, its sha256 (or `"repository"`: the hash is read from the repository's
file metadata when the download starts), licence, trained context, attention shape (for the
memory estimate) and what it is good at. `load_catalogue` checks every field and refuses a
damaged file with one sentence. `fit_of` marks an entry "fits", "tight" or "too big" against
the memory free now. Plain Python.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import HearthError
from desktop.core.memory import MemoryEstimate, ModelShape, estimate_memory
from desktop.core.settings import DEFAULT_CONTEXT

CATALOGUE_ENV = "HEARTH_CATALOGUE"
FILE_NAME = "catalogue.json"
#: The catalogue's `sha256` when the hash is read from the repository's file metadata.
FROM_REPOSITORY = "repository"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: A model "fits" when it needs at most this share of the free memory; "tight" up to all of it.
COMFORTABLE_SHARE = 0.7
FITS, TIGHT, TOO_BIG, UNKNOWN = "fits", "tight", "too big", "unknown"


class CatalogueError(HearthError):
    """The catalogue file is missing or damaged."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable model file."""

    id: str
    name: str
    repo: str
    file: str
    quantization: str
    parameters: int
    size_bytes: int
    size_exact: bool
    sha256: str | None  # None: read from the repository's metadata at download time
    licence: str
    context_length: int
    shape: ModelShape
    good_at: str

    @property
    def page_url(self) -> str:
        return f"https://huggingface.co/{self.repo}"

    @property
    def file_url(self) -> str:
        return f"https://huggingface.co/{self.repo}/resolve/main/{self.file}"

    def estimate(self, available: int | None, n_ctx: int = DEFAULT_CONTEXT) -> MemoryEstimate:
        """The memory this model needs at `n_ctx` (at most its trained context)."""
        return estimate_memory(
            self.size_bytes, self.shape, min(n_ctx, self.context_length), available
        )


def fit_of(estimate: MemoryEstimate) -> str:
    """ "fits", "tight", "too big", or "unknown" when the free memory cannot be told."""
    if estimate.available_bytes is None:
        return UNKNOWN
    if estimate.total_bytes <= estimate.available_bytes * COMFORTABLE_SHARE:
        return FITS
    return TIGHT if estimate.total_bytes <= estimate.available_bytes else TOO_BIG


def default_catalogue_path() -> Path:
    """`HEARTH_CATALOGUE`, else the bundle's (frozen) or the source tree's catalogue."""
    chosen = os.environ.get(CATALOGUE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    bundle = getattr(sys, "_MEIPASS", None)
    base = Path(bundle) if bundle else Path(__file__).resolve().parents[2]
    return base / "resources" / FILE_NAME


def load_catalogue(path: Path | None = None) -> list[CatalogueEntry]:
    """Every entry of the catalogue at `path`; `CatalogueError` when it cannot be used."""
    path = path or default_catalogue_path()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CatalogueError(f"The model catalogue {path} cannot be read ({error}).") from error
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise CatalogueError(f"The model catalogue {path} has no list of models.")
    entries = [_entry(item, index) for index, item in enumerate(models)]
    ids = [e.id for e in entries]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise CatalogueError(f'The model catalogue names "{duplicate}" twice.')
    return entries


def _entry(item: Any, index: int) -> CatalogueEntry:
    where = f"entry {index + 1} of the model catalogue"
    if not isinstance(item, dict):
        raise CatalogueError(f"The {where} is not an object.")

    def text(key: str) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CatalogueError(f'The {where} has no "{key}".')
        return value.strip()

    def count(key: str, source: dict[str, Any] = item) -> int:
        value = source.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise CatalogueError(f'The {where} needs a positive whole number for "{key}".')
        return value

    repo, file = text("repo"), text("file")
    if not REPO.match(repo):
        raise CatalogueError(f'The {where} names no Hugging Face repository ("{repo}").')
    if not file.lower().endswith(".gguf") or "/" in file or file.startswith("."):
        raise CatalogueError(f'The {where} must name a .gguf file, not "{file}".')
    sha = text("sha256").lower()
    if sha != FROM_REPOSITORY and not SHA256.match(sha):
        raise CatalogueError(
            f'The {where} has a sha256 that is neither 64 hex digits nor "{FROM_REPOSITORY}".'
        )
    shape = item.get("shape")
    if not isinstance(shape, dict):
        raise CatalogueError(f'The {where} has no "shape".')
    exact = item.get("size_exact")
    if not isinstance(exact, bool):
        raise CatalogueError(f'The {where} must say whether its size is exact ("size_exact").')
    return CatalogueEntry(
        id=text("id"),
        name=text("name"),
        repo=repo,
        file=file,
        quantization=text("quantization"),
        parameters=count("parameters"),
        size_bytes=count("size_bytes"),
        size_exact=exact,
        sha256=None if sha == FROM_REPOSITORY else sha,
        licence=text("licence"),
        context_length=count("context_length"),
        shape=ModelShape(
            count("n_layer", shape), count("n_head_kv", shape), count("head_dim", shape)
        ),
        good_at=text("good_at"),
    )
