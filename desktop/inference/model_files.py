"""Telling a model file from any other file without loading it (for files dropped on the
window): by its name, or by the first four bytes of a GGUF or legacy GGML file."""

from __future__ import annotations

import struct
from pathlib import Path

from desktop.inference.ggml_legacy import GGCC_MAGIC, MAGICS
from desktop.inference.gguf_header import GGUF_MAGIC

#: Names that say "model": such a file goes to the importer, which explains a bad one.
MODEL_SUFFIXES = frozenset({".gguf", ".ggml", ".bin"})


def is_model_file(path: Path) -> bool:
    """Whether `path` looks like a model (a folder or an unreadable file does not)."""
    if path.suffix.lower() in MODEL_SUFFIXES:
        return True
    try:
        with path.open("rb") as file:
            head = file.read(4)
    except OSError:
        return False
    if len(head) < 4:
        return False
    return head == GGUF_MAGIC or struct.unpack("<I", head)[0] in {*MAGICS, GGCC_MAGIC}
