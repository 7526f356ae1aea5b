"""`RemoteModels`: the models of the user's servers, as the window's model picker lists them.

The server list (names, addresses) is read from `ServerList`; which models each server
offers is only known after a request, made off the GUI thread by the caller (with the
network switch on) and handed in with `set_models`. A model is chosen by its key
"server:NAME:MODEL" (`desktop.core.servers.remote_key`); its label says where it runs.

Plain Python, no network, no Qt. Thread: the GUI thread's (it reads a small JSON file).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from desktop.core.errors import HearthError
from desktop.core.network import NetworkGate
from desktop.core.servers import RemoteServer, remote_key, split_remote_key

if TYPE_CHECKING:  # the keychain (keyring) is imported only where servers are used
    from desktop.storage.servers import ServerList

log = logging.getLogger(__name__)


def remote_label(model: str, server: str) -> str:
    """How a server's model is named in the picker: the model, then where it runs."""
    return f"{model} · on server {server}"


class RemoteModels:
    """The servers and, once fetched, their models; see the module docstring."""

    def __init__(self, servers: ServerList) -> None:
        self.servers = servers
        self._models: dict[str, list[str]] = {}

    def set_models(self, server: str, models: list[str]) -> None:
        self._models[server] = list(models)

    def remember(self, server: str, model: str) -> None:
        """A model a conversation used: listed until the server's own list is fetched."""
        known = self._models.setdefault(server, [])
        if model not in known:
            known.append(model)

    def models(self, server: str) -> list[str] | None:
        """The models `server` offered when last asked (None: not asked yet)."""
        found = self._models.get(server)
        return None if found is None else list(found)

    def forget(self, server: str) -> None:
        self._models.pop(server, None)

    def choices(self) -> list[tuple[str, str]]:
        """(key, label) of every known model of every server."""
        return [
            (remote_key(server.name, model), remote_label(model, server.name))
            for server in self.servers.servers()
            for model in self._models.get(server.name, [])
        ]

    def find(self, key: str | None) -> tuple[RemoteServer, str] | None:
        """(server, model) of a "server:NAME:MODEL" key whose server is still configured."""
        parts = split_remote_key(key)
        if parts is None:
            return None
        server = self.servers.find(parts[0])
        return None if server is None else (server, parts[1])


def fetch_models(servers: ServerList, policy: NetworkGate) -> dict[str, list[str] | str]:
    """Ask each server for its models: a list, or the sentence saying why not.

    Slow (one request a server, after the network switch): call it off the GUI thread.
    """
    from desktop.inference.remote import list_models  # the HTTP client: only when used

    found: dict[str, list[str] | str] = {}
    for server in servers.servers():
        try:
            key = servers.api_key(server)
        except HearthError as error:  # no usable keychain: ask without a key
            log.warning("no API key for %s: %s", server.name, error)
            key = None
        try:
            found[server.name] = list_models(server, key, policy)
        except HearthError as error:
            found[server.name] = str(error)
    return found
