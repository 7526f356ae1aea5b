"""One connection to Hearth's SQLCipher database, and the translation of its failures.

`open_database()` opens (or creates) the file, applies the key if one is given, proves the
file is readable before anything is written, then sets the connection up: WAL journal,
foreign keys, `synchronous=NORMAL` (a committed write survives a crash of the process; a
power cut may lose the last second), a busy timeout.

Failures caused by the environment become `HearthError`s with a message for the user:
a damaged file or a wrong key -> `DatabaseError`, a full disk -> `DatabaseFullError`, a file
locked by another program -> `DatabaseError`. Anything else is a bug and propagates as is.
The user's file is never deleted, reset or rewritten to "repair" it.

Thread: a `Database` belongs to the thread that opened it (sqlite's `check_same_thread`
is kept on, so a call from another thread raises instead of racing). All writes go through
that one thread.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlcipher3 import dbapi2 as sqlcipher

from desktop.core.errors import (
    DatabaseDamagedError,
    DatabaseError,
    DatabaseFullError,
    DatabaseTooNewError,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
#: Below this much free space, a failed write or open is reported as a full disk (SQLite
#: and the OS then often say only "disk I/O error" or "unable to open").
FULL_DISK_BYTES = 1 << 20
RAW_KEY_LENGTHS = (32, 48)  # SQLCipher raw key, or raw key + salt

# Primary SQLite result codes (the low byte of an extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_NOTADB = 26

Params = Sequence[Any] | dict[str, Any]


def translate_error(error: Exception, path: Path) -> DatabaseError | None:
    """The user-facing error for a known environmental failure, or None for a bug."""
    if not isinstance(error, sqlcipher.Error):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _SQLITE_FULL or (
        primary in (_SQLITE_IOERR, _SQLITE_CANTOPEN, _SQLITE_READONLY) and disk_nearly_full(path)
    ):
        return DatabaseFullError(
            f"The disk is full, so Hearth could not save to {path}. Free some space and try "
            "again; everything saved before is still there."
        )
    if primary == _SQLITE_CORRUPT:
        return DatabaseDamagedError(
            f"Part of the conversation database at {path} is damaged and cannot be read. "
            "Nothing was changed; `hearth export` saves everything that can still be read."
        )
    if primary == _SQLITE_NOTADB:
        return DatabaseError(
            f"Hearth cannot read its conversation database at {path}: the file is damaged or "
            "was encrypted with a different key. Nothing was changed; the file is left as it is."
        )
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return DatabaseError(
            f"The conversation database at {path} is locked by another program (is Hearth "
            "already running?). Nothing was changed; close the other program and try again."
        )
    if primary in (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN):
        return DatabaseError(
            f"Hearth cannot read or write its conversation database at {path} ({error}). "
            "Check that the disk is present and the file may be written."
        )
    return None


def disk_nearly_full(path: Path) -> bool:
    """True when the disk holding `path` has less than `FULL_DISK_BYTES` free."""
    folder = Path(path).parent
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False


class Database:
    """An open SQLCipher connection in autocommit mode with explicit transactions.

    Every statement goes through `execute()`, which turns known environmental failures into
    `DatabaseError`s. `transaction()` groups statements into one atomic write.
    """

    def __init__(
        self, connection: Any, path: Path, reconnect: Callable[[], Any] | None = None
    ) -> None:
        self._conn = connection
        self.path = path
        self._reconnect = reconnect

    def reconnect(self) -> None:
        """A fresh connection to the same file with the same key and settings.

        After SQLCipher finds a damaged page it refuses every later read on that
        connection; a new one reads the undamaged pages again (salvage uses this).
        """
        if self._reconnect is None:
            raise DatabaseError(f"The connection to {self.path} cannot be reopened.")
        self._conn.close()
        self._conn = self._reconnect()

    def another_connection(self) -> Database:
        """A second connection to the same file and key, for another thread (open it there)."""
        if self._reconnect is None:
            raise DatabaseError(f"The connection to {self.path} cannot be reopened.")
        with self._translated():
            other = Database(self._reconnect(), self.path, self._reconnect)
        other.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        other.execute("PRAGMA foreign_keys = ON")
        other.execute("PRAGMA synchronous = NORMAL")
        return other

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlcipher.Error as error:
            known = translate_error(error, self.path)
            if known is None:
                raise
            raise known from error

    def execute(self, sql: str, params: Params = ()) -> Any:
        """Run one statement with bound parameters; returns the cursor."""
        with self._translated():
            return self._conn.execute(sql, params)

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per row of parameters."""
        with self._translated():
            self._conn.executemany(sql, rows)

    def query_one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        with self._translated():
            row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def query_all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        with self._translated():
            rows: list[tuple[Any, ...]] = self._conn.execute(sql, params).fetchall()
        return rows

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.query_one(sql, params)
        return None if row is None else row[0]

    @property
    def in_transaction(self) -> bool:
        return bool(self._conn.in_transaction)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write (`BEGIN IMMEDIATE` ... `COMMIT`, rolled back on any exception).

        Nested use joins the outer transaction, so helpers can be composed into one write.
        """
        if self.in_transaction:
            yield
            return
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:  # a failed COMMIT may already have rolled back
                self._conn.rollback()
            raise

    def backup_to(self, target: Path) -> None:
        """A consistent copy (including committed WAL content), encrypted with the same key."""
        self.execute("VACUUM INTO ?", (str(target),))

    def close(self) -> None:
        self._conn.close()


def vec0_path() -> str:
    """sqlite-vec's loadable extension, found without importing its package (which imports
    numpy: 0.1 s that `hearth search` would pay); SQLite adds the platform's suffix."""
    spec = importlib.util.find_spec("sqlite_vec")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        raise DatabaseError("Hearth's sqlite-vec package is missing; reinstall Hearth.")
    return str(Path(folders[0]) / "vec0")


