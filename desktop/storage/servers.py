"""The user's servers: names and addresses in a small JSON file, API keys in the keychain.

No secret is ever written to the file: a server's key lives in the OS keychain under the
account `server:NAME`. Plain Python; one writer (the command line or the window).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path

from desktop.core.errors import HearthError
from desktop.core.files import atomic_write_text
from desktop.core.servers import RemoteServer, ServerError, check_server
from desktop.storage.keychain import Keychain

log = logging.getLogger(__name__)
VERSION = 1


def key_account(name: str) -> str:
    return f"server:{name}"


class ServerList:
    """The servers in `path`, with their keys in `keychain`."""

    def __init__(self, path: Path, keychain: Keychain) -> None:
        self.path = Path(path)
        self._keychain = keychain

    def servers(self) -> list[RemoteServer]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            log.warning("servers file %s unreadable: %s", self.path, error)
            return []
        found = []
        for raw in data.get("servers", []) if isinstance(data, dict) else []:
            try:
                server = check_server(
                    str(raw["name"]), str(raw["base_url"]), raw.get("allow_http") is True
                )
            except (KeyError, TypeError, ServerError) as error:
                log.warning("a server entry was skipped: %s", error)
                continue
            context = raw.get("context_length")
            variable = raw.get("key_variable")
            server = replace(
                server,
                context_length=context if isinstance(context, int) and context > 0 else None,
                key_variable=variable if isinstance(variable, str) and variable else None,
            )
            found.append(server)
        return found

    def find(self, name: str) -> RemoteServer | None:
        return next((s for s in self.servers() if s.name == name), None)

    def add(self, server: RemoteServer, api_key: str | None) -> None:
        others = [s for s in self.servers() if s.name != server.name]
        if api_key:
            self._keychain.store_secret(key_account(server.name), api_key)
        self._write([*others, server])

    def remove(self, name: str) -> None:
        servers = self.servers()
        if all(s.name != name for s in servers):
            raise ServerError(f'There is no server "{name}".')
        self._write([s for s in servers if s.name != name])
        try:
            self._keychain.delete(key_account(name))
        except HearthError as error:
            log.warning("the key of %s stays in the keychain: %s", name, error)

    def api_key(self, server: RemoteServer) -> str | None:
        """The server's key: from its environment variable, else from the keychain."""
        if server.key_variable:
            return os.environ.get(server.key_variable) or None
        return self._keychain.load_secret(key_account(server.name))

    def _write(self, servers: list[RemoteServer]) -> None:
        entries = [
            {
                "name": s.name,
                "base_url": s.base_url,
                "allow_http": s.allow_http,
                "context_length": s.context_length,
                "key_variable": s.key_variable,
            }
            for s in servers
        ]
        text = json.dumps({"version": VERSION, "servers": entries}, indent=2) + "\n"
        try:
            atomic_write_text(self.path, text)
        except OSError as error:
            raise ServerError(
                f"The server list could not be saved ({error.strerror or error})."
            ) from error
