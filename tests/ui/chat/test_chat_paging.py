"""A long stored conversation in the real window: it opens with only its newest page read,
scrolling up reads older pages without moving the rows on screen, a search hit far above
is read and shown, and the context meter counts messages that were never read."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from desktop.chat.request import build_request
from desktop.chat.session import PAGE_SIZE, MessageItem
from desktop.core.prompting import plan_context
from desktop.core.types import ChatMessage
from desktop.storage.conversations import ConversationStore
from desktop.ui.chat.view import ChatView
from desktop.ui.conversations.search import SearchDialog
from tests.ui.fakes import ChatApp

MESSAGES = 600


def long_chat(store: ConversationStore, messages: int = MESSAGES) -> int:
    conversation = store.create_conversation("A long chat").id
    with store.db.transaction():
        for n in range(messages):
            if n % 2 == 0:
                store.add_message(conversation, "user", f"Question {n}: what about item {n}?")
            else:
                reply = f"Answer {n}.\n\n- first point\n- second point\n\n`code {n}`\n"
                store.add_message(conversation, "assistant", reply * (1 + n % 3))
    return conversation


def top_row(view: ChatView) -> tuple[int, int]:
    """(position, y on screen) of the first message row whose top is on screen."""
    for bubble in view.bubbles:
        y = bubble.mapTo(view.viewport(), QPoint(0, 0)).y()
        if y >= 0:
            return bubble.index, y
    raise AssertionError("no row on screen")


def test_scrolling_up_reads_older_pages_and_the_rows_on_screen_stay_put(
    stored_app: ChatApp, store: ConversationStore, qtbot: QtBot
) -> None:
    conversation = long_chat(store)
    controller, window = stored_app.controller, stored_app.window
    assert controller.open_conversation(conversation)
    view = window.chat_view
    assert len(view.messages()) == PAGE_SIZE and view.bubbles[-1].index == MESSAGES - 1
    # Between the view's request and the page it gets: where the rows on screen are.
    window.older_requested.disconnect(controller.load_older)
    moves: list[tuple[tuple[int, int], tuple[int, int], int]] = []

    def load_older() -> None:
        before, count = top_row(view), len(view.messages())
        controller.load_older()
        moves.append((before, top_row(view), len(view.messages()) - count))

    window.older_requested.connect(load_older)
    view.setFocus()
    for _ in range(300):
        qtbot.keyClick(view, Qt.Key.Key_PageUp)
        qtbot.wait(1)  # the older page is asked for after the layout pass
        if len(view.messages()) == MESSAGES:
            break
    assert [added for _, _, added in moves] == [PAGE_SIZE, PAGE_SIZE, PAGE_SIZE]
    for before, after, _added in moves:
        assert after == before  # the same message, at the same height on screen
    assert view.messages() == [(m.role, m.content) for m in store.branch(conversation)]
    assert len(view.bubbles) <= 30  # still only the rows near the screen
    qtbot.keyClick(view, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: view.bubble_at(0) is not None, timeout=2000)


def test_a_search_hit_in_a_page_not_read_yet_is_read_shown_and_highlighted(
    stored_app: ChatApp, store: ConversationStore, qtbot: QtBot
) -> None:
    conversation = long_chat(store)
    target = store.branch(conversation)[40]
    store.update_message_content(target.id, "Question 40: where do wombats sleep?")
    assert stored_app.controller.open_conversation(conversation)
    view = stored_app.window.chat_view
    assert view.bubble_at(40) is None and len(view.messages()) == PAGE_SIZE

    window = stored_app.window
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window.composer, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    dialog = window.search_dialog
    assert isinstance(dialog, SearchDialog)
    qtbot.keyClicks(dialog.query_edit, "wombats")
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=2000)
    with qtbot.waitSignal(stored_app.controller.message_focus_requested) as focus:
        qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Return)
    assert focus.args == [40]
    bubble = view.bubble_at(40)
    assert bubble is not None and bubble.property("highlighted") is True
    assert bubble.text == "Question 40: where do wombats sleep?"
    y = bubble.mapTo(view.viewport(), QPoint(0, 0)).y()
    assert 0 <= y < view.viewport().height()
    assert view.messages()[-1] == ("assistant", store.branch(conversation)[-1].content)


def test_the_meter_counts_left_out_messages_that_were_never_read(
    stored_app: ChatApp, store: ConversationStore, qtbot: QtBot
) -> None:
    stored_app.factory.n_ctx = 2000
    stored_app.load()
    conversation = long_chat(store)
    assert stored_app.controller.open_conversation(conversation)
    view = stored_app.window.chat_view
    qtbot.waitUntil(lambda: view.left_out > 0, timeout=3000)  # measured by the worker

    whole = [MessageItem.from_stored(m, i) for i, m in enumerate(store.branch(conversation))]
    request = build_request(whole, None, "You are a test.", "…")
    counter = stored_app.factory.last.count_prompt_tokens
    plan = plan_context(request.messages, 2000, stored_app.controller.params.max_tokens, counter)
    expected = request.left_out_items(plan.omitted)
    assert MESSAGES - PAGE_SIZE < expected < MESSAGES  # some of the page read is left out
    assert view.left_out == expected
    assert f"{expected} earlier left out" in stored_app.window.context_meter.text()
    assert view.is_left_out(expected - 1) and not view.is_left_out(expected)
    view.setFocus()
    for _ in range(200):  # up past the first page read: its rows come greyed
        qtbot.keyClick(view, Qt.Key.Key_PageUp)
        qtbot.wait(1)
        if view.bubble_at(MESSAGES - PAGE_SIZE - 5) is not None:
            break
    assert view.is_left_out(MESSAGES - PAGE_SIZE - 5)


def test_regenerate_and_versions_on_an_older_page_send_and_keep_the_history_above(
    stored_app: ChatApp, store: ConversationStore, qtbot: QtBot
) -> None:
    stored_app.load()
    conversation = long_chat(store)
    controller, view = stored_app.controller, stored_app.window.chat_view
    assert controller.open_conversation(conversation)
    controller.load_older()  # positions 300..599 read; 0..299 not
    view.focus_message(301)
    bubble = view.bubble_at(301)
    assert bubble is not None and bubble.role == "assistant"
    stored_app.factory.tokens = ["A ", "new ", "answer."]
    with qtbot.waitSignal(controller.generation_ended, timeout=5000):
        qtbot.mouseClick(bubble.buttons["regenerate"], Qt.MouseButton.LeftButton)

    branch = store.branch(conversation)
    sent = stored_app.factory.requests[-1]
    assert sent[1:] == [ChatMessage(m.role, m.content) for m in branch[:301]]  # all above
    assert len(branch) == 302 and branch[-1].content == "A new answer."
    assert [b.index for b in view.bubbles][-2:] == [300, 301]
    newest = view.bubble_at(301)
    assert newest is not None and newest.version_label.text() == "2/2"

    qtbot.mouseClick(newest.buttons["previous"], Qt.MouseButton.LeftButton)
    assert view.messages()[-1] == ("assistant", store.branch(conversation)[-1].content)
    assert len(store.branch(conversation)) == MESSAGES
    first = view.bubble_at(301)
    assert first is not None and first.version_label.text() == "1/2"
