"""Remembering facts about files between runs, each bound to the file as it was.

A `FileStamp` is what the operating system says about a file's identity: size, modification
and change times (nanoseconds), inode and device. Every write to a file, every rename over
it and every chmod moves its change time (`st_ctime_ns`), which programs cannot set back
(`utime` sets only the access and modification times). `StampedRecords` keeps small JSON
records keyed by a file's path, each with the stamp the file had when the record was made;
`get` returns a record only while the file still has exactly that stamp. The records file
is only ever a shortcut: a missing, unreadable, corrupt or foreign file, or any record not
of the expected shape, counts as "not known" and the caller does the work again. Writes are
atomic and best-effort (a read-only or full disk only costs the shortcut).

On Windows `st_ctime` is the creation time, so there the stamp is size, modification time
and file index; callers that must be exact check what they rely on as well (the model
inspections rehash the header bytes they were made from).

Plain Python; one thread at a time per object.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from desktop.core.files import atomic_write_text

log = logging.getLogger(__name__)

#: Records kept per file at most (the most recently written survive).
MAX_RECORDS = 256
#: A records file larger than this is not read (it cannot be one Hearth wrote).
MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class FileStamp:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        """The stamp of `path` (following links); raises `OSError`."""
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    def to_list(self) -> list[int]:
        return list(astuple(self))


class StampedRecords:
    """A JSON file of records, each valid for one file while its `FileStamp` is unchanged.

    `version` names what the records mean (the code that made them): records written under
    another version are ignored, never reinterpreted.
    """

    def __init__(self, path: Path | None, version: str) -> None:
        self.path = path
        self.version = version
        self._records: dict[str, Any] | None = None

    def get(self, key: str, stamp: FileStamp) -> dict[str, Any] | None:
        entry = self._load().get(key)
        if not isinstance(entry, dict) or entry.get("stamp") != stamp.to_list():
            return None
        record = entry.get("record")
        return record if isinstance(record, dict) else None

    def put(self, key: str, stamp: FileStamp, record: dict[str, Any]) -> None:
        """Keep `record` for the file `key` as stamped; a failed write is only logged."""
        records = self._load()
        records.pop(key, None)
        records[key] = {"stamp": stamp.to_list(), "record": record}
        while len(records) > MAX_RECORDS:
            records.pop(next(iter(records)))
        if self.path is None:
            return
        text = json.dumps({"version": self.version, "records": records}, ensure_ascii=False)
        try:
            atomic_write_text(self.path, text)
        except OSError as error:
            log.warning("could not keep %s (%s); worked out again next time", self.path, error)

    def _load(self) -> dict[str, Any]:
        if self._records is None:
            self._records = self._read()
        return self._records

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                raise ValueError("too large")
            data = json.loads(raw.decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:
            log.warning("ignoring %s (%s)", self.path, error)
            return {}
        if not isinstance(data, dict) or data.get("version") != self.version:
            return {}
        records = data.get("records")
        return dict(records) if isinstance(records, dict) else {}
