"""The streaming reply's text: it shows what the finished reply shows, changes only the
open block at each update, and lets the chat view scroll under the mouse wheel."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QTextDocument, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.chat.markdown import MarkdownRenderer, StreamingMarkdown
from desktop.chat.session import MessageItem
from desktop.ui.chat.streaming_body import StreamingBody
from desktop.ui.chat.view import ChatView

REPLY = (
    "## Reading CSV\n\nPython has a **csv** module:\n\n- open the file\n- make a reader\n\n"
    "| option | meaning |\n|---|---|\n| delimiter | the separator |\n\n"
    "```python\nimport csv\nwith open('a.csv') as f:\n    print(list(csv.reader(f)))\n```\n\n"
    "> keep files small\n\n1. first\n2. second\n\nThat is all; see [the docs](https://x.org).\n"
)


def plain(html: str) -> str:
    document = QTextDocument()
    document.setHtml(html)
    return document.toPlainText()


def stream(body: StreamingBody, text: str, step: int = 3) -> None:
    markdown = StreamingMarkdown(MarkdownRenderer())
    for end in [*range(step, len(text), step), len(text)]:
        blocks, tail = markdown.update(text[:end])
        body.show_blocks(blocks, tail)


def test_streamed_text_reads_like_the_finished_reply(qtbot: QtBot) -> None:
    body = StreamingBody()
    qtbot.addWidget(body)
    stream(body, REPLY)
    finished = plain(MarkdownRenderer().render(REPLY))
    assert body.toPlainText().split() == finished.split()
    # the paragraph after the numbered list is not taken into the list's last item
    last = body.document().lastBlock()
    assert last.text().startswith("That is all") and last.textList() is None


def test_an_update_changes_only_the_open_block(qtbot: QtBot) -> None:
    body = StreamingBody()
    qtbot.addWidget(body)
    text = "First paragraph, finished.\n\nSecond one, finished too.\n\nThe open one grows"
    markdown = StreamingMarkdown(MarkdownRenderer())
    body.show_blocks(*markdown.update(text))
    settled = body.toPlainText().index("The open one")
    changes: list[tuple[int, int, int]] = []
    body.document().contentsChange.connect(lambda *change: changes.append(change))
    for more in (" a", " little", " more."):
        text += more
        body.show_blocks(*markdown.update(text))
    assert changes and all(position >= settled for position, _, _ in changes)
    assert body.toPlainText().rstrip().endswith("The open one grows a little more.")


def test_the_body_is_as_tall_as_its_text(qtbot: QtBot) -> None:
    body = StreamingBody()
    qtbot.addWidget(body)
    stream(body, "word " * 40)
    short = body.heightForWidth(600)
    stream(body, "word " * 400)
    assert body.heightForWidth(600) > 3 * short > 0
    assert body.heightForWidth(200) > body.heightForWidth(600)


def test_the_wheel_over_a_streaming_reply_scrolls_the_chat(qtbot: QtBot) -> None:
    view = ChatView(MarkdownRenderer())
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    qtbot.waitExposed(view)
    view.set_messages([MessageItem(1, "user", "Tell me a lot.")])
    view.append_message(MessageItem(None, "assistant", "", "streaming"))
    view.set_streaming_text("A line of the reply.\n\n" * 60)
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > 0)
    body = view.bubbles[-1].findChild(StreamingBody)
    assert body is not None and body.isVisible()
    bar = view.verticalScrollBar()
    before = bar.value()
    centre = QPointF(body.rect().center())
    wheel = QWheelEvent(
        centre,
        QPointF(body.mapToGlobal(QPoint(10, 10))),
        QPoint(0, 0),
        QPoint(0, 120),  # up
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(body.viewport(), wheel)
    assert bar.value() < before


def test_the_text_sits_where_the_finished_message_will(qtbot: QtBot) -> None:
    """Text editors get a border and padding from the app's style sheet; the streaming
    reply has neither, so its text does not jump when the reply ends."""
    holder = QWidget()
    holder.setStyleSheet("QTextEdit { border: 3px solid red; padding: 10px 12px; }")
    body = StreamingBody(holder)
    qtbot.addWidget(holder)
    holder.resize(400, 200)
    body.resize(400, 200)
    holder.show()
    qtbot.waitExposed(holder)
    assert body.viewport().geometry().topLeft() == QPoint(0, 0)
    assert body.viewport().width() == body.width()


def test_each_frame_of_a_growing_reply_is_painted_once(qtbot: QtBot) -> None:
    """The body takes its new height in the frame that grew it, so a frame paints the
    reply once (not once at the old height and again after the layout catches up)."""
    view = ChatView(MarkdownRenderer())
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_messages([MessageItem(1, "user", "Tell me a lot.")])
    view.append_message(MessageItem(None, "assistant", "", "streaming"))
    view.set_streaming_text("The first line.")
    qtbot.waitUntil(lambda: view.bubbles[-1].findChild(StreamingBody) is not None)
    body = view.bubbles[-1].findChild(StreamingBody)
    assert body is not None
    paints: list[int] = []

    class PaintCounter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                paints.append(body.height())
            return False

    counter = PaintCounter()
    body.viewport().installEventFilter(counter)
    text = "The first line."
    for number in range(6):
        QApplication.processEvents()
        paints.clear()
        text += f"\n\nParagraph {number} of the reply, long enough to wrap onto a new line."
        view.set_streaming_text(text)
        qtbot.waitUntil(lambda: bool(paints))
        qtbot.wait(60)  # anything the frame left for later would paint now
        assert len(paints) == 1, f"frame {number} painted {len(paints)} times: {paints}"
        assert body.height() == body.heightForWidth(body.width())
    body.viewport().removeEventFilter(counter)
