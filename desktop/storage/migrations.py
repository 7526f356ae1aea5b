"""The database schema, versioned with `PRAGMA user_version`, and the upgrades between versions.

`MIGRATIONS[n - 1]` turns version `n - 1` into version `n`; version 0 is an empty file.
`migrate()` runs the missing ones, each in its own transaction together with the new
`user_version`, so a failure leaves the database at the last complete version. Before an
existing, non-empty database is upgraded it is copied to
`<backup_dir>/hearth-v<old>-<timestamp>.db` with `VACUUM INTO` (a consistent snapshot that
includes committed WAL content, encrypted with the same key). A database whose version is
newer than `SCHEMA_VERSION` is refused with `DatabaseTooNewError` and not touched.

Schema v1:
- `conversations`: sidebar rows; `deleted_at` set = in the trash; `current_leaf_id` is the
  last message of the branch being shown.
- `messages`: a tree per conversation. Versions of a message (edits, regenerations) are
  siblings sharing `parent_id`, ordered by id. `status` tracks streaming replies.
- `messages_fts`: an FTS5 index over `messages.content` (external content, kept in sync by
  triggers). Messages still `streaming` are not indexed until they reach another status, so
  a streaming update costs one row write and no index work.
- `meta`: small key/value settings of the store (last opened conversation).

Schema v2: `messages_fts` gets FTS5 prefix indexes for words of 1, 2 and 3 characters
(`prefix='1 2 3'`), so a search for a short prefix ("a", "th", "the") reads one index entry
from the newest message down instead of merging every word starting that way. The upgrade
re-creates the index from the messages that are not `streaming` (the triggers' rule).

Schema v3: `conversations.assistant_id`, the assistant a conversation uses (an
`AssistantStore` id; NULL: the default assistant). `model_path` holds the model library key
the conversation last used.

Schema v4: the search index also keeps emoji and other symbols as words (FTS5 token
categories `L* N* Co So`), so "🍞" finds the messages with it; NUL characters in messages
become "␀" (SQLite's text functions, snippets among them, stop at a NUL).

Schema v5: documents (`desktop.storage.documents`). `doc_collections` (named, case-blind);
`doc_sources`, the files and folders added to a collection; `doc_files`, each file found
with its size, mtime, sha256 and status (`pending`, `indexed`, `failed` with a one-line
`reason`); `doc_passages` (text, heading path, page) with `doc_passages_fts`, an FTS5
index kept by triggers. Deleting a collection deletes its sources, files and passages.

Schema v6: `doc_passages_fts` stems English words (FTS5 `porter` over the same `unicode61`
rules), so "separates" finds "separated" and "indexing" finds "indexes"; the upgrade
re-creates the index from the passages.

Schema v7: passage vectors, inside the encrypted file like everything else.
`doc_vector_data` keeps each passage's vector (384 float32, L2-normalised; deleted with its
passage). `doc_vectors` is a sqlite-vec `vec0` table of the same vectors quantised to one
bit per dimension (48 bytes, the passage id as rowid, its collection as a metadata column):
its Hamming k-NN scan stays small enough to sit in the page cache, so a search by meaning
reads candidates from it and ranks them exactly by cosine from `doc_vector_data` (a float
vec0 scan decrypts every page, about 1 s at 100,000 passages). `doc_passages.embedded`
marks the passages that have their vector (a partial index finds the others quickly, so an
interrupted embedding run continues where it stopped); deleting a passage (its file, its
collection) deletes its vectors.

Schema v10: where each reply ran. `messages.model` (the model's name as the picker showed
it) and `messages.server` (the user's server it ran on; NULL: this computer). The upgrade
gives the replies of a conversation whose model is a server's ("server:NAME:MODEL") that
server and model, which is what the window showed for them until then; other replies stay
unknown (NULL, NULL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from desktop.core.errors import DatabaseError, DatabaseTooNewError
from desktop.core.servers import split_remote_key
from desktop.storage.conversations import storable
from desktop.storage.db import Database, open_database

log = logging.getLogger(__name__)

Migration = Callable[[Database], None]

_SCHEMA_V1 = (
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
        deleted_at TEXT,
        model_path TEXT,
        system_prompt TEXT,
        current_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'complete'
            CHECK (status IN ('complete', 'streaming', 'incomplete', 'cancelled', 'error')),
        stats_json TEXT
    )""",
    """CREATE INDEX conversations_sidebar
        ON conversations(pinned DESC, updated_at DESC, id DESC) WHERE deleted_at IS NULL""",
    "CREATE INDEX conversations_trash ON conversations(deleted_at) WHERE deleted_at IS NOT NULL",
    "CREATE INDEX conversations_leaf ON conversations(current_leaf_id)",
    "CREATE INDEX messages_tree ON messages(conversation_id, parent_id, id)",
    "CREATE INDEX messages_parent ON messages(parent_id)",
    "CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming'",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN new.status <> 'streaming' BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
        WHEN old.status <> 'streaming' BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
        END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                SELECT 'delete', old.id, old.content WHERE old.status <> 'streaming';
            INSERT INTO messages_fts(rowid, content)
                SELECT new.id, new.content WHERE new.status <> 'streaming';
        END""",
)


def _new_search_index(tokenize: str) -> tuple[str, ...]:
    """Statements that replace `messages_fts` by one with `tokenize`, filled anew."""
    return (
        "DROP TABLE messages_fts",
        f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, content='messages', content_rowid='id',
        tokenize={tokenize}, prefix='1 2 3'
    )""",
        # Not 'rebuild': that would also index streaming messages, which the triggers skip.
        """INSERT INTO messages_fts(rowid, content)
        SELECT id, content FROM messages WHERE status <> 'streaming' ORDER BY id""",
    )


