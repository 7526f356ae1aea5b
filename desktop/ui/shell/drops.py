"""Files dropped on the window, routed by what they are: models go to the Models page;
anything else gets a clear sentence (documents are added with `hearth docs add`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData

from desktop.inference.model_files import is_model_file


def dropped_files(mime: QMimeData) -> list[Path]:
    """The local files in a drag."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def route_dropped(paths: list[Path]) -> tuple[list[Path], str | None]:
    """(the model files, a sentence about the others or None)."""
    models = [path for path in paths if path.is_file() and is_model_file(path)]
    others = [path for path in paths if path not in models]
    if not others:
        return models, None
    names = ", ".join(f"“{path.name}”" for path in others[:3])
    if len(others) > 3:
        names += f" and {len(others) - 3} more"
    verb = "was" if len(others) == 1 else "were"
    return models, (
        f"The window cannot add documents or folders yet, so {names} {verb} not added; "
        "add them with `hearth docs add PATH` in a terminal, or drop a model file (.gguf)."
    )
