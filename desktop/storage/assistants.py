"""`AssistantStore`: the built-in assistants (read-only) and the user's own, as JSON files.

Built-ins are `resources/assistants/*.json` (in a frozen build: `assistants/` beside the
bundle's data). The user's assistants are one JSON file each in `<config dir>/assistants/`,
written atomically (a temporary file, fsync, rename), so a crash never leaves half a file.
A damaged file is skipped and reported in `problems`, never deleted or overwritten.
Plain Python; call it from one thread.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from desktop.core.assistants import (
    Assistant,
    Example,
    assistant_from_dict,
    assistant_to_dict,
    name_problem,
    slugify,
)
from desktop.core.errors import AssistantError
from desktop.core.files import atomic_write_text

log = logging.getLogger(__name__)

#: The built-in assistant a new conversation gets unless the user picks another.
DEFAULT_ASSISTANT_ID = "general"


def builtin_assistants_dir() -> Path:
    """Where the built-in assistants are: the frozen bundle, else the source tree."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and (Path(bundle) / "assistants").is_dir():
        return Path(bundle) / "assistants"
    return Path(__file__).resolve().parents[2] / "resources" / "assistants"


class AssistantStore:
    """Lists, creates, edits, duplicates and deletes assistants. Built-ins cannot change."""

    def __init__(self, builtin_dir: Path, user_dir: Path) -> None:
        self.builtin_dir = Path(builtin_dir)
        self.user_dir = Path(user_dir)
        self.problems: list[str] = []

    # -- reading ---------------------------------------------------------------------------
    def assistants(self) -> list[Assistant]:
        """Built-ins first (in file-name order), then the user's by name."""
        self.problems = []
        builtins = self._read_dir(self.builtin_dir, builtin=True)
        taken = {a.id for a in builtins}
        mine = [a for a in self._read_dir(self.user_dir, builtin=False) if a.id not in taken]
        return builtins + sorted(mine, key=lambda a: a.name.casefold())

    def get(self, assistant_id: str) -> Assistant:
        for assistant in self.assistants():
            if assistant.id == assistant_id:
                return assistant
        raise AssistantError(f'There is no assistant "{assistant_id}"; it may have been deleted.')

    def find(self, assistant_id: str | None) -> Assistant | None:
        """The assistant, or the default built-in when it is gone (a conversation's fallback)."""
        assistants = self.assistants()
        by_id = {a.id: a for a in assistants}
        return by_id.get(assistant_id or "") or by_id.get(DEFAULT_ASSISTANT_ID)

    def _read_dir(self, directory: Path, builtin: bool) -> list[Assistant]:
        found = []
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                assistant = assistant_from_dict(data, builtin=builtin, source=path.name)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                self._problem(f'The assistant file "{path.name}" cannot be read ({exc}).')
                continue
            except AssistantError as exc:
                self._problem(str(exc))
                continue
            if assistant.id != path.stem:
                self._problem(f'The assistant file "{path.name}" holds another id; skipped.')
                continue
            found.append(assistant)
        return found

    def _problem(self, message: str) -> None:
        log.warning("%s", message)
        self.problems.append(message)

    # -- changing --------------------------------------------------------------------------
    def create(
        self,
        name: str,
        system_prompt: str,
        examples: tuple[Example, ...] = (),
        *,
        description: str = "",
        model: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Assistant:
        """Save a new assistant with a fresh id and return it."""
        assistant = Assistant(
            id=self._new_id(name),
            name=name,
            system_prompt=system_prompt,
            examples=tuple(examples),
            description=description,
            model=model,
            settings=dict(settings or {}),
        )
        return self._write(assistant)

    def update(self, assistant: Assistant) -> Assistant:
        """Save changes to one of the user's assistants (a built-in must be duplicated)."""
        self._require_mine(assistant.id, "changed")
        return self._write(replace(assistant, builtin=False))

    def duplicate(self, assistant_id: str, name: str | None = None) -> Assistant:
        """A user-owned copy ("Writer (copy)") of any assistant, built-in or not."""
        source = self.get(assistant_id)
        new_name = name or f"{source.name} (copy)"
        return self._write(replace(source, id=self._new_id(new_name), name=new_name, builtin=False))

    def delete(self, assistant_id: str) -> None:
        path = self._require_mine(assistant_id, "deleted")
        try:
            path.unlink()
        except OSError as exc:
            raise AssistantError(
                f"The assistant could not be deleted ({exc.strerror or exc}); it is unchanged."
            ) from exc

    def _require_mine(self, assistant_id: str, verb: str) -> Path:
        if (self.builtin_dir / f"{assistant_id}.json").is_file():
            raise AssistantError(
                f"Built-in assistants cannot be {verb}; duplicate it and change the copy."
            )
        path = self.user_dir / f"{assistant_id}.json"
        if not path.is_file():
            raise AssistantError(f'There is no assistant "{assistant_id}"; nothing was {verb}.')
        return path

    def _new_id(self, name: str) -> str:
        stem = slugify(name)
        taken = {
            p.stem for d in (self.builtin_dir, self.user_dir) if d.is_dir() for p in d.iterdir()
        }
        ident = stem
        while ident in taken:
            ident = f"{stem}-{secrets.token_hex(3)}"
        return ident

    def _write(self, assistant: Assistant) -> Assistant:
        if problem := name_problem(assistant.name):
            raise AssistantError(f"The assistant cannot be saved: {problem}.")
        assistant = replace(assistant, name=assistant.name.strip())
        data = assistant_to_dict(assistant)
        assistant_from_dict(data)  # the same checks as reading it back: never save a bad file
        try:
            self.user_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(
                self.user_dir / f"{assistant.id}.json", json.dumps(data, indent=2) + "\n"
            )
        except OSError as exc:
            raise AssistantError(
                f'The assistant "{assistant.name}" could not be saved ({exc.strerror or exc}); '
                "the previous version is unchanged."
            ) from exc
        return assistant
