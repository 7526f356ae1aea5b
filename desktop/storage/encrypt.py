"""Encrypting a plaintext database in place, and giving an encrypted one a new key.

Both work on a copy and swap it in with one atomic rename, so an interruption at any step
leaves a database the next start can open, and the step is simply run again:

`encrypt_plaintext()`: lock the plaintext file and fold its WAL in (`journal_mode=DELETE`,
which also fails if another program has it open), back it up (`VACUUM INTO`), `sqlcipher_export`
into `<db>.encrypting` (plus `user_version`, which the export does not copy), verify row counts of
every table, `PRAGMA quick_check` and the FTS5 indexes (integrity check and one search compared),
rename over the original, then `remove_plaintext_copies()` (the backup and any plaintext backups
older versions left in the backups folder).

`rekey_file()`: the same with `VACUUM INTO` a copy and `PRAGMA rekey` on the copy.

Freed disk blocks of the old plaintext file are not overwritten (SSDs make that impossible);
what this removes is every plaintext *file*. `on_step(name)` is called before each step
(tests interrupt there). Nothing here may run while Hearth has the database open.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

from sqlcipher3 import dbapi2 as sqlcipher

from desktop.core.errors import DatabaseError, EncryptionError
from desktop.storage.db import load_vectors, translate_error
from desktop.storage.keyfile import fsync_dir

log = logging.getLogger(__name__)

PLAINTEXT_HEADER = b"SQLite format 3\x00"
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
DbState = Literal["absent", "plaintext", "encrypted"]
StepHook = Callable[[str], None]


def _no_hook(step: str) -> None:
    pass


def encrypting_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".encrypting")


def plaintext_backup_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".plaintext-backup")


def rekeying_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".rekeying")


def with_side_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in SIDE_SUFFIXES)]


def is_plaintext(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(16) == PLAINTEXT_HEADER
    except OSError:
        return False


def database_state(path: Path) -> DbState:
    """Absent (no file, or an empty one), plaintext SQLite, or anything else (encrypted)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "absent"
    if size == 0 and not any(p.exists() and p.stat().st_size for p in with_side_files(path)[1:]):
        return "absent"
    return "plaintext" if is_plaintext(path) else "encrypted"


def remove_files(paths: list[Path]) -> list[Path]:
    removed = []
    for path in paths:
        with suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


@contextmanager
def _failures(action: str, path: Path) -> Iterator[None]:
    try:
        yield
    except (sqlcipher.Error, OSError, DatabaseError) as error:
        detail = translate_error(error, path) if isinstance(error, sqlcipher.Error) else error
        raise EncryptionError(
            f"Hearth could not {action} {path} ({detail or error}). Your conversations are "
            "unchanged; Hearth tries again at the next start."
        ) from error


def connect(path: Path, key: bytes | None) -> Any:
    """A raw connection, keyed, with the key proven by reading the schema."""
    connection = sqlcipher.connect(str(path), isolation_level=None, timeout=5.0)
    try:
        if key is not None:
            connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        load_vectors(connection)  # a vec0 table is counted and copied like any other
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        connection.close()
        raise
    return connection


def opens_with(path: Path, key: bytes | None) -> bool:
    """Whether the existing database at `path` can be read with `key` (nothing is written)."""
    if not path.is_file():
        return False
    try:
        connect(path, key).close()
    except sqlcipher.DatabaseError:
        return False
    return True


def _lock_and_fold_wal(connection: Any) -> None:
    connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    mode = connection.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    if str(mode).lower() != "delete":
        raise sqlcipher.OperationalError(f"journal mode stayed {mode}")


def table_counts(connection: Any) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    return {n: connection.execute(f"SELECT count(*) FROM {quoted[n]}").fetchone()[0] for n in names}


def _fts_tables(connection: Any) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"
    )
    return [row[0] for row in rows]


def _sample_search(connection: Any, table: str) -> tuple[str, int] | None:
    """The most common term of an FTS5 table and how many rows a search for it finds."""
    connection.execute("DROP TABLE IF EXISTS temp.hearth_vocab")
    connection.execute(
        f"CREATE VIRTUAL TABLE temp.hearth_vocab USING fts5vocab(main, '{table}', 'row')"
    )
    try:
        row = connection.execute(
            "SELECT term FROM temp.hearth_vocab ORDER BY doc DESC, term LIMIT 1"
        ).fetchone()
    finally:
        connection.execute("DROP TABLE temp.hearth_vocab")
    if row is None:
        return None
    phrase = '"' + str(row[0]).replace('"', '""') + '"'
    found = connection.execute(f'SELECT count(*) FROM "{table}" WHERE "{table}" MATCH ?', (phrase,))
    return phrase, int(found.fetchone()[0])


