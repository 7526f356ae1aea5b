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
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from desktop.core.errors import HearthError, KeychainError
from desktop.core.network import LiveNetworkPolicy
from desktop.core.servers import RemoteServer, ServerError, check_server
from desktop.core.settings import DEFAULT_CONTEXT
from desktop.paths import AppPaths
from desktop.storage.keychain import Keychain
from desktop.storage.preferences import Preferences
from desktop.storage.servers import ServerList

if TYPE_CHECKING:
    from desktop.chat.profiles import ChatProfile
    from desktop.inference.remote import RemoteEngine

log = logging.getLogger(__name__)
PREFIX = "server:"


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
    policy = LiveNetworkPolicy(lambda: Preferences.load(paths.config_dir).network)
    return RemoteEngine(server, model, key, policy)


def engine_by_name(paths: AppPaths) -> Callable[[str, str], RemoteEngine]:
    """(server name, model) -> the engine of that model: the window's remote engines."""

    def build(name: str, model: str) -> RemoteEngine:
        server = server_list(paths).find(name)
        if server is None:
            raise ServerError(f'There is no server "{name}" any more; choose another model.')
        return remote_engine(server, model, paths)

    return build


def start_remote(
    args: argparse.Namespace, paths: AppPaths, server: RemoteServer, model: str
) -> tuple[ChatProfile, RemoteEngine, float]:
    """A model on the user's server: its profile, and the engine checked against the server."""
    from desktop.chat.profiles import make_profiles
    from desktop.cli.ask import find_assistant, session_settings

    profiles = make_profiles(paths, session_settings=session_settings(args))
    assistant_id = None
    if getattr(args, "assistant", None):
        assistant_id = find_assistant(profiles.assistants, args.assistant).id
    key = f"{PREFIX}{server.name}:{model}"
    profile = profiles.resolve_remote(
        assistant_id, key, model, server.context_length or DEFAULT_CONTEXT
    )
    engine = remote_engine(server, model, paths)
    start = time.perf_counter()
    try:
        engine.load(Path(key), profile.load_options)
    except BaseException:
        engine.close()
        raise
    return profile, engine, time.perf_counter() - start
