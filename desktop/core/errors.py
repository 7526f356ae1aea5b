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
