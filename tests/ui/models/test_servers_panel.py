"""The Models page's "Your servers" section without any network: adding a server (the
"I understand" for plain http beyond this computer), the switch keeping it silent, removal."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.chat.remote_models import RemoteModels
from desktop.core.network import NetworkPolicy
from desktop.storage.keychain import Keychain
from desktop.storage.servers import ServerList, key_account
from desktop.ui.models.servers import NETWORK_OFF, ServersPanel
from tests.memory_keyring import MemoryKeyring


def test_add_a_server_with_consent_and_remove_it(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    servers = ServerList(tmp_path / "servers.json", Keychain())
    panel = ServersPanel(RemoteModels(servers), lambda: NetworkPolicy(False), lambda: False)
    qtbot.addWidget(panel)
    assert "No servers yet" in panel.message.text()
    dialog = panel.open_add()
    dialog.name.setText("lan")
    dialog.url.setText("http://192.168.1.9:8080/v1")
    assert dialog.understand.isVisibleTo(dialog)  # plain http to another computer
    assert not dialog.submit()
    assert dialog.error.text() == (
        "Tick “I understand” to reach this server over plain http, or use https."
    )
    dialog.understand.setChecked(True)
    dialog.key.setText("sk-secret")
    with qtbot.waitSignal(panel.models_changed):
        assert dialog.submit()
    [lan] = servers.servers()
    assert lan.allow_http and servers.api_key(lan) == "sk-secret"
    assert "sk-secret" not in (tmp_path / "servers.json").read_text(encoding="utf-8")
    assert panel.message.text() == NETWORK_OFF and not panel.is_fetching()  # nothing asked
    top = panel.tree.topLevelItem(0)
    assert top is not None and top.text(0) == "lan — http://192.168.1.9:8080/v1, plain http allowed"
    panel.tree.setCurrentItem(top)
    again = panel.open_edit()
    assert again is not None and again.name.isReadOnly() and again.understand.isChecked()
    again.url.setText("https://lab.example/v1")
    assert not again.understand.isVisibleTo(again) and again.submit()
    assert servers.api_key(servers.servers()[0]) == "sk-secret"  # a blank key keeps the old one
    panel.tree.setCurrentItem(panel.tree.topLevelItem(0))
    assert panel.remove_selected()
    assert (
        servers.servers() == []
        and memory_keyring.get_password("Hearth", key_account("lan")) is None
    )


def test_a_bad_address_is_said_and_nothing_is_saved(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    servers = ServerList(tmp_path / "servers.json", Keychain())
    panel = ServersPanel(RemoteModels(servers), lambda: NetworkPolicy(False), lambda: False)
    qtbot.addWidget(panel)
    dialog = panel.open_add()
    dialog.name.setText("lab")
    dialog.url.setText("ftp://lab.example")
    assert not dialog.submit()
    assert dialog.error.text() == (
        '"ftp://lab.example" is not a server address; give one like https://host:8080/v1.'
    )
    assert servers.servers() == []