_SCHEMA_V2 = _new_search_index("'unicode61 remove_diacritics 2'")


_SCHEMA_V3 = ("ALTER TABLE conversations ADD COLUMN assistant_id TEXT",)

_SCHEMA_V4 = _new_search_index("\"unicode61 remove_diacritics 2 categories 'L* N* Co So'\"")


_SCHEMA_V5 = (
    """CREATE TABLE doc_collections (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE doc_sources (
        id INTEGER PRIMARY KEY,
        collection_id INTEGER NOT NULL REFERENCES doc_collections(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        added_at TEXT NOT NULL,
        UNIQUE (collection_id, path)
    )""",
    """CREATE TABLE doc_files (
        id INTEGER PRIMARY KEY,
        collection_id INTEGER NOT NULL REFERENCES doc_collections(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        format TEXT NOT NULL,
        size INTEGER,
        mtime_ns INTEGER,
        sha256 TEXT,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'indexed', 'failed')),
        reason TEXT,
        pages INTEGER,
        indexed_at TEXT,
        UNIQUE (collection_id, path)
    )""",
    "CREATE INDEX doc_files_status ON doc_files(collection_id, status)",
    """CREATE TABLE doc_passages (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES doc_files(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        heading TEXT NOT NULL DEFAULT '',
        page INTEGER,
        text TEXT NOT NULL
    )""",
    "CREATE INDEX doc_passages_file ON doc_passages(file_id, ordinal)",
    """CREATE VIRTUAL TABLE doc_passages_fts USING fts5(
        text, heading, content='doc_passages', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2 categories 'L* N* Co So'"
    )""",
    """CREATE TRIGGER doc_passages_fts_insert AFTER INSERT ON doc_passages BEGIN
            INSERT INTO doc_passages_fts(rowid, text, heading)
                VALUES (new.id, new.text, new.heading);
        END""",
    """CREATE TRIGGER doc_passages_fts_delete AFTER DELETE ON doc_passages BEGIN
            INSERT INTO doc_passages_fts(doc_passages_fts, rowid, text, heading)
                VALUES ('delete', old.id, old.text, old.heading);
        END""",
)


_DOC_TOKENIZER_V6 = "porter unicode61 remove_diacritics 2 categories 'L* N* Co So'"
_SCHEMA_V6 = (
    "DROP TABLE doc_passages_fts",
    f"""CREATE VIRTUAL TABLE doc_passages_fts USING fts5(
        text, heading, content='doc_passages', content_rowid='id',
        tokenize="{_DOC_TOKENIZER_V6}"
    )""",
    "INSERT INTO doc_passages_fts(doc_passages_fts) VALUES ('rebuild')",
)


_SCHEMA_V7 = (
    """CREATE TABLE doc_vector_data (
        passage_id INTEGER PRIMARY KEY REFERENCES doc_passages(id) ON DELETE CASCADE,
        embedding BLOB NOT NULL
    )""",
    """CREATE VIRTUAL TABLE doc_vectors USING vec0(
        collection_id integer, coarse bit[384]
    )""",
    "ALTER TABLE doc_passages ADD COLUMN embedded INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX doc_passages_unembedded ON doc_passages(id) WHERE embedded = 0",
    """CREATE TRIGGER doc_vectors_delete AFTER DELETE ON doc_passages
        WHEN old.embedded = 1 BEGIN
            DELETE FROM doc_vectors WHERE rowid = old.id;
        END""",
)


