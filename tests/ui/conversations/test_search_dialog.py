"""The search palette (Ctrl+K) over a real SQLCipher store: typing, keys, clicks, errors, looks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.core.errors import DatabaseError
from desktop.storage.conversations import ConversationStore, SearchHit
from desktop.ui.conversations.search import (
    DEBOUNCE_MS,
    PLACEHOLDER,
    TYPE_TO_SEARCH,
    UNEXPECTED_FAILURE,
    SearchDialog,
    SearchResultsModel,
    snippet_document,
)

ROLE = SearchResultsModel


@dataclass
class CountingSearch:
    """Wraps a search function and records every query it was asked."""

    search: Callable[[str], Sequence[SearchHit]]
    queries: list[str] = field(default_factory=list)

    def __call__(self, query: str) -> Sequence[SearchHit]:
        self.queries.append(query)
        return self.search(query)


@dataclass
class Palette:
    dialog: SearchDialog
    search: CountingSearch
    ids: dict[str, tuple[int, int]]  # a word only that message contains -> (conversation, message)
    chosen: list[tuple[int, int]]
    qtbot: QtBot

    def type(self, text: str) -> None:
        self.qtbot.keyClicks(self.dialog.query_edit, text)

    def wait_for_status(self, status: str) -> None:
        self.qtbot.waitUntil(lambda: self.dialog.status_label.text() == status, timeout=2000)

    def row_ids(self, row: int) -> tuple[int, int]:
        index = self.dialog.model.index(row)
        return index.data(ROLE.ConversationIdRole), index.data(ROLE.MessageIdRole)


def fill(store: ConversationStore) -> dict[str, tuple[int, int]]:
    texts = {
        "Garden": [
            "Which vegetables grow in partial shade?",
            "Lettuce and kale; tomatoes need sun.",
        ],
        "Sauce": ["How do I make tomato sauce?", "Simmer tomatoes with garlic & olive oil."],
        "Trip": ["Plan a trip to Lisbon", "Day one: the Alfama, with <b>tiles</b> everywhere."],
    }
    ids: dict[str, tuple[int, int]] = {}
    for title, messages in texts.items():
        conversation = store.create_conversation(title)
        for number, text in enumerate(messages):
            role = "user" if number % 2 == 0 else "assistant"
            message = store.add_message(conversation.id, role, text)
            ids[text.split()[-1].strip("?.")] = (conversation.id, message.id)
    return ids


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    window = QWidget()
    window.resize(900, 640)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def make_palette(
    qtbot: QtBot, parent: QWidget, search: Callable[[str], Sequence[SearchHit]]
) -> Palette:
    counting = CountingSearch(search)
    dialog = SearchDialog(counting, parent)
    chosen: list[tuple[int, int]] = []
    dialog.result_chosen.connect(
        lambda conversation, message: chosen.append((conversation, message))
    )
    dialog.open_with()
    qtbot.waitExposed(dialog)
    return Palette(dialog, counting, {}, chosen, qtbot)


@pytest.fixture
def palette(qtbot: QtBot, parent: QWidget, store: ConversationStore) -> Iterator[Palette]:
    ids = fill(store)
    made = make_palette(qtbot, parent, store.search)
    made.ids = ids
    yield made
    made.dialog.close()


def test_opens_empty_with_a_placeholder_and_no_search(palette: Palette) -> None:
    dialog = palette.dialog
    assert dialog.query_edit.placeholderText() == PLACEHOLDER
    assert dialog.status_label.text() == TYPE_TO_SEARCH
    assert dialog.model.rowCount() == 0
    assert palette.search.queries == []
    assert QApplication.focusWidget() is dialog.query_edit


def test_typing_finds_a_message_by_prefix_with_the_hit_in_its_snippet(palette: Palette) -> None:
    palette.type("gar")
    palette.wait_for_status("1 result")
    index = palette.dialog.model.index(0)
    assert index.data() == "Sauce"
    assert "<b>garlic</b>" in index.data(ROLE.SnippetHtmlRole)
    assert "garlic" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert "<b>" not in index.data(Qt.ItemDataRole.ToolTipRole)
    assert palette.row_ids(0) == palette.ids["oil"]
    assert palette.dialog.results_view.currentIndex().row() == 0


def test_typing_quickly_runs_one_search_after_the_pause(palette: Palette) -> None:
    palette.type("tomatoes")  # eight keystrokes, well within the debounce interval
    assert palette.search.queries == []
    palette.wait_for_status("2 results")
    palette.qtbot.wait(DEBOUNCE_MS * 2)
    assert palette.search.queries == ["tomatoes"]


def test_arrow_keys_move_the_selection_from_the_query_line_and_enter_chooses(
    palette: Palette,
) -> None:
    dialog, qtbot = palette.dialog, palette.qtbot
    palette.type("tomat")  # "tomato" once, "tomatoes" twice
    palette.wait_for_status("3 results")
    view = dialog.results_view
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Down)
    assert view.currentIndex().row() == 2
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Up)
    assert view.currentIndex().row() == 1
    assert dialog.focusWidget() is dialog.query_edit  # typing goes on in the query line
    expected = palette.row_ids(1)
    with qtbot.waitSignal(dialog.result_chosen) as signal:
        qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Return)
    assert tuple(signal.args) == expected
    assert palette.chosen == [expected]
    assert not dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_enter_right_after_typing_opens_the_best_hit(palette: Palette) -> None:
    palette.type("lisb")
    palette.qtbot.keyClick(palette.dialog.query_edit, Qt.Key.Key_Enter)
    assert palette.chosen == [palette.ids["Lisbon"]]
    assert palette.search.queries == ["lisb"]
    assert not palette.dialog.isVisible()


def test_a_click_chooses_that_result_once(palette: Palette) -> None:
    palette.type("tomat")
    palette.wait_for_status("3 results")
    view = palette.dialog.results_view
    second = view.visualRect(palette.dialog.model.index(1)).center()
    expected = palette.row_ids(1)
    palette.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=second)
    assert palette.chosen == [expected]
    assert not palette.dialog.isVisible()


def test_a_double_click_chooses_once(palette: Palette) -> None:
    palette.type("lisbon")
    palette.wait_for_status("1 result")
    view = palette.dialog.results_view
    first = view.visualRect(palette.dialog.model.index(0)).center()
    # What a double-click delivers: press, release, double-click, release.
    palette.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=first)
    palette.qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=first)
    assert palette.chosen == [palette.ids["Lisbon"]]


def test_escape_closes_without_choosing(palette: Palette) -> None:
    palette.type("kale")
    palette.wait_for_status("1 result")
    palette.qtbot.keyClick(palette.dialog.query_edit, Qt.Key.Key_Escape)
    assert not palette.dialog.isVisible()
    assert palette.dialog.result() == QDialog.DialogCode.Rejected
    assert palette.chosen == []


def test_no_match_says_so_and_clearing_the_query_empties_the_list(palette: Palette) -> None:
    palette.type("zebra")
    palette.wait_for_status("No conversation contains “zebra”")
    assert palette.dialog.model.rowCount() == 0
    palette.qtbot.keyClick(palette.dialog.query_edit, Qt.Key.Key_Return)
    assert palette.chosen == [] and palette.dialog.isVisible()
    palette.type("  ")
    palette.dialog.query_edit.clear()
    assert palette.dialog.status_label.text() == TYPE_TO_SEARCH


def test_reopening_keeps_the_query_selected_and_searches_again(
    palette: Palette, store: ConversationStore
) -> None:
    dialog = palette.dialog
    dialog.open_with("alfa")
    assert dialog.query_edit.selectedText() == "alfa"
    assert dialog.status_label.text() == "1 result"
    dialog.reject()
    conversation = store.create_conversation("More")
    store.add_message(conversation.id, "user", "Alfama at night")
    dialog.open_with()
    palette.qtbot.waitExposed(dialog)
    assert dialog.query_edit.selectedText() == "alfa"
    assert dialog.status_label.text() == "2 results"
    assert dialog.focusWidget() is dialog.query_edit
    palette.qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.query_edit)


def test_a_database_error_is_shown_in_the_status_line(qtbot: QtBot, parent: QWidget) -> None:
    message = "The conversation database is locked by another program."

    def failing(query: str) -> list[SearchHit]:
        raise DatabaseError(message)

    made = make_palette(qtbot, parent, failing)
    made.type("x")
    made.wait_for_status(message)
    assert made.dialog.status_label.property("error") is True
    assert made.dialog.isVisible() and made.dialog.model.rowCount() == 0
    made.type("y")  # it keeps working
    qtbot.waitUntil(lambda: made.search.queries == ["x", "xy"])
    made.dialog.close()


def test_an_unexpected_error_is_reported_not_hidden(qtbot: QtBot, parent: QWidget) -> None:
    def broken(query: str) -> list[SearchHit]:
        raise RuntimeError("a bug")

    made = make_palette(qtbot, parent, broken)
    with qtbot.captureExceptions() as exceptions:
        made.type("x")
        made.wait_for_status(UNEXPECTED_FAILURE)
    assert [type(error) for _, error, _ in exceptions] == [RuntimeError]
    made.dialog.close()


def test_the_palette_is_centred_over_its_parent(palette: Palette, parent: QWidget) -> None:
    dialog = palette.dialog
    assert dialog.size() == QSize(640, 420)
    offset = dialog.frameGeometry().center() - parent.frameGeometry().center()
    assert abs(offset.x()) <= 2 and abs(offset.y()) <= 2


def test_switching_to_another_window_closes_it(palette: Palette, qtbot: QtBot) -> None:
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not palette.dialog.isVisible(), timeout=2000)
    assert palette.chosen == []


def test_model_passes_the_model_tester(
    store: ConversationStore, qtmodeltester: ModelTester
) -> None:
    fill(store)
    model = SearchResultsModel()
    model.set_hits(store.search("t"))
    qtmodeltester.check(model)
    assert model.rowCount() == 5  # tomato(es) three times, trip/to, the/tiles
    model.set_hits([])
    assert model.rowCount() == 0 and model.hit(0) is None


def test_hits_are_painted_highlighted_and_tags_never_shown(palette: Palette) -> None:
    palette.type("tiles")
    palette.wait_for_status("1 result")
    assert palette.dialog.model.index(0).data(ROLE.SnippetHtmlRole).count("<b>") == 1
    image = palette.dialog.results_view.viewport().grab().toImage()
    mark = QColor("#fde68a")
    assert any(
        image.pixelColor(x, y) == mark
        for x in range(0, image.width(), 2)
        for y in range(0, min(image.height(), 80), 2)
    )
    document = snippet_document(
        palette.dialog.model.index(0).data(ROLE.SnippetHtmlRole), QFont(), 500, QPalette()
    )
    # The message's own "<b>tiles</b>" is text; only the hit is bold.
    assert "<b>tiles</b>" in document.toPlainText()


def test_a_long_snippet_is_cut_to_two_lines_with_an_ellipsis() -> None:
    long_html = "alpha beta <b>gamma</b> delta " * 30
    document = snippet_document(long_html, QFont(), 240, QPalette())
    lines = sum(
        document.findBlockByNumber(n).layout().lineCount() for n in range(document.blockCount())
    )
    assert lines == 2
    assert document.toPlainText().endswith("…")
    short = snippet_document("one <b>hit</b>", QFont(), 240, QPalette())
    assert short.toPlainText() == "one hit"


def test_the_palette_draws_nothing_in_its_corners_so_no_desktop_shows_them_black(
    palette: Palette,
) -> None:
    """Without a compositor a translucent window's transparent corners come out black:
    the palette is opaque and its corners are masked off instead."""
    dialog = palette.dialog
    assert not dialog.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
    mask = dialog.mask()
    rect = dialog.rect()
    for corner in (rect.topLeft(), rect.topRight(), rect.bottomLeft(), rect.bottomRight()):
        assert not mask.contains(corner)
    assert mask.contains(rect.center())
    assert mask.contains(QPoint(rect.center().x(), rect.top()))  # only the corners go
    assert mask.contains(QPoint(rect.left(), rect.center().y()))
