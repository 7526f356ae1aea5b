"""`build_main_window`: creates the `MainWindow`, wired both ways to a `ChatController`.

The controller's events update the window; the window's requests (send, stop, new chat)
call the controller. With a store, the conversation list (`Sidebar`) is added and kept
in step with the open conversation, and Ctrl+K opens the search palette
(`SearchDialog`), whose chosen result opens its conversation at that message. The window
stays a passive view and the controller never touches a widget, so each can be tested
alone; this is the one place that knows both.

No signals of its own. Thread: GUI thread only.
"""

from __future__ import annotations

from desktop.chat.profiles import ChatProfile
from desktop.core.appearance import ThemeMode
from desktop.storage.conversations import ConversationStore
from desktop.ui.chat.controller import ChatController
from desktop.ui.common.theme import Theme
from desktop.ui.conversations.search import SearchDialog
from desktop.ui.conversations.sidebar import Sidebar
from desktop.ui.conversations.unsaved import UnsavedSidebar
from desktop.ui.shell.main_window import MainWindow

#: Why nothing is kept when the caller does not say.
NO_STORE = "This window was started without a place to keep conversations."


def build_main_window(
    controller: ChatController,
    not_saving: str | None = None,
    can_protect: bool = False,
    theme: Theme | None = None,
) -> MainWindow:
    """Create the window and connect it both ways to `controller` (GUI thread).

    With a store (`controller.store`), the window gets a sidebar. Without one, the sidebar
    and a header badge say that chats are not kept, and why (`not_saving`), for as long as
    it lasts; `can_protect` offers "Protect my conversations…" (`protect_requested`).
    With a `theme`, the window's menu chooses it and the messages follow its colours.
    """
    window = MainWindow()
    controller.branch_changed.connect(window.show_messages)
    controller.older_loaded.connect(window.prepend_messages)
    controller.message_appended.connect(window.append_message)
    controller.message_finished.connect(window.finish_message)
    controller.message_focus_requested.connect(window.focus_message)
    controller.assistant_text_changed.connect(window.set_assistant_text)
    controller.generation_started.connect(window.on_generation_started)
    controller.generation_ended.connect(window.on_generation_ended)
    controller.error_occurred.connect(window.show_error)
    controller.status_changed.connect(window.set_status)
    controller.busy_changed.connect(window.set_busy)
    controller.model_slot.changed.connect(window.show_model_state)
    controller.model_ready_changed.connect(window.on_model_ready_changed)
    controller.budget_changed.connect(window.set_budget)
    controller.left_out_changed.connect(window.set_left_out)
    window.draft_changed.connect(controller.set_draft)
    window.assistant_chosen.connect(controller.choose_assistant)
    window.model_chosen.connect(controller.choose_model)
    profiles = controller.profiles
    if profiles is not None:

        def show_choices(profile: ChatProfile | None) -> None:
            window.set_choices(
                profiles.assistant_choices(),
                None if profile is None else profile.assistant_id,
                profiles.model_choices(),
                None if profile is None else profile.model_key,
            )

        controller.profile_changed.connect(show_choices)
        if controller.profile is not None:  # else filled in by `start()`, after the window shows
            show_choices(controller.profile)

    def send(text: str) -> None:
        if controller.send(text):
            window.composer.clear()

    window.send_requested.connect(send)
    window.stop_requested.connect(controller.stop)
    window.new_chat_requested.connect(controller.clear_conversation)
    window.edit_requested.connect(controller.edit_message)
    window.regenerate_requested.connect(controller.regenerate)
    window.continue_requested.connect(lambda _index: controller.continue_reply())
    window.version_requested.connect(controller.switch_version)
    window.older_requested.connect(controller.load_older)

    if theme is not None:
        connect_theme(window, theme)
    window.set_busy(controller.busy)
    window.show_model_state(controller.model_state)
    window.show_messages(controller.items)
    if controller.store is not None:
        _add_sidebar(window, controller)
    else:  # nothing is saved, so there is nothing to search
        window.header.show_search(False)
        window.search_action.setEnabled(False)
        placeholder = UnsavedSidebar()
        placeholder.set_reason(not_saving or NO_STORE, can_protect)
        placeholder.protect_requested.connect(window.protect_requested)
        window.set_sidebar(placeholder)
        window.set_not_saving(not_saving or NO_STORE)
    return window


def keep_conversations(
    window: MainWindow, controller: ChatController, store: ConversationStore
) -> bool:
    """The store was opened after start-up: keep the chat shown in it and show the real sidebar.

    False (nothing changed) when the controller refuses (a reply is streaming) or a write fails.
    """
    if not controller.keep_conversations(store):
        return False
    window.set_not_saving(None)
    window.header.show_search(True)
    window.search_action.setEnabled(True)
    _add_sidebar(window, controller)
    return True


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
        controller.forget_states(conversation_id)
        if conversation_id == controller.conversation_id:
            controller.new_conversation()

    search = SearchDialog(store.search, window)
    window.search_dialog = search
    window.search_requested.connect(lambda: search.open_with())

    def open_result(conversation_id: int, message_id: int) -> None:
        if controller.open_conversation(conversation_id, message_id):
            sidebar.set_current(conversation_id)

    search.result_chosen.connect(open_result)
    sidebar.conversation_selected.connect(open_selected)
    sidebar.conversation_deleted.connect(on_deleted)
    sidebar.set_current(controller.conversation_id)


def connect_theme(window: MainWindow, theme: Theme) -> None:
    """The menu's theme and text size choices change `theme`; the messages follow it."""

    def show() -> None:
        window.apply_palette(theme.palette)
        window.menu.show_theme(theme.appearance.theme)

    window.menu.theme_chosen.connect(lambda value: theme.set_mode(ThemeMode(value)))
    window.menu.text_size_requested.connect(theme.step_text)
    theme.changed.connect(show)
    show()
