"""`hearth servers add|list|remove`, and models on those servers for `hearth ask`.

A server is one the user runs (llama.cpp's server, Ollama, vLLM, ...), reached through its
OpenAI-compatible API only while the network switch (Privacy) is on. Its API key is read
from an environment variable at `add` (never from the command line, where other users of the
computer could see it in the process list) and kept in the OS keychain.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from desktop.core.errors import HearthError, KeychainError
from desktop.core.servers import RemoteServer, ServerError, check_server
from desktop.paths import AppPaths
from desktop.storage.keychain import Keychain
from desktop.storage.preferences import Preferences
from desktop.storage.servers import ServerList

if TYPE_CHECKING:
    from desktop.inference.remote import RemoteEngine

log = logging.getLogger(__name__)
COMMANDS = ("servers",)
PREFIX = "server:"


def add_parsers(sub: Any, ctx_type: Any) -> None:
    servers = sub.add_parser(
        "servers", help="servers you run (OpenAI-compatible) whose models Hearth may use"
    )
    actions = servers.add_subparsers(dest="servers_action", required=True)
    add = actions.add_parser("add", help="add or change a server")
    add.add_argument("name")
    add.add_argument("url", help="its API address, e.g. http://127.0.0.1:8080/v1")
    add.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="read its API key from VAR now; keep it in the keychain",
    )
    add.add_argument(
        "--use-env", metavar="VAR", help="read its API key from VAR at each use (nothing is kept)"
    )
    add.add_argument(
        "--allow-http",
        action="store_true",
        help="I understand: reach a server on another computer over unencrypted http",
    )
    add.add_argument("--ctx", type=ctx_type, help="its context window, if it does not say")
    actions.add_parser("list", help="the servers and whether the network is on")
    remove = actions.add_parser("remove", help="forget a server and its key")
    remove.add_argument("name")


def server_list(paths: AppPaths) -> ServerList:
    return ServerList(paths.config_dir / "servers.json", Keychain())


def run(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    servers = server_list(paths)
    if args.servers_action == "add":
        server = check_server(args.name, args.url, args.allow_http)
        server = replace(server, context_length=args.ctx or None, key_variable=args.use_env)
        key = None
        if args.api_key_env:
            key = os.environ.get(args.api_key_env)
            if not key:
                raise ServerError(f"The variable {args.api_key_env} is empty; nothing was saved.")
        try:
            servers.add(server, key)
        except KeychainError as error:
            raise ServerError(
                f"{error} Add --use-env {args.api_key_env} instead to read the key from that "
                "variable at each use; nothing was saved."
            ) from error
        print(f'Saved the server "{server.name}" ({server.base_url}).', file=out)
        if not Preferences.load(paths.config_dir).network_allowed:
            print(_NETWORK_OFF, file=out)
        return 0
    if args.servers_action == "remove":
        servers.remove(args.name)
        print(f'Removed the server "{args.name}".', file=out)
        return 0
    listed = servers.servers()
    for server in listed:
        extra = ", plain http allowed" if server.allow_http and not server.loopback else ""
        print(f"{server.name}  {server.base_url}{extra}", file=out)
    if not listed:
        print("No servers. Add one with `hearth servers add NAME URL`.", file=out)
    elif not Preferences.load(paths.config_dir).network_allowed:
        print(_NETWORK_OFF, file=out)
    return 0


_NETWORK_OFF = (
    "The network is off (Privacy in the window): Hearth contacts no server until you turn it on."
)


def remote_reference(ref: str | None, paths: AppPaths) -> tuple[RemoteServer, str] | None:
    """(server, model) when `ref` is SERVER:MODEL of a configured server, else None."""
    if not ref or ":" not in ref or os.path.exists(ref):
        return None
    name, _, model = ref.partition(":")
    server = server_list(paths).find(name)
    if server is None or not model:
        return None
    return server, model


def remote_engine(server: RemoteServer, model: str, paths: AppPaths) -> RemoteEngine:
    from desktop.inference.remote import RemoteEngine  # the HTTP client: only when used

    try:
        key = server_list(paths).api_key(server)
    except HearthError as error:  # no usable keychain: try without a key
        log.warning("no API key for %s: %s", server.name, error)
        key = None
    return RemoteEngine(server, model, key, Preferences.load(paths.config_dir).network)
