"""A model on the user's own server, in the real window: llama_cpp.server on 127.0.0.1, the
real inference thread, controller and window, the real encrypted store and contact log."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.app import make_engine_factory
from desktop.chat.profiles import make_profiles
from desktop.chat.remote_models import RemoteModels
from desktop.cli.servers import engine_by_name, server_list
from desktop.core.network import LiveNetworkPolicy
from desktop.core.servers import RemoteServer, remote_key
from desktop.core.types import GenerationParams
from desktop.paths import AppPaths
from desktop.storage.contacts import ContactLog
from desktop.storage.conversations import ConversationStore
from desktop.storage.export import export_html, export_markdown
from desktop.storage.preferences import Preferences
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.worker import InferenceThread
from desktop.ui.models.servers import ServersPanel
from desktop.ui.shell.app_window import build_main_window
from desktop.ui.shell.main_window import MainWindow
from desktop.ui.shell.servers import WindowServers
from tests.integration.llama_server import KEY, free_port, start_server
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.slow
KEY_HERE = remote_key("here", "smollm")


@dataclass
class Window:
    controller: ChatController
    window: MainWindow
    servers: WindowServers
    paths: AppPaths

    def network(self, allowed: bool) -> None:
        Preferences(network_allowed=allowed).save(self.paths.config_dir)


@pytest.fixture
def remote_window(
    qtbot: QtBot,
    tmp_path: Path,
    served: RemoteServer,
    store: ConversationStore,
    memory_keyring: MemoryKeyring,
) -> Iterator[Window]:
    paths = AppPaths.resolve(tmp_path / "data").ensure()
    server_list(paths).add(served, KEY)  # the key goes to the (test) keychain
    factory, describer = make_engine_factory(remote=engine_by_name(paths))
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    profiles = make_profiles(paths)
    profiles.remote = RemoteModels(server_list(paths))
    controller = ChatController(
        inference, params=GenerationParams(max_tokens=48), store=store, profiles=profiles
    )
    window = build_main_window(controller)
    qtbot.addWidget(window)
    servers = WindowServers(
        window,
        controller,
        profiles.remote,
        lambda: LiveNetworkPolicy(lambda: Preferences.load(paths.config_dir).network),
        lambda: Preferences.load(paths.config_dir).network_allowed,
    )
    window.show()
    yield Window(controller, window, servers, paths)
    controller.stop()
    controller.close()
    assert inference.stop()
    assert inference.qthread.wait(5000)


def test_nothing_is_contacted_from_the_window_with_the_network_off(
    qtbot: QtBot, remote_window: Window, served: RemoteServer
) -> None:
    port = int(served.base_url.split(":")[2].split("/")[0])
    contacted: list[object] = []

    def audit(event: str, args: tuple[object, ...]) -> None:
        if event == "socket.connect" and isinstance(args[1], tuple) and port in args[1]:
            contacted.append(args[1])

    sys.addaudithook(audit)
    controller, window, servers = (
        remote_window.controller,
        remote_window.window,
        remote_window.servers,
    )
    assert not servers.fetch_models()  # the switch is off: not even the list of models
    with qtbot.waitSignal(controller.error_occurred, timeout=10_000) as said:
        controller.choose_model(KEY_HERE)
    assert "needs the network, which is turned off in Privacy" in said.args[0]
    assert window.header.remote_badge.isVisibleTo(window)  # the chat would go there
    assert contacted == []


def test_a_chat_with_a_server_model_streams_stops_and_is_logged(
    qtbot: QtBot, remote_window: Window, store: ConversationStore
) -> None:
    controller, window, servers = (
        remote_window.controller,
        remote_window.window,
        remote_window.servers,
    )
    remote_window.network(True)
    assert servers.fetch_models()
    qtbot.waitUntil(lambda: not servers.is_fetching(), timeout=20_000)
    picker = window.header.model_picker
    keys = picker.keys()
    assert KEY_HERE in keys
    assert picker.itemText(picker.findData(KEY_HERE)) == "smollm · on server here"
    with qtbot.waitSignal(controller.model_ready_changed, timeout=20_000):
        picker.choose(KEY_HERE)
    assert window.header.remote_badge.text() == "On server here"
    assert window.composer.placeholderText() == "Ask anything — sent to your server here"
    with qtbot.waitSignal(controller.generation_ended, timeout=60_000) as ended:
        qtbot.keyClicks(window.composer, "What is the capital of France?")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    assert ended.args[0] is not None and ended.args[0].generated_tokens > 2
    answer = [text for role, text in window.chat_view.messages() if role == "assistant"][-1]
    assert "Paris" in answer

    controller.params = GenerationParams(max_tokens=1000)
    with qtbot.waitSignal(controller.assistant_text_changed, timeout=30_000):
        qtbot.keyClicks(window.composer, "Write a very long story about a lighthouse keeper.")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    with qtbot.waitSignal(controller.generation_ended, timeout=5000) as stopped:
        pressed = time.monotonic()
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    assert stopped.args[0].cancelled and time.monotonic() - pressed < 1.0

    conversation = store.get_conversation(controller.conversation_id or 0)
    assert conversation is not None and conversation.model_path == KEY_HERE
    chats = [c for c in ContactLog(store.db).recent(host="127.0.0.1") if c.purpose == "chat"]
    assert [c.detail for c in chats] == [conversation.title] * 2
    section = servers.privacy_section()
    assert any(conversation.title in line for line in section.lines["here"])
    assert "smollm on your server here" in export_markdown(store, [conversation.id])
    assert "smollm on your server here" in export_html(store, [conversation.id])


def test_the_models_page_section_lists_and_uses_a_server_model(
    qtbot: QtBot, remote_window: Window
) -> None:
    remote_window.network(True)
    remote = remote_window.controller.profiles.remote  # type: ignore[union-attr]
    panel = ServersPanel(
        remote, lambda: LiveNetworkPolicy(lambda: Preferences(True).network), lambda: True
    )
    qtbot.addWidget(panel)
    assert panel.refresh_models()
    qtbot.waitUntil(lambda: not panel.is_fetching(), timeout=20_000)
    [top] = [panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())]
    assert top.child(0).text(0) == "smollm"
    panel.tree.setCurrentItem(top.child(0))
    with qtbot.waitSignal(panel.use_requested) as used:
        qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    assert used.args == [KEY_HERE]


def test_a_server_killed_mid_reply_keeps_the_text_and_says_so(
    qtbot: QtBot, remote_window: Window, embedded_model: Path
) -> None:
    port = free_port()
    process = start_server(embedded_model, port)
    try:
        doomed = RemoteServer("doomed", f"http://127.0.0.1:{port}/v1")
        server_list(remote_window.paths).add(doomed, KEY)
        remote_window.network(True)
        controller, window = remote_window.controller, remote_window.window
        with qtbot.waitSignal(controller.model_ready_changed, timeout=20_000):
            controller.choose_model(remote_key("doomed", "smollm"))
        controller.params = GenerationParams(max_tokens=1000)
        with qtbot.waitSignal(controller.assistant_text_changed, timeout=30_000):
            controller.send("Write a very long story about a lighthouse keeper.")
        with qtbot.waitSignal(controller.error_occurred, timeout=10_000) as said:
            process.kill()
        assert "broke off in the middle of the reply" in said.args[0]
        qtbot.waitUntil(lambda: not controller.busy, timeout=5000)
        answer = [text for role, text in window.chat_view.messages() if role == "assistant"][-1]
        assert answer.strip()  # the text so far is kept
    finally:
        process.kill()
        process.wait()


def test_each_reply_keeps_where_it_ran(
    qtbot: QtBot, remote_window: Window, store: ConversationStore
) -> None:
    """A chat that used the server, then a model on this computer: the server's reply keeps
    its mark (bubble, header, export); the local one has none."""
    remote_window.network(True)
    controller, window = remote_window.controller, remote_window.window
    badge = window.header.remote_badge
    controller.choose_model(KEY_HERE)
    qtbot.waitUntil(lambda: controller.model_ready, timeout=20_000)
    with qtbot.waitSignal(controller.generation_ended, timeout=60_000):
        controller.send("What is the capital of France?")
    assert controller.profiles is not None
    local = next(k for k, _ in controller.profiles.model_choices() if not k.startswith("server:"))
    controller.choose_model(local)
    qtbot.waitUntil(
        lambda: controller.model_ready and controller.model_key == local, timeout=20_000
    )
    assert badge.isVisibleTo(window) and badge.text() == "On server here"  # still said
    assert window.composer.placeholderText() != "Ask anything — sent to your server here"
    with qtbot.waitSignal(controller.generation_ended, timeout=60_000):
        controller.send("And of Italy?")
    assert badge.text() == "Partly on server here"
    assert "Others ran on this computer." in badge.toolTip()
    replies = [b for b in window.chat_view.bubbles if b.role == "assistant"]
    assert [b.ran_on_label.isVisibleTo(window) for b in replies] == [True, False]
    assert replies[0].ran_on_label.text() == "· smollm on server here"
    assert replies[1].time_label.toolTip().endswith("on this computer")
    chat = controller.conversation_id
    assert chat is not None
    markdown = export_markdown(store, [chat])
    assert markdown.count("## Assistant (smollm on your server here)") == 1
    assert store.reply_places(chat) == (["here"], True)
    controller.clear_conversation()  # a new chat on the local model: no mark
    assert not badge.isVisibleTo(window)
    assert controller.open_conversation(chat)  # reopened: the mark is back
    assert badge.text() == "Partly on server here"
