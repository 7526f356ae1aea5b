"""The user's LoRA adapters, kept inside the encrypted store.

An adapter holds what a model learned from the user's own examples, so it is as private as
the conversations: its bytes live in the same encrypted database (a few MB each), never as a
plain file under Hearth's folders. To load one, llama.cpp needs a file: `materialized()`
writes it to a private temporary file (mode 0600, in a folder only the user can open, in
memory where the system has /dev/shm) and removes it as soon as the caller is done (after
the model has loaded: llama.cpp has read it then).

Each adapter has a unique name, the model library key of its base model, the scale it is
applied with (1.0 by default) and where it came from. Plain Python over `Database`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from desktop.core.errors import HearthError
from desktop.core.files import private_temp_folder
from desktop.storage.db import Database

MAX_NAME = 80
MIN_SCALE, MAX_SCALE = 0.0, 4.0


class AdapterError(HearthError):
    """An adapter that does not exist, a name already taken, a scale out of range."""


@dataclass(frozen=True)
class StoredAdapter:
    name: str
    base: str  # the model library key (or file path) of the model it adapts
    scale: float
    rank: int
    size: int
    origin: str  # "imported from x.gguf", "taught from 50 examples"
    created_at: datetime


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise AdapterError("An adapter needs a name.")
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise AdapterError(f"An adapter's name is one line of at most {MAX_NAME} characters.")
    return name


def check_scale(scale: float) -> float:
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise AdapterError(
            f"An adapter's scale is between {MIN_SCALE:g} (off) and {MAX_SCALE:g} "
            f"(1 is as trained); {scale:g} is not."
        )
    return float(scale)


class AdapterStore:
    """See the module docstring."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, name: str, base: str, data: bytes, rank: int, origin: str, scale: float = 1.0
    ) -> StoredAdapter:
        name, scale = self.check_free(name), check_scale(scale)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(
            "INSERT INTO adapters (name, base, scale, rank, origin, created_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, base, scale, rank, origin, stamp, data),
        )
        return self.get(name)

    def check_free(self, name: str) -> str:
        """`name`, checked and not taken yet; else `AdapterError` saying why."""
        name = check_name(name)
        if self.find(name) is not None:
            raise AdapterError(f"There is already an adapter named “{name}”; choose another name.")
        return name

    def adapters(self, base: str | None = None) -> list[StoredAdapter]:
        """All adapters (or those of `base`), by name."""
        sql = "SELECT name, base, scale, rank, length(data), origin, created_at FROM adapters"
        rows = self.db.query_all(
            sql + (" WHERE base = ?" if base is not None else "") + " ORDER BY name COLLATE NOCASE",
            (base,) if base is not None else (),
        )
        return [_adapter(row) for row in rows]

    def find(self, name: str) -> StoredAdapter | None:
        row = self.db.query_one(
            "SELECT name, base, scale, rank, length(data), origin, created_at FROM adapters "
            "WHERE name = ?",
            (name.strip(),),
        )
        return None if row is None else _adapter(row)

    def get(self, name: str) -> StoredAdapter:
        found = self.find(name)
        if found is None:
            known = ", ".join(a.name for a in self.adapters()) or "none yet"
            raise AdapterError(f"There is no adapter named “{name}” (adapters: {known}).")
        return found

    def set_scale(self, name: str, scale: float) -> StoredAdapter:
        self.get(name)
        self.db.execute(
            "UPDATE adapters SET scale = ? WHERE name = ?", (check_scale(scale), name.strip())
        )
        return self.get(name)

    def remove(self, name: str) -> None:
        self.get(name)
        self.db.execute("DELETE FROM adapters WHERE name = ?", (name.strip(),))

    @contextmanager
    def materialized(self, name: str) -> Iterator[Path]:
        """The adapter's GGUF file, private and temporary: removed when the block ends."""
        row = self.db.query_one("SELECT data FROM adapters WHERE name = ?", (name.strip(),))
        if row is None:
            self.get(name)  # raises with the names that exist
        assert row is not None
        folder = private_temp_folder("adapter")
        path = folder / "adapter.gguf"
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "wb") as file:
                file.write(bytes(row[0]))
            yield path
        finally:
            path.unlink(missing_ok=True)
            folder.rmdir()


def _adapter(row: tuple[object, ...]) -> StoredAdapter:
    name, base, scale, rank, size, origin, created = row
    return StoredAdapter(
        str(name),
        str(base),
        float(scale),  # type: ignore[arg-type]
        int(rank),  # type: ignore[call-overload]
        int(size),  # type: ignore[call-overload]
        str(origin),
        datetime.fromisoformat(str(created)),
    )
