"""The chat view with long conversations: only the rows near the screen exist, it opens at
the end, scrolling keeps the row on top in place, and streaming renders block by block."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.chat.markdown import MarkdownRenderer, StreamingMarkdown, finished_length
from desktop.chat.session import MessageItem
from desktop.ui.chat.view import ChatView

REPLY = (
    "Here is one way:\n\n- open the file\n- parse it\n\n```python\nimport json\n"
    "print(json.load(open('a.json')))\n```\n\n| step | call |\n|---|---|\n| parse | `load` |\n"
)


def conversation(n: int) -> list[MessageItem]:
    return [
        MessageItem(i, "user", f"Question {i // 2}?")
        if i % 2 == 0
        else MessageItem(i, "assistant", f"Answer {i // 2}. {REPLY}")
        for i in range(n)
    ]


def make_view(qtbot: QtBot, items: list[MessageItem]) -> ChatView:
    view = ChatView(MarkdownRenderer())
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_messages(items)
    return view


def test_a_long_conversation_opens_at_its_end_with_only_the_rows_near_the_screen(
    qtbot: QtBot,
) -> None:
    view = make_view(qtbot, conversation(2000))
    bar = view.verticalScrollBar()
    assert len(view.messages()) == 2000
    assert 0 < len(view.bubbles) <= 20
    assert view.bubbles[-1].index == 1999
    assert bar.value() == bar.maximum() and view.following

    qtbot.keyClick(view, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: view.bubble_at(0) is not None)
    assert bar.value() == 0 and not view.following
    assert view.bubble_at(1999) is None  # far rows are gone...
    assert 0 < len(view.bubbles) <= 20  # ...and the count stays bounded


def test_scrolling_up_keeps_the_top_row_in_place_when_heights_are_corrected(
    qtbot: QtBot,
) -> None:
    view = make_view(qtbot, conversation(400))
    bar = view.verticalScrollBar()
    for _ in range(6):
        bar.setValue(bar.value() - bar.pageStep())  # Page Up: new rows get measured
        qtbot.wait(5)
        top = min(view.bubbles, key=lambda b: abs(b.parentWidget().y()))
        y = top.parentWidget().y()
        view._deferred_layout()  # remeasure everything live: nothing may move
        assert top.parentWidget().y() == y


def test_focusing_a_far_message_creates_and_highlights_it(qtbot: QtBot) -> None:
    view = make_view(qtbot, conversation(1000))
    view.focus_message(10)
    bubble = view.bubble_at(10)
    assert bubble is not None and bubble.property("highlighted") is True
    row = bubble.parentWidget()
    assert 0 <= row.y() < view.viewport().height()


def test_the_left_out_note_follows_its_row_into_view(qtbot: QtBot) -> None:
    view = make_view(qtbot, conversation(600))
    view.set_left_out(300)
    assert view.is_left_out(299) and not view.is_left_out(300)
    assert not view.left_out_note.isVisible()  # its row is far above the screen
    view.focus_message(299)
    assert view.left_out_note.isVisible()
    assert "300 earlier messages" in view.left_out_note.text()


def test_streaming_into_a_long_conversation_follows_the_end(qtbot: QtBot) -> None:
    view = make_view(qtbot, conversation(500))
    view.append_message(MessageItem(500, "user", "One more?"))
    view.append_message(MessageItem(501, "assistant", "", "streaming"))
    text = ""
    for part in ["Sure.\n\n", "```python\n", "x = 1\n", "y = 2\n", "```\n\nDone."]:
        text += part
        view.set_streaming_text(text)
        qtbot.wait(60)
    qtbot.waitUntil(lambda: "Done." in view.bubbles[-1].text)
    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum()
    view.finish_message(MessageItem(501, "assistant", text))
    assert "Done." in view.bubbles[-1].label.text()
    assert len(view.bubbles) <= 20


class CountingRenderer(MarkdownRenderer):
    def __init__(self) -> None:
        super().__init__()
        self.rendered: list[str] = []
        self.highlighted: list[str] = []

    def render_uncached(self, text: str) -> str:
        self.rendered.append(text)
        return super().render_uncached(text)

    def highlight_code(self, code: str, language: str) -> str:
        self.highlighted.append(code)
        return super().highlight_code(code, language)


def test_finished_blocks_are_rendered_once_and_code_lines_highlighted_once() -> None:
    renderer = CountingRenderer()
    stream = StreamingMarkdown(renderer)
    text = "Intro.\n\n- a\n- b\n\n```python\n" + "".join(f"x{n} = {n}\n" for n in range(40))
    for end in range(1, len(text) + 1):
        blocks, tail = stream.update(text[:end])
    # "Intro.", the list, and the open fence's first 30 lines as a finished box
    assert len(blocks) == 3 and "x29" in blocks[2] and "x30" not in blocks[2]
    assert renderer.rendered.count("Intro.\n\n") == 1
    assert "x39" in tail and "x29" not in tail and "<table" in tail
    whole_lines = [code for code in renderer.highlighted if code.endswith("\n")]
    assert sum(code.count("\n") for code in whole_lines) == 40  # each line once

    blocks, tail = stream.update(text + "```\n\nDone.")
    assert len(blocks) == 3 and "Done." in tail  # the boxes became one code block
    assert "x0" in blocks[2] and "x39" in blocks[2]


def test_a_long_list_is_cut_between_items_so_the_open_block_stays_short() -> None:
    renderer = CountingRenderer()
    stream = StreamingMarkdown(renderer)
    text = "".join(f"{n}. item number {n}\n" for n in range(1, 101))
    for end in range(1, len(text) + 1):
        blocks, tail = stream.update(text[:end])
    assert len(blocks) >= 10
    assert max(len(t) for t in renderer.rendered) < 300  # never the whole list at once
    assert "item number 100" in tail


def test_block_boundaries_ignore_blank_lines_inside_code() -> None:
    text = "A\n\n```\ncode\n\nmore\n```\nB\n\nC"
    assert finished_length(text) == len("A\n\n```\ncode\n\nmore\n```\nB\n\n")
    assert finished_length("```\nopen\n\nstill open\n") == 0
    assert finished_length("no blank line yet") == 0
