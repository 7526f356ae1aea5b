"""The conversation list: order, lazy loading, the context-menu actions, and opening chats."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.storage.conversations import ConversationStore
from desktop.ui.conversations.sidebar import PAGE_SIZE, PIN_GLYPH, ConversationListModel, Sidebar
from desktop.ui.conversations.trash import TrashDialog
from tests.ui.chat.test_chat_window import ask
from tests.ui.fakes import ChatApp


def make_conversations(store: ConversationStore, count: int) -> list[int]:
    ids = []
    for number in range(count):
        conversation = store.create_conversation(title=f"Chat {number:03}")
        ids.append(conversation.id)
    return ids


def titles(model: ConversationListModel) -> list[str]:
    return [model.index(row).data() for row in range(model.rowCount())]


def sidebar_of(app: ChatApp) -> Sidebar:
    sidebar = app.window.sidebar
    assert isinstance(sidebar, Sidebar)
    return sidebar


def test_model_passes_the_model_tester(
    store: ConversationStore, qtmodeltester: ModelTester
) -> None:
    ids = make_conversations(store, 60)
    store.set_pinned(ids[3], True)
    model = ConversationListModel(store)
    qtmodeltester.check(model)
    assert model.rowCount() >= PAGE_SIZE  # the tester fetched pages
    # The tester stays connected and checks the signals of what follows.
    store.set_pinned(ids[10], True)
    model.refresh()
    model.fetchMore(QModelIndex())
    assert model.index(0).data(ConversationListModel.PinnedRole) is True


def test_newest_first_with_pinned_on_top_and_named_roles(store: ConversationStore) -> None:
    ids = make_conversations(store, 3)
    store.set_pinned(ids[0], True)
    model = ConversationListModel(store)
    model.fetchMore(QModelIndex())
    assert titles(model) == [f"{PIN_GLYPH} Chat 000", "Chat 002", "Chat 001"]
    first = model.index(0)
    assert first.data(ConversationListModel.IdRole) == ids[0]
    assert first.data(ConversationListModel.TitleRole) == "Chat 000"
    assert first.data(ConversationListModel.PinnedRole) is True
    assert first.data(ConversationListModel.UpdatedRole)
    assert model.index(1).data(ConversationListModel.PinnedRole) is False
    assert b"title" in model.roleNames().values()


def test_lazy_loading_fetches_pages_of_fifty(store: ConversationStore) -> None:
    make_conversations(store, 120)
    model = ConversationListModel(store)
    root = QModelIndex()
    assert model.rowCount() == 0 and model.canFetchMore(root)
    model.fetchMore(root)
    assert model.rowCount() == 50
    model.fetchMore(root)
    assert model.rowCount() == 100 and model.canFetchMore(root)
    model.fetchMore(root)
    assert model.rowCount() == 120 and not model.canFetchMore(root)
    assert titles(model)[0] == "Chat 119" and titles(model)[-1] == "Chat 000"


def test_scrolling_the_sidebar_loads_more(stored_app: ChatApp, store: ConversationStore) -> None:
    make_conversations(store, 120)
    sidebar = sidebar_of(stored_app)
    sidebar.refresh()
    assert sidebar.model.rowCount() == 50
    view = sidebar.list_view
    view.scrollToBottom()
    stored_app.qtbot.waitUntil(lambda: sidebar.model.rowCount() > 50, timeout=2000)


def test_sending_lists_the_new_chat_selected(stored_app: ChatApp, store: ConversationStore) -> None:
    make_conversations(store, 2)
    sidebar = sidebar_of(stored_app)
    sidebar.refresh()
    stored_app.load()
    ask(stored_app, "A brand new question")
    assert titles(sidebar.model)[0] == "A brand new question"
    assert sidebar.list_view.currentIndex().row() == 0


def test_clicking_a_conversation_opens_it(stored_app: ChatApp, store: ConversationStore) -> None:
    ids = make_conversations(store, 2)
    store.add_message(ids[0], "user", "Old question")
    store.add_message(ids[0], "assistant", "Old answer")
    sidebar = sidebar_of(stored_app)
    sidebar.refresh()
    row = sidebar.model.row_of(ids[0])
    assert row is not None
    rect = sidebar.list_view.visualRect(sidebar.model.index(row))
    stored_app.qtbot.mouseClick(
        sidebar.list_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
    )
    assert stored_app.controller.conversation_id == ids[0]
    assert stored_app.window.chat_view.messages() == [
        ("user", "Old question"),
        ("assistant", "Old answer"),
    ]
    assert store.last_opened_conversation_id() == ids[0]


def test_rename_and_pin(stored_app: ChatApp, store: ConversationStore) -> None:
    ids = make_conversations(store, 3)
    sidebar = sidebar_of(stored_app)
    sidebar.rename_conversation(ids[1], "  Holiday   plans ")
    assert store.get_conversation(ids[1]).title == "Holiday plans"  # type: ignore[union-attr]
    sidebar.set_pinned(ids[1], True)
    assert titles(sidebar.model)[0] == f"{PIN_GLYPH} Holiday plans"
    sidebar.set_pinned(ids[1], False)
    assert titles(sidebar.model)[0] == "Chat 002"


def test_delete_then_undo(stored_app: ChatApp, store: ConversationStore) -> None:
    stored_app.load()
    ask(stored_app, "Delete me")
    sidebar = sidebar_of(stored_app)
    deleted = stored_app.controller.conversation_id
    assert deleted is not None
    sidebar.delete_conversation(deleted)
    assert store.count_conversations() == 0
    assert sidebar.model.rowCount() == 0
    assert sidebar.undo_banner.isVisible()
    assert stored_app.controller.conversation_id is None  # the open chat was deleted
    assert stored_app.window.chat_view.messages() == []
    sidebar.undo_button.click()
    assert not sidebar.undo_banner.isVisible()
    assert titles(sidebar.model) == ["Delete me"]
    assert store.get_conversation(deleted).in_trash is False  # type: ignore[union-attr]


def test_undo_banner_goes_away_by_itself(stored_app: ChatApp, store: ConversationStore) -> None:
    [conversation_id] = make_conversations(store, 1)
    sidebar = sidebar_of(stored_app)
    sidebar._undo_timer.setInterval(50)
    sidebar.delete_conversation(conversation_id)
    assert sidebar.undo_banner.isVisible()
    stored_app.qtbot.waitUntil(lambda: not sidebar.undo_banner.isVisible(), timeout=2000)
    sidebar.undo_delete()  # too late: nothing to undo
    assert store.count_conversations() == 0


def test_trash_restores_chats_and_empties_only_after_confirmation(
    qtbot: QtBot, store: ConversationStore
) -> None:
    kept = store.create_conversation(title="Keep me")
    doomed = [store.create_conversation(title=f"Old chat {n}") for n in range(3)]
    back = store.create_conversation(title="Bring me back")
    for conversation in (*doomed, back):
        store.add_message(conversation.id, "user", f"secret words {conversation.id}")
        store.move_to_trash(conversation.id)
    answers: list[int] = []

    def refuse_then_accept(_parent: object, count: int) -> bool:
        answers.append(count)
        return len(answers) > 1

    dialog = TrashDialog(store, confirm=refuse_then_accept)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 4
    assert "4 deleted chats" in dialog.summary.text()
    assert not dialog.restore_button.isEnabled()

    [row] = [i for i in range(4) if dialog.list.item(i).text().startswith("Bring me back")]
    dialog.list.item(row).setSelected(True)
    with qtbot.waitSignal(dialog.restored) as restored:
        assert dialog.restore_selected() == 1
    assert restored.args == [back.id]
    assert {c.id for c in store.list_conversations()} == {kept.id, back.id}

    assert dialog.empty() == 0  # the user said Cancel: nothing is deleted
    assert store.count_conversations(include_deleted=True) == 5
    assert dialog.empty() == 3
    assert answers == [3, 3]
    assert store.count_conversations(include_deleted=True) == 2
    assert store.search("secret") and all(
        h.conversation_id == back.id for h in store.search("secret")
    )
    assert dialog.list.count() == 0 and dialog.summary.text() == "The trash is empty."
    assert not dialog.empty_button.isEnabled()


def test_the_sidebar_trash_button_opens_the_trash(qtbot: QtBot, store: ConversationStore) -> None:
    conversation = store.create_conversation(title="Gone")
    sidebar = Sidebar(store)
    qtbot.addWidget(sidebar)
    sidebar.delete_conversation(conversation.id)
    dialog = sidebar.open_trash()
    assert dialog.isVisible() and dialog.list.count() == 1
    dialog.list.item(0).setSelected(True)
    with qtbot.waitSignal(sidebar.conversation_restored):
        dialog.restore_selected()
    assert sidebar.model.rowCount() == 1
    dialog.close()
