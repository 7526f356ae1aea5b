"""The user's servers: what may be added, where keys go, and when a server may be contacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.network import NetworkDisabledError, NetworkPolicy
from desktop.core.servers import RemoteServer, ServerError, check_contact, check_server
from desktop.storage.keychain import Keychain
from desktop.storage.servers import ServerList
from tests.memory_keyring import MemoryKeyring


def test_plain_http_beyond_this_computer_needs_an_explicit_yes() -> None:
    assert check_server("here", "http://127.0.0.1:8080/v1/").base_url == "http://127.0.0.1:8080/v1"
    assert check_server("local", "http://localhost:11434/v1").loopback
    assert check_server("lab", "https://lab.example:8443/v1").host == "lab.example"
    with pytest.raises(ServerError, match=r"unencrypted\. Use https, or add --allow-http"):
        check_server("lan", "http://192.168.1.9:8080/v1")
    assert check_server("lan", "http://192.168.1.9:8080/v1", allow_http=True).allow_http
    with pytest.raises(ServerError, match="not in the address"):
        check_server("x", "https://me:secret@lab.example/v1")
    with pytest.raises(ServerError, match="is not a server address"):
        check_server("x", "ftp://lab.example")
    with pytest.raises(ServerError, match="cannot name a server"):
        check_server("two words", "https://lab.example")


def test_nothing_is_contacted_while_the_network_is_off() -> None:
    server = RemoteServer("lab", "https://lab.example/v1")
    with pytest.raises(NetworkDisabledError, match=r"turned off in Privacy\. Nothing was sent"):
        check_contact(server, NetworkPolicy(False))
    check_contact(server, NetworkPolicy(True))


def test_keys_go_to_the_keychain_never_to_the_file(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    servers = ServerList(tmp_path / "servers.json", Keychain())
    servers.add(check_server("lab", "https://lab.example/v1"), "sk-very-secret")
    assert "sk-very-secret" not in (tmp_path / "servers.json").read_text(encoding="utf-8")
    [lab] = servers.servers()
    assert servers.api_key(lab) == "sk-very-secret"
    assert [s.name for s in servers.servers()] == ["lab"]
    servers.remove("lab")
    assert servers.servers() == [] and servers.api_key(lab) is None
    with pytest.raises(ServerError, match='There is no server "lab"'):
        servers.remove("lab")


def test_the_sentence_names_the_missing_server(tmp_path: Path) -> None:
    from desktop.cli.ask import _remote_model
    from desktop.cli.parser import build_parser
    from desktop.core.errors import HearthError
    from desktop.paths import AppPaths

    args = build_parser().parse_args(["ask", "--model", "nolab:m", "hi"])
    with pytest.raises(HearthError, match='no model file "nolab:m" and no server "nolab"'):
        _remote_model(args, AppPaths.resolve(tmp_path))