def verify_copy(source: Any, copy: Any) -> None:
    """Raise unless `copy` holds what `source` holds (tables, user_version, FTS5 search)."""
    problems = []
    if (want := table_counts(source)) != (got := table_counts(copy)):
        problems.append(f"row counts differ: {want} != {got}")
    for pragma in ("user_version", "quick_check"):
        want, got = (c.execute(f"PRAGMA {pragma}").fetchone()[0] for c in (source, copy))
        if want != got:
            problems.append(f"{pragma} {got!r} is not {want!r}")
    for table in _fts_tables(source):
        copy.execute(f'INSERT INTO "{table}"("{table}") VALUES (\'integrity-check\')')
        sample = _sample_search(source, table)
        if sample is not None:
            sql = f'SELECT count(*) FROM "{table}" WHERE "{table}" MATCH ?'
            if copy.execute(sql, (sample[0],)).fetchone()[0] != sample[1]:
                problems.append(f"searching {table} for {sample[0]} finds other rows")
    if problems:
        raise sqlcipher.DatabaseError("the copy does not match: " + "; ".join(problems))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_in(copy_path: Path, db_path: Path, stamp: os.stat_result) -> None:
    """Rename `copy_path` over `db_path` unless the original changed or has side files left."""
    now = db_path.stat()
    if (now.st_size, now.st_mtime_ns) != (stamp.st_size, stamp.st_mtime_ns):
        raise sqlcipher.OperationalError("another program changed the database meanwhile")
    for side in with_side_files(db_path)[1:]:
        if side.exists() and side.stat().st_size:
            raise sqlcipher.OperationalError(f"{side.name} still holds changes")
        remove_files([side])
    _fsync(copy_path)
    os.replace(copy_path, db_path)
    fsync_dir(db_path.parent)


def encrypt_plaintext(db_path: Path, key: bytes, on_step: StepHook = _no_hook) -> None:
    """Replace the plaintext database at `db_path` by an encrypted, verified copy."""
    temp, backup = encrypting_path(db_path), plaintext_backup_path(db_path)
    if not db_path.exists() and is_plaintext(backup):  # only a backup survived: start from it
        os.replace(backup, db_path)
    remove_files(with_side_files(temp) + with_side_files(backup))  # an earlier, unfinished try
    with _failures("encrypt the conversation database", db_path):
        on_step("prepare")
        source = connect(db_path, None)
        try:
            _lock_and_fold_wal(source)
            on_step("backup")
            source.execute("VACUUM INTO ?", (str(backup),))
            on_step("export")
            source.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(temp), f"x'{key.hex()}'"))
            source.execute("SELECT sqlcipher_export('encrypted')")
            version = int(source.execute("PRAGMA main.user_version").fetchone()[0])
            source.execute(f"PRAGMA encrypted.user_version = {version:d}")
            source.execute("DETACH DATABASE encrypted")
            on_step("verify")
            copy = connect(temp, key)
            try:
                verify_copy(source, copy)
            finally:
                copy.close()
            stamp = db_path.stat()
        finally:
            source.close()
        on_step("replace")
        _swap_in(temp, db_path, stamp)
    log.info("database at %s encrypted", db_path)


def remove_plaintext_copies(
    db_path: Path, backup_dir: Path, on_step: StepHook = _no_hook
) -> list[Path]:
    """Delete the migration's backup and every plaintext database file in `backup_dir`."""
    on_step("cleanup")
    removed = remove_files(with_side_files(plaintext_backup_path(db_path)))
    removed += remove_files(with_side_files(encrypting_path(db_path)))
    if backup_dir.is_dir():
        for path in sorted(backup_dir.iterdir()):
            if path.is_file() and is_plaintext(path):
                removed += remove_files(with_side_files(path))
    return removed


def rekey_file(path: Path, old_key: bytes, new_key: bytes, on_step: StepHook = _no_hook) -> None:
    """Give the encrypted database at `path` the key `new_key`, via a verified copy."""
    temp = rekeying_path(path)
    remove_files(with_side_files(temp))
    with _failures("give a new key to", path):
        on_step("prepare")
        source = connect(path, old_key)
        try:
            _lock_and_fold_wal(source)
            on_step("copy")
            source.execute("VACUUM INTO ?", (str(temp),))
            on_step("rekey")
            copy = connect(temp, old_key)
            try:
                copy.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
            finally:
                copy.close()
            on_step("verify")
            copy = connect(temp, new_key)
            try:
                verify_copy(source, copy)
            finally:
                copy.close()
            stamp = path.stat()
        finally:
            source.close()
        on_step("replace")
        _swap_in(temp, path, stamp)
