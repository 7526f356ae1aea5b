"""One message on screen: its text, a note for replies that did not end normally, and
the actions under it.

User messages are plain text in a tinted bubble; assistant replies are Markdown
rendered to rich text. Under each message a row of small buttons: Copy for every
message; Edit for a question (it turns into an editor in place: Enter sends the new
version, Esc cancels); Regenerate for a reply; Continue for a reply that was
interrupted or stopped; and ‹ 2/3 › when the message has other versions.

Signals: action_requested(str name, int index) with name "regenerate" or "continue";
edit_submitted(int index, str text); version_requested(int index, int step);
copied(). Thread: GUI thread only.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.chat.cited import Cited
from desktop.chat.markdown import (
    SOURCE_SCHEME,
    MarkdownRenderer,
    StreamingMarkdown,
    cited_source,
    copied_code,
)
from desktop.chat.session import CONTINUABLE, MessageItem
from desktop.ui.chat.composer import Composer
from desktop.ui.chat.streaming_body import StreamingBody
from desktop.ui.chat.timestamps import long_when, short_when

_THINKING_HTML = "<i>Thinking…</i>"
_STOPPED_HTML = "<i>Stopped before any text.</i>"
#: The note under a stored reply that did not end normally, by its status.
STATUS_NOTES = {"incomplete": "(interrupted)", "cancelled": "(stopped)", "error": "(failed)"}


#: Text can be selected; links (a code block's Copy) can be followed with mouse and keyboard.
_TEXT_FLAGS = (
    Qt.TextInteractionFlag.TextSelectableByMouse
    | Qt.TextInteractionFlag.TextSelectableByKeyboard
    | Qt.TextInteractionFlag.LinksAccessibleByMouse
    | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
)


def _button(text: str, tip: str, name: str = "messageAction") -> QToolButton:
    button = QToolButton()
    button.setObjectName(name)
    button.setText(text)
    button.setToolTip(tip)
    if len(text) == 1:  # a glyph ("‹"): screen readers say what it does instead
        button.setAccessibleName(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setAutoRaise(True)
    return button


def sources_html(cited: Cited) -> str:
    """ "Sources" and one link per passage (file, page, heading), or why there is none."""
    if not cited.sources:
        return "<b>Sources</b><br>No passage of the chosen documents matched the question."
    links = "<br>".join(
        f'<a href="{SOURCE_SCHEME}{s.number}">{html.escape(s.label())}</a>' for s in cited.sources
    )
    return f"<b>Sources</b><br>{links}"


class MessageBubble(QFrame):
    """One message with its actions; `index` is its position in the branch shown."""

    action_requested = Signal(str, int)
    edit_submitted = Signal(int, str)
    version_requested = Signal(int, int)
    copied = Signal()
    source_requested = Signal(object, int)

    def __init__(
        self,
        item: MessageItem,
        index: int,
        renderer: MarkdownRenderer,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.item = item
        self.index = index
        self.role = item.role
        self._renderer = renderer
        self._text = ""
        self._editor: Composer | None = None
        self._stream: StreamingMarkdown | None = None
        self.setObjectName("userBubble" if item.role == "user" else "assistantBubble")
        self.label = QLabel()
        self.label.setObjectName("messageText")
        self.label.setIndent(0)  # its focus ring (a border) must not indent the text
        self.label.setWordWrap(True)
        self.label.setOpenExternalLinks(False)
        self.label.setTextInteractionFlags(_TEXT_FLAGS)
        self.label.linkActivated.connect(self._on_link)
        self.label.setTextFormat(
            Qt.TextFormat.PlainText if item.role == "user" else Qt.TextFormat.RichText
        )
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.ran_on_label = QLabel()  # a reply from the user's server: which, and its model
        self.ran_on_label.setObjectName("ranOn")
        self.ran_on_label.hide()
        self._layout = QVBoxLayout(self)
        if item.role == "user":
            self._layout.setContentsMargins(14, 10, 14, 10)
        else:
            self._layout.setContentsMargins(2, 4, 2, 4)
            name = QLabel("Hearth")
            name.setObjectName("speakerName")
            speaker = QHBoxLayout()
            speaker.setContentsMargins(0, 0, 0, 0)
            speaker.addWidget(name)
            speaker.addWidget(self.ran_on_label)
            speaker.addStretch(1)
            self._layout.addLayout(speaker)
        self._layout.addWidget(self.label)
        self._body: StreamingBody | None = None  # a streaming reply's text, while it streams
        self.sources_label = QLabel()
        self.sources_label.setObjectName("sourcesList")
        self.sources_label.setWordWrap(True)
        self.sources_label.setTextFormat(Qt.TextFormat.RichText)
        self.sources_label.linkActivated.connect(self._on_source_link)
        self.sources_label.hide()
        self._layout.addWidget(self.sources_label)
        self.status_note = QLabel()
        self.status_note.setObjectName("statusNote")
        self._layout.addWidget(self.status_note)
        self.action_bar = QWidget()
        self.action_bar.setObjectName("messageActions")
        self._actions_row = QHBoxLayout(self.action_bar)
        self._actions_row.setContentsMargins(0, 0, 0, 0)
        self._actions_row.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        self.version_label = QLabel()
        self.version_label.setObjectName("versionLabel")
        self.time_label = QLabel()
        self.time_label.setObjectName("messageTime")
        keep_room = self.time_label.sizePolicy()
        keep_room.setRetainSizeWhenHidden(True)  # showing it moves nothing
        self.time_label.setSizePolicy(keep_room)
        self.time_label.hide()
        self._build_actions()
        self.set_text(item.content)
        self.update_item(item)

    # --- text --------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The message as written (Markdown source for assistant replies)."""
        return self._text

    @property
    def status(self) -> str:
        return self.item.status

    def set_text(self, text: str) -> None:
        self._end_stream()
        self._text = text
        if self.role == "user":
            self.label.setText(text)
        elif text:
            cited = self.item.cited
            numbers = frozenset(s.number for s in cited.sources) if cited else frozenset()
            self.label.setText(self._renderer.render(text, numbers))
        else:
            self.label.setText(_THINKING_HTML)

    def set_streaming_text(self, text: str) -> None:
        """The reply so far: blocks finished since the last call are rendered and added
        once, and the open (last) block replaced, so an update costs the same early and
        late (see `StreamingBody`)."""
        if self.role == "user" or not text:
            self.set_text(text)
            return
        if self._body is None:
            self._body = StreamingBody()
            self._body.link_activated.connect(self._on_link)
            self._body.hide()
            self._layout.insertWidget(self._layout.indexOf(self.label), self._body)
        if self._stream is None:
            self._stream = StreamingMarkdown(self._renderer)
            self.label.hide()
            self._body.show()
        self._text = text
        blocks, tail = self._stream.update(text)
        self._body.show_blocks(blocks, tail)
        # The new height now, in this frame: left to the posted layout request, the text
        # would be painted once at the old height and again at the new (twice the cost).
        self._layout.activate()

    def _end_stream(self) -> None:
        """Back to one label holding the whole reply (selectable as one text)."""
        if self._stream is None:
            return
        self._stream = None
        if self._body is not None:
            self._body.clear_blocks()
            self._body.hide()
        self.label.show()

    def show_stopped_placeholder(self) -> None:
        self.label.setText(_STOPPED_HTML)

    def rebind(self, item: MessageItem, index: int) -> None:
        """Show another message of the same role (a recycled bubble)."""
        self.cancel_editing()
        self.index = index
        self._text = ""
        self.item = item
        self.set_text(item.content)
        self.update_item(item)
        if self.property("highlighted"):
            self.setProperty("highlighted", False)
            style = self.style()
            style.unpolish(self)
            style.polish(self)

    # --- state -------------------------------------------------------------------------

    def update_item(self, item: MessageItem) -> None:
        """New status or versions (e.g. when the reply has finished streaming)."""
        new_sources = item.cited != self.item.cited
        self.item = item
        text_changed = item.content != self._text or self._stream
        if item.status != "streaming" and (text_changed or new_sources):
            self.set_text(item.content)
        self._show_sources(item)
        note = STATUS_NOTES.get(item.status)
        self.status_note.setText(note or "")
        self.status_note.setVisible(note is not None)
        streaming = item.status == "streaming"
        self.action_bar.setVisible(not streaming)
        if "continue" in self.buttons:
            self.buttons["continue"].setVisible(item.status in CONTINUABLE)
        several = item.versions > 1
        for name in ("previous", "next"):
            self.buttons[name].setVisible(several)
        self.version_label.setVisible(several)
        self.version_label.setText(f"{item.version + 1}/{item.versions}")
        self.buttons["previous"].setEnabled(item.version > 0)
        self.buttons["next"].setEnabled(item.version + 1 < item.versions)
        self._show_time()
        self._show_ran_on()

    def _show_ran_on(self) -> None:
        """A reply that ran on the user's server says so beside "Hearth"."""
        ran_on = self.item.ran_on if self.role == "assistant" else None
        server = None if ran_on is None else ran_on.server
        model = "" if ran_on is None else ran_on.model
        self.ran_on_label.setVisible(server is not None)
        self.ran_on_label.setText(f"· {model} on server {server}" if server else "")
        self.ran_on_label.setToolTip(f"This reply ran on your server {server}." if server else "")

    def _show_time(self) -> None:
        """When the message was written: short beside the actions, in full in its tooltip
        and in the text's accessible description."""
        moment = self.item.created_at
        if moment is None:
            self.time_label.clear()
            self.time_label.hide()
            full = ""
        else:
            full = f"{'Sent' if self.role == 'user' else 'Answered'} {long_when(moment)}"
            if self.item.ran_on is not None:
                full += f" by {self.item.ran_on.describe()}"
            self.time_label.setText(short_when(moment))
        self.time_label.setToolTip(full)
        self.label.setAccessibleDescription(full)

    def set_time_shown(self, shown: bool) -> None:
        """Show the time beside the actions (the pointer is over the message, or the focus
        is in it)."""
        self.time_label.setVisible(shown and bool(self.time_label.text()))

    def tab_stops(self) -> list[QWidget]:
        """The widgets Tab visits in this message, in screen order: its text, then its
        actions from left to right."""
        stops: list[QWidget] = [self._editor or self.label]
        order = ("previous", "next", "copy", "edit", "continue", "regenerate")
        return stops + [self.buttons[name] for name in order if name in self.buttons]

    def _show_sources(self, item: MessageItem) -> None:
        """The Sources list under a reply given passages of the user's documents."""
        cited = item.cited
        if cited is None or item.status == "streaming":
            self.sources_label.hide()
            return
        self.sources_label.setText(sources_html(cited))
        self.sources_label.show()

    def _on_source_link(self, link: str) -> None:
        number = cited_source(link)
        if self.item.cited is not None and number is not None:
            self.source_requested.emit(self.item.cited, number)

    def set_actions_enabled(self, enabled: bool) -> None:
        """While a reply streams only Copy stays available."""
        for name, button in self.buttons.items():
            if name != "copy":
                button.setEnabled(enabled and self._allowed(name))

    def _allowed(self, name: str) -> bool:
        if name == "previous":
            return self.item.version > 0
        if name == "next":
            return self.item.version + 1 < self.item.versions
        return True

    # --- editing -----------------------------------------------------------------------

    @property
    def editing(self) -> bool:
        return self._editor is not None

    def start_editing(self) -> Composer:
        """Replace the text with an editor holding it (Enter sends, Esc cancels)."""
        if self._editor is None:
            editor = Composer()
            editor.setObjectName("editBox")
            editor.setPlaceholderText("Edit your message")
            editor.setAccessibleName("Edit your message")
            editor.setPlainText(self._text)
            editor.submitted.connect(self._submit_edit)
            editor.stop_requested.connect(self.cancel_editing)
            self._layout.insertWidget(self._layout.indexOf(self.label), editor)
            self.label.hide()
            self.action_bar.hide()
            self._editor = editor
            self.setMinimumWidth(min(560, max(320, self.label.width() + 28)))
        self._editor.setFocus()
        self._editor.moveCursor(self._editor.textCursor().MoveOperation.End)
        return self._editor

    def cancel_editing(self) -> None:
        editor, self._editor = self._editor, None
        if editor is not None:
            editor.hide()
            editor.deleteLater()
            self.setMinimumWidth(0)
            self.label.show()
            self.action_bar.show()

    def _submit_edit(self, text: str) -> None:
        if text.strip() and text.strip() != self._text.strip():
            self.edit_submitted.emit(self.index, text)
        else:
            self.cancel_editing()

    # --- actions -----------------------------------------------------------------------

    def _build_actions(self) -> None:
        user = self.role == "user"
        specs = [
            ("previous", "‹", "Previous version"),
            ("next", "›", "Next version"),
            ("copy", "Copy", "Copy this message"),
            ("edit", "Edit", "Edit and send again (the current version is kept)"),
            ("regenerate", "Regenerate", "Write another reply (this one is kept)"),
            ("continue", "Continue", "Let the model go on from where this reply stopped"),
        ]
        for name, text, tip in specs:
            if (name == "edit" and not user) or (name in ("regenerate", "continue") and user):
                continue
            arrow = name in ("previous", "next")
            self.buttons[name] = _button(text, tip, "versionArrow" if arrow else "messageAction")
        if user:
            self._actions_row.addStretch(1)
            self._actions_row.addWidget(self.time_label)
        self._actions_row.addWidget(self.buttons["previous"])
        self._actions_row.addWidget(self.version_label)
        self._actions_row.addWidget(self.buttons["next"])
        for name in ("copy", "edit", "continue", "regenerate"):
            if name in self.buttons:
                self._actions_row.addWidget(self.buttons[name])
        if not user:
            self._actions_row.addWidget(self.time_label)
            self._actions_row.addStretch(1)
        self.buttons["copy"].clicked.connect(self._copy)
        for name, step in (("previous", -1), ("next", 1)):
            self.buttons[name].clicked.connect(
                lambda _checked=False, s=step: self.version_requested.emit(self.index, s)
            )
        if user:
            self.buttons["edit"].clicked.connect(self.start_editing)
        else:
            for name in ("regenerate", "continue"):
                self.buttons[name].clicked.connect(
                    lambda _checked=False, n=name: self.action_requested.emit(n, self.index)
                )

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._text)
        self.copied.emit()

    def _on_link(self, link: str) -> None:
        """A code block's Copy link copies that block; a citation ("[2]") shows its source;
        other links are never opened."""
        code = copied_code(link)
        if code is not None:
            QGuiApplication.clipboard().setText(code)
            self.copied.emit()
        number = cited_source(link)
        if number is not None and self.item.cited is not None:
            self.source_requested.emit(self.item.cited, number)
