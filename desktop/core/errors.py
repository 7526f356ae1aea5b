"""Errors Hearth knows how to explain to a person.

`HearthError` and its subclasses are *known* errors: caused by the environment or
the input (a corrupt model file, a prompt too long for the context). They carry a
message written for the user. Anything else that escapes is a bug.
"""

from __future__ import annotations


class HearthError(Exception):
    """A known, explainable failure. `str(error)` is shown to the user as is."""


class ModelRefusedError(HearthError):
    """The file is not a model Hearth can run safely (wrong format, would crash an engine)."""


class ModelLoadError(HearthError):
    """An engine failed to load a file that passed inspection."""


class ModelNotLoadedError(HearthError):
    """A generation was requested while no model is loaded."""


class ContextOverflowError(HearthError):
    """The prompt does not fit in the model's context window."""


class TemplateError(HearthError):
    """A chat template could not be rendered."""


class GenerationError(HearthError):
    """The engine failed while generating."""


class EmbeddedModelError(HearthError):
    """The embedded default model is missing or damaged."""


class DatabaseError(HearthError):
    """The conversation database cannot be opened, read or written (damaged, wrong key, locked)."""


class DatabaseFullError(DatabaseError):
    """The disk (or the database's size limit) is full; nothing from the failed write was kept."""


class DatabaseTooNewError(DatabaseError):
    """The database was made by a newer Hearth; it is left untouched."""


class ConversationImportError(HearthError):
    """A conversations file cannot be imported (malformed, hostile or unknown format)."""


class DatabaseDamagedError(DatabaseError):
    """Part of the database cannot be read (damaged pages); the rest may still be exported."""


class OutputFileError(HearthError):
    """A file Hearth was asked to write (an export) cannot be written there; nothing was."""


class StoreInUseError(DatabaseError):
    """Another Hearth process holds the conversations' write lock.

    `holder_kind` is "window", "command line" or None (unknown); `holder_pid` is the holder's
    process id when it recorded one.
    """

    def __init__(
        self, message: str, *, holder_kind: str | None = None, holder_pid: int | None = None
    ) -> None:
        super().__init__(message)
        self.holder_kind = holder_kind
        self.holder_pid = holder_pid


class VaultError(HearthError):
    """The database key cannot be obtained, stored or changed; nothing on disk was changed."""


class KeychainError(VaultError):
    """The operating system's keychain is missing, locked or refused to keep the key."""


class KeyFileError(VaultError):
    """The key information file beside the database is damaged or made by a newer Hearth."""


class WrongPassphraseError(VaultError):
    """The passphrase does not unlock the database key; another try is possible."""


class WeakPassphraseError(VaultError):
    """A new passphrase was refused (too short); nothing was changed."""


class WrongRecoveryKeyError(VaultError):
    """A recovery key is mistyped or belongs to another database; another try is possible."""


class VaultStateError(VaultError):
    """The requested change does not fit the current protection of the data (e.g. set up twice)."""


class EncryptionError(VaultError):
    """Encrypting or re-keying the database failed; the data is intact and the step is retried."""


class KeyFileTooNewError(KeyFileError):
    """The key file was written by a newer Hearth; it is left untouched."""


class ModelImportError(HearthError):
    """A model that passed every check could not be copied or linked into the models folder."""


class ModelLibraryError(HearthError):
    """A request on the model library cannot be done (unknown name, the built-in model, ...)."""


class ConversationGoneError(HearthError, KeyError):
    """A conversation or message is no longer in the store (deleted meanwhile).

    Also a `KeyError`, for callers that look things up by id.
    """

    def __str__(self) -> str:  # a sentence, not KeyError's quoted repr
        return Exception.__str__(self)


class ActionRefusedError(HearthError, ValueError):
    """A conversation action does not apply to the message it was asked for."""


class AssistantError(HearthError):
    """An assistant cannot be read, saved, changed or deleted; nothing was lost."""


class EngineCrashedError(HearthError):
    """The engine's process ended abnormally (abort, segfault, out of memory, killed).

    `phase` says what it was doing: "loading", "counting" (tokenizing a draft or a prompt),
    "reading" (evaluating the prompt) or "writing" (streaming the reply).
    """

    def __init__(self, message: str, *, phase: str, short: str | None = None) -> None:
        super().__init__(message)
        self.phase = phase
        #: The sentence without what the app did about it ("The model crashed while ...").
        self.short = short or message


class DocumentError(HearthError):
    """A document cannot be read (encrypted, no text, too large, ...): `str()` is its status.

    The message is one line without the file's name, shown beside it ("no text layer; OCR
    is not supported yet").
    """


class EmbeddingError(HearthError):
    """Passages cannot be embedded (model missing, damaged or crashed): words still search."""
