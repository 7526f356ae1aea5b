"""A server the user runs, speaking the OpenAI-compatible API (llama.cpp's server, Ollama,
vLLM, LM Studio's server, ...): what Hearth knows of it, and when it may be contacted.

Plain Python; no network here. Every request to a server first passes `check_contact`: the
network switch (Privacy) must be on, and plain `http://` to anything but this computer needs
the user's explicit "I understand" for that server.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from desktop.core.errors import HearthError
from desktop.core.network import NetworkGate

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
#: A model on a server is chosen by the key "server:NAME:MODEL" (a conversation keeps it).
KEY_PREFIX = "server:"


def remote_key(server: str, model: str) -> str:
    """The model key of `model` on the server named `server`."""
    return f"{KEY_PREFIX}{server}:{model}"


def split_remote_key(key: str | None) -> tuple[str, str] | None:
    """(server name, model) of a "server:NAME:MODEL" key, else None (a local model)."""
    if not key or not key.startswith(KEY_PREFIX):
        return None
    name, _, model = key[len(KEY_PREFIX) :].partition(":")
    return (name, model) if name and model else None


@dataclass(frozen=True)
class RanOn:
    """Which model wrote a reply, and where: `server` names the user's server it ran on;
    None: this computer."""

    model: str
    server: str | None = None

    @classmethod
    def of(cls, model_key: str | None, model_name: str) -> RanOn:
        """Where a reply of the model `model_key` (shown as `model_name`) runs."""
        remote = split_remote_key(model_key)
        return cls(model_name, None) if remote is None else cls(remote[1], remote[0])

    def describe(self) -> str:
        """ "smollm on your server lab" / "SmolLM2 on this computer"."""
        where = "this computer" if self.server is None else f"your server {self.server}"
        return f"{self.model} on {where}"


class ServerError(HearthError):
    """A server cannot be added, found or used as asked; the message says why."""


@dataclass(frozen=True)
class RemoteServer:
    """`name` (what the user calls it), `base_url` (ending in /v1 for most servers)."""

    name: str
    base_url: str
    allow_http: bool = False  # plain http to a host other than this computer, consented to
    context_length: int | None = None  # when the server does not say
    key_variable: str | None = None  # the API key is read from this environment variable

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def loopback(self) -> bool:
        host = self.host
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def check_server(name: str, base_url: str, allow_http: bool = False) -> RemoteServer:
    """A well-formed server entry, or `ServerError` saying what is wrong."""
    if not _NAME.match(name):
        raise ServerError(
            f'"{name}" cannot name a server: use letters, digits, ".", "_" or "-" (up to 40).'
        )
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(
            f'"{base_url}" is not a server address; give one like https://host:8080/v1.'
        )
    if parts.username or parts.password:
        raise ServerError("Put the API key in --api-key, not in the address; nothing was saved.")
    server = RemoteServer(name, base_url.strip().rstrip("/"), allow_http)
    if parts.scheme == "http" and not server.loopback and not allow_http:
        raise ServerError(
            f"{server.host} would be reached over plain http, so your conversations would "
            "cross the network unencrypted. Use https, or add --allow-http to say you "
            "understand."
        )
    return server


def check_contact(server: RemoteServer, policy: NetworkGate) -> None:
    """Raise unless Hearth may send a request to `server` now."""
    policy.require(f"The server {server.name} ({server.host})")
    if urlsplit(server.base_url).scheme == "http" and not server.loopback and not server.allow_http:
        raise ServerError(
            f"{server.name} uses plain http and was not allowed to; nothing was sent."
        )
