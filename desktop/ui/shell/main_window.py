"""The main window ("Hearth"): the view of one conversation.

`MainWindow` is a passive view: the conversation (`ChatView`), an error banner, the
composer with Send and Stop, and a status bar (model name, load progress, statistics of
the last reply). It knows nothing about the worker or the engine; it exposes slots to
update it and emits the user's intentions.

Signals: send_requested(str), stop_requested(), new_chat_requested() (also Ctrl+N),
search_requested() (Ctrl+K), privacy_requested(), assistant_chosen(str), model_chosen(str),
assistants_requested(), models_requested() (the pickers' "Manage…" entries),
draft_changed(str) (the composer's text), files_dropped(list[Path]) (model files dropped on
the window), documents_dropped(list[Path]) (documents and folders dropped on it),
source_requested(Cited, int) (a source under a reply clicked), quit_requested() (Quit in
the menu, Ctrl+Q), hidden_to_tray() (closed while `keep_in_tray`: the window only hid), and
the message actions of the chat view:
edit_requested(int, str), regenerate_requested(int), continue_requested(int),
version_requested(int, int) (positions in the branch shown), older_requested() (the
view nears the first message read: show the ones above it).
`set_sidebar()` puts the conversation list (`desktop.ui.conversations.sidebar`) on the left.
Thread: GUI thread only.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QMainWindow,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.chat.markdown import MarkdownRenderer
from desktop.chat.model_state import ModelState
from desktop.chat.palette import Palette
from desktop.chat.request import ContextBudget
from desktop.chat.session import MessageItem
from desktop.chat.stats import format_stats
from desktop.core.types import GenerationStats, ModelDescription
from desktop.inference.embedded import FILE_NAME as EMBEDDED_FILE
from desktop.ui.chat.composer import Composer
from desktop.ui.chat.controls import ContextMeter
from desktop.ui.chat.view import READING_WIDTH, ChatView
from desktop.ui.conversations.unsaved import UnsavedSidebar
from desktop.ui.shell.drops import dropped_files, route_dropped
from desktop.ui.shell.header import Header
from desktop.ui.shell.shortcuts import ShortcutsDialog
from desktop.ui.shell.status_line import StatusLine
from desktop.ui.shell.welcome import Welcome
from desktop.ui.shell.window_menu import WindowMenu

__all__ = ["MainWindow"]


#: The narrowest window (everything stays usable; more with large text, see
#: `_chat_minimum_width`) and the narrowest that shows the chat list unless the user hides
#: or shows it (Ctrl+B).
MIN_WIDTH = 480
SIDEBAR_WIDTH = 760
#: The fewest characters the composer keeps beside its buttons.
COMPOSER_CHARS = 14


class MainWindow(QMainWindow):
    """The chat window; see the module docstring."""

    send_requested = Signal(str)
    stop_requested = Signal()
    new_chat_requested = Signal()
    search_requested = Signal()
    privacy_requested = Signal()
    edit_requested = Signal(int, str)
    regenerate_requested = Signal(int)
    continue_requested = Signal(int)
    version_requested = Signal(int, int)
    older_requested = Signal()
    assistant_chosen = Signal(str)
    model_chosen = Signal(str)
    assistants_requested = Signal()
    models_requested = Signal()
    draft_changed = Signal(str)
    files_dropped = Signal(list)
    documents_dropped = Signal(list)
    source_requested = Signal(object, int)
    protect_requested = Signal()
    quit_requested = Signal()
    hidden_to_tray = Signal()

    def __init__(self, renderer: MarkdownRenderer | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Hearth")
        self.resize(900, 640)
        central = QWidget()
        central.setObjectName("central")
        self._columns = QHBoxLayout(central)
        self._columns.setContentsMargins(0, 0, 0, 0)
        self._columns.setSpacing(0)
        chat_column = QWidget()
        column = QVBoxLayout(chat_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._make_header())
        self.renderer = renderer or MarkdownRenderer()
        self.chat_view = ChatView(self.renderer)
        column.addWidget(self.chat_view, 1)
        self.welcome = Welcome()
        empty = self.chat_view.empty_content.layout()
        if isinstance(empty, QVBoxLayout):  # centred, as wide as its text allows
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(self.welcome, 100)
            row.addStretch(1)
            empty.insertLayout(empty.count() - 1, row)
        self.welcome.prompt_chosen.connect(self.send_requested)
        self.welcome.models_requested.connect(self.models_requested)
        column.addLayout(self._make_bottom())
        self._columns.addWidget(chat_column, 1)
        self.sidebar: QWidget | None = None
        self.search_dialog: QWidget | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self._sidebar_choice: bool | None = None  # None: shown when the window is wide
        #: Closing only hides the window (Hearth keeps running in the tray) unless quitting.
        self.keep_in_tray = False
        self._quitting = False
        self.setCentralWidget(central)
        self.status_line = StatusLine(self.statusBar())
        line = self.status_line
        self.model_label, self.status_label = line.model_label, line.status_label
        self.progress_bar, self.stats_label = line.progress_bar, line.stats_label
        # A fixed minimum instead of one recomputed from the contents: the window's size
        # limits then stay put while bubbles and the composer grow.
        self.setMinimumSize(MIN_WIDTH, 420)
        layout = self.layout()
        if layout is not None:
            layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stop_requested)
        self.new_chat_button.clicked.connect(self.new_chat_requested)
        self.composer.submitted.connect(self.send_requested)
        self.composer.stop_requested.connect(self.stop_requested)
        self.composer.textChanged.connect(
            lambda: self.draft_changed.emit(self.composer.toPlainText())
        )
        self.assistant_picker.chosen.connect(self.assistant_chosen)
        self.assistant_picker.manage_requested.connect(self.assistants_requested)
        self.model_picker.chosen.connect(self.model_chosen)
        self.model_picker.manage_requested.connect(self.models_requested)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.activated.connect(self._on_escape)
        for picker in (self.assistant_picker, self.model_picker):
            picker.chosen.connect(self.focus_composer)
        self.new_chat_requested.connect(self.focus_composer)
        self.chat_view.edit_submitted.connect(self.focus_composer)
        self.menu.shortcuts_requested.connect(self.show_shortcuts)
        self.new_chat_action = QAction("New chat", self)
        self.new_chat_action.setShortcut(QKeySequence.StandardKey.New)  # Ctrl+N
        self.new_chat_action.triggered.connect(self.new_chat_requested)
        self.addAction(self.new_chat_action)
        self.search_button.clicked.connect(self.search_requested)
        view = self.chat_view
        view.edit_submitted.connect(self.edit_requested)
        view.regenerate_requested.connect(self.regenerate_requested)
        view.continue_requested.connect(self.continue_requested)
        view.version_requested.connect(self.version_requested)
        view.older_wanted.connect(self.older_requested)
        view.copied.connect(lambda: self.set_status("Copied to the clipboard."))
        view.source_requested.connect(self.source_requested)
        self._model: ModelDescription | None = None
        self.menu.sidebar_toggled.connect(self.toggle_sidebar)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._show_composer_focus)
        self.composer.setAccessibleName("Message")
        self.assistant_picker.setAccessibleName("Assistant")
        self.model_picker.setAccessibleName("Model")
        self.update_tab_order()
        self.setAcceptDrops(True)
        self.set_busy(False)
        self.composer.setFocus()

    @Slot(QWidget, QWidget)
    def _show_composer_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        """The composer's card shows the focus ring (the text field inside it has none)."""
        focused = new is self.composer
        if self.composer_card.property("focused") != focused:
            self.composer_card.setProperty("focused", focused)
            self.composer_card.style().unpolish(self.composer_card)
            self.composer_card.style().polish(self.composer_card)

    # --- closing ------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """With `keep_in_tray`, closing hides the window (a reply being written goes on);
        quitting (`set_quitting`) closes it."""
        if self.keep_in_tray and not self._quitting:
            event.ignore()
            self.hide()
            self.hidden_to_tray.emit()
            return
        super().closeEvent(event)

    def set_quitting(self) -> None:
        """Hearth is quitting: the next close closes the window, whatever `keep_in_tray`."""
        self._quitting = True

    # --- model files dropped on the window ------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_files(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.drop_files(paths)

    def drop_files(self, paths: list[Path]) -> None:
        """Models go to the Models page (`files_dropped`), documents and folders to the
        Documents page (`documents_dropped`); other files get a sentence."""
        models, documents, refusal = route_dropped(paths)
        if refusal is not None:
            self.show_error(refusal)
        if models:
            self.files_dropped.emit(models)
        if documents:
            self.documents_dropped.emit(documents)

    # --- construction ------------------------------------------------------------------

    def set_sidebar(self, sidebar: QWidget) -> None:
        """Show `sidebar` (the conversation list, or what stands for it) left of the chat."""
        old = self.sidebar
        if old is not None:
            self._columns.removeWidget(old)
            old.hide()
            old.deleteLater()
        self.sidebar = sidebar
        self._columns.insertWidget(0, sidebar)
        self.update_tab_order()
        self.resize(max(self.width(), 1140), self.height())
        self._fit_sidebar()

    def add_composer_control(self, control: QWidget) -> None:
        """Put `control` (e.g. the documents picker) under the composer, left of the meter."""
        self._hints.insertWidget(1, control, 0, Qt.AlignmentFlag.AlignTop)

    def add_side_panel(self, panel: QWidget) -> None:
        """Put `panel` (e.g. a reply's source) right of the chat."""
        self._columns.addWidget(panel)

    def _make_header(self) -> QWidget:
        self.search_action = QAction("Search conversations", self)
        self.search_action.setShortcut(QKeySequence("Ctrl+K"))
        self.search_action.triggered.connect(self.search_requested)
        self.addAction(self.search_action)
        self.menu = WindowMenu(self)
        self.menu.addSeparator()
        self.menu.addAction(self.search_action)
        self.privacy_action = self.menu.addAction("Privacy…")
        self.privacy_action.triggered.connect(self.privacy_requested)
        self.menu.add_closing(self)
        self.menu.quit_requested.connect(self.quit_requested)
        header = self.header = Header(self.menu)
        self.assistant_picker, self.model_picker = header.assistant_picker, header.model_picker
        self.not_saving_badge, self.privacy_button = header.not_saving_badge, header.privacy_button
        self.search_button, self.new_chat_button = header.search_button, header.new_chat_button
        self.menu_button = header.menu_button
        self.not_saving_badge.clicked.connect(self.protect_requested)
        self.privacy_button.clicked.connect(self.privacy_requested)
        return header

    def _make_bottom(self) -> QHBoxLayout:
        inner = QVBoxLayout()
        inner.setSpacing(8)
        self.error_banner = QFrame()
        self.error_banner.setObjectName("errorBanner")
        banner_row = QHBoxLayout(self.error_banner)
        banner_row.setContentsMargins(12, 8, 6, 8)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorText")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setObjectName("errorClose")
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide_error)
        banner_row.addWidget(self.error_label, 1)
        banner_row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.error_banner.hide()
        inner.addWidget(self.error_banner)

        card = QFrame()
        card.setObjectName("composerCard")
        self.composer_card = card
        card_row = QHBoxLayout(card)
        card_row.setContentsMargins(10, 8, 8, 8)
        card_row.setSpacing(8)
        self.composer = Composer()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        for button in (self.stop_button, self.send_button):
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        card_row.addWidget(self.composer, 1)
        card_row.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        card_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        inner.addWidget(card)
        hint = QLabel("Enter to send · Shift+Enter for a new line · Esc to stop")
        hint.setObjectName("keysHint")
        hint.setWordWrap(True)  # large text in a narrow window: two lines, not cut off
        self.context_meter = ContextMeter()
        hints = QHBoxLayout()
        hints.setContentsMargins(6, 0, 6, 0)
        hints.addWidget(hint, 1)  # all the room there is: wraps only when it must
        self._hints = hints
        hints.addWidget(self.context_meter, 0, Qt.AlignmentFlag.AlignTop)
        inner.addLayout(hints)

        holder = QWidget()
        holder.setLayout(inner)
        holder.setMaximumWidth(READING_WIDTH + 56)
        outer = QHBoxLayout()
        outer.setContentsMargins(28, 8, 28, 12)
        outer.addStretch(0)
        outer.addWidget(holder, 1)
        outer.addStretch(0)
        return outer

    # --- slots -------------------------------------------------------------------------

    @Slot()
    def focus_composer(self) -> None:
        """Back to typing (after a choice, an edit, a dialog or a new chat)."""
        self.activateWindow()
        self.composer.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def _on_escape(self) -> None:
        """Esc cancels an open edit; otherwise it stops the reply."""
        editing = [bubble for bubble in self.chat_view.bubbles if bubble.editing]
        if not editing:
            self.stop_requested.emit()
            return
        for bubble in editing:
            bubble.cancel_editing()
        self.focus_composer()

    @Slot()
    def show_shortcuts(self) -> None:
        """The Keyboard shortcuts window (F1, Ctrl+/)."""
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self)
            self.shortcuts_dialog.finished.connect(self.focus_composer)
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        self.shortcuts_dialog.activateWindow()

    def update_tab_order(self) -> None:
        """Tab follows the screen: the chat list, the header left to right, the messages
        (or a new chat's examples), then the composer and its buttons."""
        chain: list[QWidget] = []
        if self.sidebar is not None:
            chain += [
                w
                for w in self.sidebar.findChildren(QWidget)
                if w.focusPolicy() & Qt.FocusPolicy.TabFocus
            ]
        chain += [
            self.assistant_picker,
            self.model_picker,
            self.not_saving_badge,
            self.privacy_button,
            self.search_button,
            self.new_chat_button,
            self.menu_button,
            self.chat_view,
            *self.chat_view.tab_stops(),
            *self.welcome.tab_stops(),  # a new chat's examples, where the messages would be
            self.composer,
            self.stop_button,
            self.send_button,
        ]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    @Slot()
    def _submit(self) -> None:
        self.send_requested.emit(self.composer.toPlainText())
        self.composer.setFocus()

    @Slot(list)
    def show_messages(self, items: list[MessageItem]) -> None:
        """Show exactly these messages (a conversation opened, or another branch)."""
        self.chat_view.set_messages(items)
        self.stats_label.clear()

    @Slot(list)
    def prepend_messages(self, items: list[MessageItem]) -> None:
        """Older messages of the conversation shown, above the first one."""
        self.chat_view.prepend_messages(items)

    @Slot(object)
    def append_message(self, item: MessageItem) -> None:
        self.chat_view.append_message(item)

    @Slot(object)
    def finish_message(self, item: MessageItem) -> None:
        self.chat_view.finish_message(item)

    @Slot(int)
    def focus_message(self, index: int) -> None:
        self.chat_view.focus_message(index)

    @Slot(str)
    def set_assistant_text(self, text: str) -> None:
        self.chat_view.set_streaming_text(text)

    @Slot()
    def on_generation_started(self) -> None:
        self.hide_error()

    @Slot(object)
    def on_generation_ended(self, stats: GenerationStats | None) -> None:
        if stats is not None:
            self.stats_label.setText(format_stats(stats))

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_banner.show()

    @Slot()
    def hide_error(self) -> None:
        self.error_banner.hide()
        self.error_label.clear()

    def set_not_saving(self, reason: str | None) -> None:
        """Say, for as long as it lasts, that chats are not kept (None: they are again)."""
        badge = self.not_saving_badge
        badge.setVisible(reason is not None)
        badge.setToolTip(
            "" if reason is None else f"{reason}\nClick to protect your conversations."
        )
        badge.setAccessibleDescription(reason or "")
        if reason is not None and isinstance(self.sidebar, UnsavedSidebar):
            self.sidebar.set_reason(reason)

    def apply_palette(self, palette: Palette) -> None:
        """Messages and code in the theme's colours (the style sheet does the rest)."""
        self.renderer.set_palette(palette)
        self.chat_view.rerender()

    @Slot()
    def toggle_sidebar(self) -> None:
        """Hide or show the conversation list (Ctrl+B); the composer keeps the focus."""
        if self.sidebar is None:
            return
        self._sidebar_choice = not self.sidebar.isVisible()
        self._fit_sidebar()
        self.composer.setFocus()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_sidebar()

    def _fit_sidebar(self) -> None:
        """The chat list as the user chose (Ctrl+B), else shown when the window is wide.

        The window is never narrower than what the chat column needs with its text
        whole (and the chat list beside it, when the user chose to show it): showing the
        list in a narrow window with large text widens the window."""
        if self.sidebar is None:
            self._keep_minimum_width(self._chat_minimum_width())
            return
        chat = self._chat_minimum_width()
        beside = self.sidebar.minimumWidth() + chat
        choice = self._sidebar_choice
        visible = self.width() >= max(SIDEBAR_WIDTH, beside) if choice is None else choice
        if visible != self.sidebar.isVisible():
            self.sidebar.setVisible(visible)
        self.menu.show_sidebar_visible(visible)
        # Shown by choice: room for both. Shown by width: it hides again when narrower.
        self._keep_minimum_width(beside if visible and choice else chat)

    def _keep_minimum_width(self, width: int) -> None:
        wanted = max(MIN_WIDTH, width)
        if self.minimumWidth() != wanted:
            self.setMinimumWidth(wanted)  # a narrower window grows to it

    def _chat_minimum_width(self) -> int:
        """The narrowest the chat column gets with nothing cut off: the folded header, or
        the composer with a few words beside Stop and Send."""
        buttons = self.stop_button.sizeHint().width() + self.send_button.sizeHint().width()
        text = self.composer.fontMetrics().averageCharWidth() * COMPOSER_CHARS
        composer = buttons + text + 2 * 28 + 40  # the column's and the card's margins
        return max(self.header.folded_width(), composer)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # the text size changed
            self._fit_sidebar()

    @Slot(str)
    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    @Slot(bool)
    def set_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.chat_view.set_actions_enabled(not busy)

    @Slot(object)
    def show_model_state(self, state: ModelState) -> None:
        self.status_line.show_model_state(state)
        model = state.description
        self.welcome.set_builtin(model is not None and Path(model.path).name == EMBEDDED_FILE)

    @Slot(bool)
    def on_model_ready_changed(self, ready: bool) -> None:
        if ready:
            self.hide_error()

    def set_choices(
        self,
        assistants: list[tuple[str, str]],
        assistant: str | None,
        models: list[tuple[str, str]],
        model: str | None,
    ) -> None:
        """Fill the pickers (the open chat's assistant and model selected)."""
        self.assistant_picker.set_choices(assistants, assistant)
        self.model_picker.set_choices(models, model)
        self.assistant_picker.setVisible(bool(assistants))
        self.model_picker.setVisible(bool(models) or model is not None)

    @Slot(object)
    def set_budget(self, budget: ContextBudget | None) -> None:
        self.context_meter.set_budget(budget)

    @Slot(int)
    def set_left_out(self, count: int) -> None:
        self.chat_view.set_left_out(count)

    @Slot()
    def clear_conversation(self) -> None:
        self.chat_view.clear()
        self.stats_label.clear()
        self.hide_error()
