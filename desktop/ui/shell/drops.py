"""Files dropped on the window, routed by what they are: models go to the Models page,
documents and folders to the Documents page; anything else gets a clear sentence."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData

from desktop.documents.formats import SUPPORTED, format_of
from desktop.inference.model_files import is_model_file


def dropped_files(mime: QMimeData) -> list[Path]:
    """The local files in a drag."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def route_dropped(paths: list[Path]) -> tuple[list[Path], list[Path], str | None]:
    """(the model files, the documents and folders, a sentence about the others or None)."""
    models = [path for path in paths if path.is_file() and is_model_file(path)]
    documents = [
        path
        for path in paths
        if path not in models and (path.is_dir() or format_of(path) is not None)
    ]
    others = [path for path in paths if path not in models and path not in documents]
    if not others:
        return models, documents, None
    names = ", ".join(f"“{path.name}”" for path in others[:3])
    if len(others) > 3:
        names += f" and {len(others) - 3} more"
    verb = "was" if len(others) == 1 else "were"
    return (
        models,
        documents,
        (
            f"{names} {verb} not added: Hearth reads models (.gguf, .bin) and documents "
            f"({SUPPORTED})."
        ),
    )