def load_vectors(connection: Any) -> None:
    """sqlite-vec's `vec0` tables (document vectors) on this connection."""
    connection.enable_load_extension(True)
    try:
        connection.load_extension(vec0_path())
    finally:
        connection.enable_load_extension(False)


def _apply_key(connection: Any, key: bytes) -> None:
    if len(key) not in RAW_KEY_LENGTHS:
        raise ValueError(f"a raw SQLCipher key has 32 or 48 bytes, not {len(key)}")
    connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")


def open_database(
    path: Path,
    key: bytes | None = None,
    *,
    max_user_version: int | None = None,
    immutable: bool = False,
) -> Database:
    """Open or create the database at `path` (`key=None`: no encryption).

    `immutable`: read the file as it is, creating nothing beside it (no WAL or shared-memory
    file, no lock), for reading on a full disk; content still in a WAL file is not seen.
    Raises `DatabaseError` for a damaged file or a wrong key and `DatabaseTooNewError` if
    `PRAGMA user_version` exceeds `max_user_version`; in both cases before anything is written.
    """
    path = Path(path)

    def connect() -> Any:
        if immutable:
            uri = f"file:{quote(str(path.resolve()))}?immutable=1"
            connection = sqlcipher.connect(uri, uri=True, isolation_level=None)
        else:
            connection = sqlcipher.connect(
                str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
        try:
            # SQLCipher's own log goes to stderr; Hearth reports its errors itself.
            connection.execute("PRAGMA cipher_log_level = NONE")
            if key is not None:
                _apply_key(connection, key)
            load_vectors(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    try:
        if not immutable:
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = connect()
    except OSError as error:
        raise DatabaseError(
            f"Hearth cannot create its database folder {path.parent}: {error}"
        ) from error
    except sqlcipher.Error as error:
        known = translate_error(error, path)
        if known is None:
            raise
        raise known from error
    db = Database(connection, path, connect)
    try:
        # Reading the schema proves the key and the file before anything is written.
        db.scalar("SELECT count(*) FROM sqlite_master")
        version = int(db.scalar("PRAGMA user_version"))
        if max_user_version is not None and version > max_user_version:
            raise DatabaseTooNewError(
                f"The conversation database at {path} was made by a newer Hearth (schema "
                f"version {version}; this Hearth knows up to {max_user_version}). Update Hearth "
                "to open it. Nothing was changed."
            )
        if immutable:
            db.execute("PRAGMA query_only = ON")
            return db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        mode = db.scalar("PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            log.warning("database journal mode is %s, not WAL", mode)
        db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        db.close()
        raise
    return db