_SCHEMA_V8 = (
    """CREATE TABLE network_contacts (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        host TEXT NOT NULL,
        purpose TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX network_contacts_at ON network_contacts(at)",
)


_SCHEMA_V9 = (
    """CREATE TABLE adapters (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        base TEXT NOT NULL,
        scale REAL NOT NULL DEFAULT 1.0,
        rank INTEGER NOT NULL,
        origin TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX adapters_base ON adapters(base)",
)


def _reply_places(db: Database) -> None:
    db.execute("ALTER TABLE messages ADD COLUMN model TEXT")
    db.execute("ALTER TABLE messages ADD COLUMN server TEXT")
    rows = db.query_all("SELECT id, model_path FROM conversations WHERE model_path LIKE 'server:%'")
    for conversation_id, key in rows:
        remote = split_remote_key(key)
        if remote is not None:
            db.execute(
                "UPDATE messages SET server = ?, model = ? "
                "WHERE conversation_id = ? AND role = 'assistant'",
                (remote[0], remote[1], conversation_id),
            )


def _adapters(db: Database) -> None:
    for statement in _SCHEMA_V9:
        db.execute(statement)


def _network_contacts(db: Database) -> None:
    for statement in _SCHEMA_V8:
        db.execute(statement)


def _document_vectors(db: Database) -> None:
    for statement in _SCHEMA_V7:
        db.execute(statement)


def _stemmed_documents(db: Database) -> None:
    for statement in _SCHEMA_V6:
        db.execute(statement)


def _documents(db: Database) -> None:
    for statement in _SCHEMA_V5:
        db.execute(statement)


def _initial_schema(db: Database) -> None:
    for statement in _SCHEMA_V1:
        db.execute(statement)


def _prefix_indexes(db: Database) -> None:
    for statement in _SCHEMA_V2:
        db.execute(statement)


def _conversation_assistant(db: Database) -> None:
    for statement in _SCHEMA_V3:
        db.execute(statement)


def _emoji_search(db: Database) -> None:
    # NUL characters cut SQLite's text functions short: store them as a visible stand-in
    # (while the old index still exists, so its triggers can update it), then index anew.
    rows = db.query_all(
        "SELECT id, content FROM messages WHERE instr(CAST(content AS BLOB), x'00') > 0"
    )
    for message_id, content in rows:
        db.execute("UPDATE messages SET content = ? WHERE id = ?", (storable(content), message_id))
    for statement in _SCHEMA_V4:
        db.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    _initial_schema,
    _prefix_indexes,
    _conversation_assistant,
    _emoji_search,
    _documents,
    _stemmed_documents,
    _document_vectors,
    _network_contacts,
    _adapters,
    _reply_places,
)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(db: Database) -> int:
    return int(db.scalar("PRAGMA user_version"))


def _has_content(db: Database) -> bool:
    return user_version(db) > 0 or bool(db.scalar("SELECT count(*) FROM sqlite_master"))


def _backup_path(backup_dir: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    candidate = backup_dir / f"hearth-v{version}-{stamp}.db"
    counter = 2
    while candidate.exists():
        candidate = backup_dir / f"hearth-v{version}-{stamp}-{counter}.db"
        counter += 1
    return candidate


def backup_database(db: Database, backup_dir: Path, version: int) -> Path:
    """Copy the database to a new file in `backup_dir`; returns its path."""
    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
        target = _backup_path(backup_dir, version)
        db.backup_to(target)
    except (OSError, DatabaseError) as error:
        raise DatabaseError(
            f"Hearth could not back up its conversation database to {backup_dir} before "
            f"upgrading it ({error}). Nothing was changed."
        ) from error
    log.info("database backed up to %s before upgrading from version %d", target, version)
    return target


def migrate(
    db: Database, backup_dir: Path, migrations: Sequence[Migration] = MIGRATIONS
) -> Path | None:
    """Bring the database to `len(migrations)`; returns the backup made first, if any."""
    current = user_version(db)
    target = len(migrations)
    if current > target:
        raise DatabaseTooNewError(
            f"The conversation database at {db.path} was made by a newer Hearth (schema "
            f"version {current}; this Hearth knows up to {target}). Update Hearth to open it. "
            "Nothing was changed."
        )
    if current == target:
        return None
    backup = backup_database(db, backup_dir, current) if _has_content(db) else None
    for version in range(current + 1, target + 1):
        with db.transaction():
            migrations[version - 1](db)
            db.execute(f"PRAGMA user_version = {version:d}")
        log.info("database migrated to schema version %d", version)
    return backup


def open_and_migrate(
    path: Path, key: bytes | None = None, backup_dir: Path | None = None
) -> Database:
    """Open the database and bring it to `SCHEMA_VERSION`.

    `backup_dir` defaults to `backups/` next to the file, i.e. `<data_dir>/backups` for
    `AppPaths.database_path`.
    """
    db = open_database(path, key, max_user_version=SCHEMA_VERSION)
    try:
        migrate(db, backup_dir if backup_dir is not None else Path(path).parent / "backups")
    except BaseException:
        db.close()
        raise
    return db
