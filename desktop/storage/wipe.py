""" "Delete all my data": every file and keychain entry Hearth keeps, from explicit paths.

`wipe_all_data()` removes the database (with its -wal/-shm/-journal files and the leftovers of
an interrupted encryption or re-key), the key file, the backups and kept model states folders,
the log and config folders' contents, and the keychain entries of the database key. Imported
models are removed only when `include_models` is set. It never follows a symbolic link out of
the given folders and refuses to empty a filesystem root or the home folder. A failure to
remove one item is recorded and the rest is still removed; nothing raises for a missing item.

Thread: call with Hearth's database and log files closed (Windows cannot delete open files).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import KeychainError, KeyFileError
from desktop.storage.encrypt import encrypting_path, plaintext_backup_path, rekeying_path
from desktop.storage.encrypt import with_side_files as side_files
from desktop.storage.keychain import Keychain, account_for, pending_account_for
from desktop.storage.keyfile import keyfile_path, read_keyinfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WipeTargets:
    """What to delete. `models_dir` is only touched when `include_models` is set."""

    database_path: Path
    backup_dir: Path
    config_dir: Path
    log_dir: Path
    models_dir: Path | None = None
    include_models: bool = False
    cache_dir: Path | None = None  # what Hearth keeps to start faster (model inspections)
    states_dir: Path | None = None  # conversations' model states (encrypted)


@dataclass
class WipeReport:
    removed: list[Path] = field(default_factory=list)
    keychain_entries: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failures


def _refuse(directory: Path, keep: list[Path]) -> bool:
    """A root, the home folder, or a folder holding something to keep is never emptied."""
    resolved = directory.expanduser().resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        return True
    return any(resolved in kept.expanduser().resolve().parents for kept in keep)


def _remove(path: Path, report: WipeReport) -> None:
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            return
    except OSError as error:
        report.failures.append(f"{path}: {error.strerror or error}")
        return
    report.removed.append(path)


def _empty(directory: Path, report: WipeReport, keep: list[Path]) -> bool:
    """Remove what `directory` holds; True if it may then be removed itself."""
    if _refuse(directory, keep):
        report.failures.append(f"{directory}: refusing to empty this folder")
        return False
    if not directory.is_dir() or directory.is_symlink():
        return False
    for child in sorted(directory.iterdir()):
        _remove(child, report)
    return True


def _recorded_accounts(db: Path) -> list[str]:
    """The keychain accounts the key file names (the data folder may have moved since)."""
    try:
        info = read_keyinfo(db)
    except KeyFileError:
        return []
    if info is None:
        return []
    pending = info.pending.account if info.pending else None
    return [account for account in (info.account, pending) if account]


def wipe_all_data(targets: WipeTargets, keychain: Keychain | None) -> WipeReport:
    """Delete everything listed in `targets` and the keychain entries; report what happened."""
    report = WipeReport()
    db = targets.database_path
    accounts = _recorded_accounts(db)
    keyfile = keyfile_path(db)
    files = [*side_files(db), keyfile, keyfile.with_name(keyfile.name + ".tmp")]
    for leftover in (encrypting_path(db), plaintext_backup_path(db), rekeying_path(db)):
        files += side_files(leftover)
    for path in files:
        _remove(path, report)
    keep = (
        [db]
        if targets.include_models or targets.models_dir is None
        else [db, targets.models_dir / "x"]
    )
    folders = (
        targets.backup_dir,
        targets.config_dir,
        targets.log_dir,
        targets.cache_dir,
        targets.states_dir,
    )
    for directory in (folder for folder in folders if folder is not None):
        if _empty(directory, report, keep) and not any(directory.iterdir()):
            _remove(directory, report)
    if targets.include_models and targets.models_dir is not None:
        _empty(targets.models_dir, report, [db])
    if keychain is not None:
        for entry in dict.fromkeys([*accounts, account_for(db), pending_account_for(db)]):
            try:
                if keychain.delete(entry):
                    report.keychain_entries.append(entry)
            except KeychainError as error:
                report.failures.append(str(error))
    log.info("all data wiped: %d items, %d failures", len(report.removed), len(report.failures))
    return report
