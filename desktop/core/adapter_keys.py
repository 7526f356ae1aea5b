"""The model key of "a model with one of the user's adapters": "adapter:NAME".

A conversation and an assistant keep which model they use as one key (a library key, a
file, "server:NAME:MODEL"); choosing an adapter is choosing "adapter:NAME", which stands for
the adapter's base model with the adapter applied at its scale (`desktop.chat.profiles`
resolves it). Kept this way, the choice needs no column of its own. Stdlib only.
"""

from __future__ import annotations

KEY_PREFIX = "adapter:"


def adapter_key(name: str) -> str:
    return KEY_PREFIX + name


def split_adapter_key(key: str | None) -> str | None:
    """The adapter's name in an "adapter:NAME" key, else None."""
    if not key or not key.startswith(KEY_PREFIX):
        return None
    return key[len(KEY_PREFIX) :] or None
