"""When each message was written (on hover, on focus, for screen readers), and Tab through
the messages in screen order, scrolling each one it reaches into sight."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.chat.session import MessageItem
from desktop.ui.chat.message_row import MessageRow
from desktop.ui.chat.timestamps import long_when, short_when
from tests.ui.chat.test_chat_view import conversation, make_view
from tests.ui.chat.test_chat_window import ask
from tests.ui.fakes import ChatApp
from tests.ui.shell.test_accessibility import focus_chain

NOW = datetime(2026, 12, 1, 13, 5, tzinfo=UTC)


def test_the_time_is_short_today_and_dated_otherwise() -> None:
    today = NOW - timedelta(minutes=3)
    assert short_when(today, NOW).count(":") == 1 and len(short_when(today, NOW)) <= 8
    assert long_when(today, NOW).startswith("today at ")
    earlier = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)
    assert "Nov" in short_when(earlier, NOW) and "2026" not in short_when(earlier, NOW)
    assert long_when(earlier, NOW).startswith("on ") and "2026" in long_when(earlier, NOW)
    last_year = datetime(2025, 6, 30, 9, 15, tzinfo=UTC)
    assert "2025" in short_when(last_year, NOW)
    assert long_when(NOW - timedelta(days=1), NOW).startswith("yesterday at ")


def hover(row: QWidget, inside: bool) -> None:
    if inside:
        point = QPointF(5, 5)
        QApplication.sendEvent(row, QEnterEvent(point, point, row.mapToGlobal(point)))
    else:
        row.leaveEvent(QEnterEvent(QPointF(), QPointF(), QPointF()))


def test_a_message_shows_when_it_was_written_on_hover_and_says_it_to_screen_readers(
    qtbot: QtBot,
) -> None:
    sent = datetime.now(UTC) - timedelta(minutes=2)
    old = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
    view = make_view(
        qtbot,
        [
            MessageItem(1, "user", "Hello?", created_at=old),
            MessageItem(2, "assistant", "Hi.", created_at=sent),
        ],
    )
    question, answer = view.bubble_at(0), view.bubble_at(1)
    assert question is not None and answer is not None
    assert "2025" in question.time_label.text()
    assert answer.time_label.text() == short_when(sent) and "2025" not in answer.time_label.text()
    assert question.label.accessibleDescription() == f"Sent {long_when(old)}"
    assert answer.label.accessibleDescription() == f"Answered {long_when(sent)}"
    assert answer.time_label.toolTip() == answer.label.accessibleDescription()
    row = answer.parentWidget()
    assert isinstance(row, MessageRow)
    assert not answer.time_label.isVisible()
    hover(row, True)
    assert answer.time_label.isVisible() and not question.time_label.isVisible()
    hover(row, False)
    assert not answer.time_label.isVisible()


def test_messages_of_the_window_carry_their_stored_time(stored_app: ChatApp) -> None:
    stored_app.load()
    ask(stored_app, "What time is it?")
    items = stored_app.controller.items
    assert [item.created_at is not None for item in items] == [True, True]
    bubble = stored_app.window.chat_view.bubble_at(0)
    assert bubble is not None
    assert bubble.label.accessibleDescription().startswith("Sent today at ")


def reachable(stops: list[QWidget]) -> list[QWidget]:
    return [stop for stop in stops if stop.isVisible() and stop.isEnabled()]


def test_tab_goes_through_the_messages_in_screen_order_between_header_and_composer(
    chat_app: ChatApp, qtbot: QtBot
) -> None:
    window = chat_app.window
    window.show_messages(conversation(40))
    view = window.chat_view
    chain = focus_chain(window, window.menu_button)
    start, end = chain.index(view), chain.index(window.composer)
    inside = chain[start + 1 : end]
    assert inside == reachable(view.tab_stops()) and len(inside) >= 6
    rows = [stop.parentWidget() for stop in inside]
    while not all(isinstance(row, MessageRow) for row in rows):
        rows = [row if isinstance(row, MessageRow) else row.parentWidget() for row in rows]
    tops = [row.y() for row in rows]
    assert tops == sorted(tops)  # screen order, top to bottom
    assert all(row.y() > -view.viewport().height() * 3 for row in rows)  # none parked

    # Scrolling away parks rows for reuse: they leave the Tab order.
    qtbot.keyClick(view, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    chain = focus_chain(window, window.menu_button)
    inside = chain[chain.index(view) + 1 : chain.index(window.composer)]
    assert inside == reachable(view.tab_stops())
    assert view.bubble_at(39) is None


def test_shift_tab_from_the_composer_reaches_the_last_reply_in_sight(
    chat_app: ChatApp, qtbot: QtBot
) -> None:
    window = chat_app.window
    window.show_messages([replace(item, created_at=NOW) for item in conversation(40)])
    view = window.chat_view
    with qtbot.waitActive(window):
        window.activateWindow()
    window.composer.setFocus()
    qtbot.keyClick(window.composer, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    last = view.bubble_at(39)
    assert last is not None
    assert QApplication.focusWidget() is last.buttons["regenerate"]
    assert last.time_label.isVisible()  # the focus shows the time, as hover does
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.composer

    # Tab from the view's own stop goes to the first message made, scrolled into sight.
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    first = reachable(view.tab_stops())[0]
    assert first.mapTo(view.viewport(), first.rect().topLeft()).y() < 0  # above the screen
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert focused is first
    top = focused.mapTo(view.viewport(), focused.rect().topLeft()).y()
    assert 0 <= top < view.viewport().height()


def test_a_new_chat_tabs_through_its_examples_between_the_header_and_the_composer(
    stored_app: ChatApp,
) -> None:
    window = stored_app.window
    stored_app.load()
    window.welcome.set_builtin(True)
    chain = focus_chain(window, window.menu_button)
    examples = [*window.welcome.examples, window.welcome.models_button]
    assert chain[chain.index(window.chat_view) + 1 : chain.index(window.composer)] == examples
