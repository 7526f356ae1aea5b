"""`build_main_window`: creates the `MainWindow` and wires it both ways to a `ChatController`.

The controller's events update the window; the window's requests (send, stop, new chat)
call the controller. With a store, the conversation list (`Sidebar`) is added and kept in
step with the open conversation. The window stays a passive view and the controller never touches a
widget, so each can be tested alone; this is the one place that knows both.

No signals of its own. Thread: GUI thread only.
"""

from __future__ import annotations

from desktop.ui.controller import ChatController
from desktop.ui.main_window import MainWindow
from desktop.ui.sidebar import Sidebar


def build_main_window(controller: ChatController) -> MainWindow:
    """Create the window and connect it both ways to `controller` (GUI thread).

    With a store (`controller.store`), the window gets a sidebar.
    """
    window = MainWindow()
    controller.message_restored.connect(window.restore_message)
    controller.message_appended.connect(window.append_message)
    controller.assistant_text_changed.connect(window.set_assistant_text)
    controller.generation_started.connect(window.on_generation_started)
    controller.generation_ended.connect(window.on_generation_ended)
    controller.error_occurred.connect(window.show_error)
    controller.status_changed.connect(window.set_status)
    controller.busy_changed.connect(window.set_busy)
    controller.model_changed.connect(window.set_model)
    controller.model_ready_changed.connect(window.on_model_ready_changed)
    controller.model_loading_changed.connect(window.set_loading)
    controller.load_progress_changed.connect(window.set_load_progress)
    controller.conversation_cleared.connect(window.clear_conversation)

    def send(text: str) -> None:
        if controller.send(text):
            window.composer.clear()

    window.send_requested.connect(send)
    window.stop_requested.connect(controller.stop)
    window.new_chat_requested.connect(controller.clear_conversation)

    window.set_busy(controller.busy)
    window.set_model(controller.model)
    window.set_loading(controller.model_loading)
    for message in controller.messages:
        window.append_message(message.role, message.content)
    if controller.store is not None:
        _add_sidebar(window, controller)
    return window


def _add_sidebar(window: MainWindow, controller: ChatController) -> None:
    store = controller.store
    assert store is not None
    sidebar = Sidebar(store)
    window.set_sidebar(sidebar)
    controller.conversation_changed.connect(sidebar.set_current)
    controller.conversations_changed.connect(sidebar.refresh)

    def open_selected(conversation_id: int) -> None:
        if not controller.open_conversation(conversation_id):
            sidebar.set_current(controller.conversation_id)  # undo the selection

    def on_deleted(conversation_id: int) -> None:
        if conversation_id == controller.conversation_id:
            controller.new_conversation()

    sidebar.conversation_selected.connect(open_selected)
    sidebar.conversation_deleted.connect(on_deleted)
    sidebar.set_current(controller.conversation_id)
