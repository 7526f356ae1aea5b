"""The application's style sheet: the shared base, the chat window's rules and each
feature's, as one template the `Theme` fills in (`$name` colours and font sizes).

`apply_theme` sets it on the whole application with Qt's palette and the body font, and
again whenever the theme changes (light/dark, the system's switch, the text size): every
window and dialog is styled from one palette, and no window's rules leak into another.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from desktop.ui.assistants.style import PAGE_STYLE as ASSISTANTS_STYLE
from desktop.ui.common.style import BASE_STYLE
from desktop.ui.common.theme import Theme
from desktop.ui.conversations.search import SEARCH_STYLE
from desktop.ui.models.style import PAGE_STYLE as MODELS_STYLE


def resource_path(*parts: str) -> Path:
    """A file under `resources/`: in the frozen bundle, else in the source tree."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[3]))
    return base.joinpath("resources", *parts)


WINDOW_STYLE = """
#central, #chatView, #chatContainer, #emptyState, #emptyContent { background: $window; }
#header { background: $window; border-bottom: 1px solid $border; }
#appTitle { font-size: $fs_title; font-weight: 600; }
#headerDot { color: $muted; }
QStatusBar QLabel#onlineDot { color: $online; padding: 0 0 0 6px; }
QPushButton#notSavingBadge { background: $warning_back; color: $warning_text;
    border: 1px solid $warning_border; border-radius: 11px; padding: 3px 10px;
    font-size: $fs_small; font-weight: 600; }
QLabel#remoteBadge { border: 1px solid $border; border-radius: 11px; padding: 3px 10px;
    font-size: $fs_small; font-weight: 600; }
QPushButton#notSavingBadge:focus { border: 2px solid $focus; padding: 2px 9px; }
#userBubble { background: $user_bubble; border-radius: 16px; }
#userBubble[highlighted="true"] { background: $highlight; }
#assistantBubble[highlighted="true"] { background: $highlight; border-radius: 8px; }
QToolButton#messageAction { font-size: $fs_small; }
QToolButton#versionArrow { font-size: $fs_large; padding: 0 8px; min-width: 24px;
                           min-height: 24px; }
#versionLabel { color: $muted; font-size: $fs_small; }
#editBox { background: $surface; border: 2px solid $focus; border-radius: 8px; }
#statusNote { color: $warning_text; font-size: $fs_small; font-style: italic; }
#speakerName { color: $muted; font-size: $fs_small; font-weight: 600; }
#messageTime { color: $muted; font-size: $fs_small; padding: 0 6px; }
#ranOn { color: $muted; font-size: $fs_small; }
QLabel#messageText { border: 2px solid transparent; border-radius: 4px; }
QLabel#messageText:focus { border-color: $focus; }
#chatView { border: 2px solid transparent; }
#chatView:focus { border-color: $focus; }
#emptyTitle { font-size: $fs_huge; font-weight: 600; }
#emptyHint { color: $muted; }
QPushButton#examplePrompt { text-align: left; padding: 8px 12px; }
QPushButton#examplePrompt:focus { padding: 7px 11px; }
#composerCard { background: $surface; border: 1px solid $control_border; border-radius: 14px; }
#composerCard[focused="true"] { border: 2px solid $focus; }
QPlainTextEdit#composer, QPlainTextEdit#composer:focus { background: $surface; border: none;
                                                         padding: 0; }
#keysHint { color: $muted; font-size: $fs_small; }
QPushButton#sendButton { border-radius: 10px; padding: 7px 18px; }
QPushButton#sendButton:focus { padding: 6px 17px; }
QPushButton#stopButton { border-radius: 10px; padding: 7px 14px; }
QPushButton#stopButton:focus { padding: 6px 13px; }
#errorBanner { background: $error_back; border: 1px solid $error_border; border-radius: 10px; }
#errorText { color: $error_text; }
QToolButton#errorClose { color: $error_text; }
#sidebar { background: $sidebar; border-right: 1px solid $border; }
#sidebarTitle { color: $muted; font-size: $fs_small; font-weight: 600; padding: 0 6px; }
#notKeptNote { color: $text; }
#conversationList { background: transparent; }
#undoBanner { background: $warning_back; border: 1px solid $warning_border; border-radius: 8px; }
#undoBanner QLabel { color: $warning_text; }
QPushButton#trashButton { border: 2px solid transparent; color: $muted; padding: 4px 8px;
                          border-radius: 6px; background: transparent; text-align: left; }
QPushButton#trashButton:hover { background: $hover; color: $text; }
QPushButton#trashButton:focus { border-color: $focus; padding: 4px 8px; }
QStatusBar { background: $sidebar; border-top: 1px solid $border; }
QStatusBar QLabel { color: $muted; font-size: $fs_small; padding: 0 6px; }
#contextMeter { color: $muted; font-size: $fs_small; }
#contextMeter[level="full"] { color: $warning_text; }
#contextMeter[level="error"] { color: $error_text; font-weight: 600; }
QWidget[leftOut="true"] QLabel { color: $muted; }
QWidget[leftOut="true"] #userBubble { background: $sidebar; }
#leftOutNote { color: $warning_text; font-size: $fs_small; border-top: 1px dashed $warning_border;
               border-bottom: 1px dashed $warning_border; padding: 6px; }
#shortcutKeys { font-weight: 600; font-family: monospace; }
"""

APP_STYLE = "\n".join((BASE_STYLE, WINDOW_STYLE, SEARCH_STYLE, MODELS_STYLE, ASSISTANTS_STYLE))


def style_sheet(theme: Theme) -> str:
    """The whole application's style sheet in `theme`'s colours and sizes."""
    return theme.render(
        APP_STYLE,
        # PNG, not SVG: the packaged app carries no SVG image plugin.
        arrow=resource_path("icons", "chevron-down.png").as_posix(),
        arrow_up=resource_path("icons", "chevron-up.png").as_posix(),
        check=resource_path("icons", "check.png").as_posix(),
    )


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Style the whole application with `theme` now and whenever it changes."""

    def apply() -> None:
        # Each of these restyles every widget (a large chat takes a while): only what changed.
        palette = theme.qpalette()
        if palette != app.palette():
            app.setPalette(palette)
        font = app.font()
        if font.pointSizeF() != theme.point_size():
            font.setPointSizeF(theme.point_size())
            app.setFont(font)
        sheet = style_sheet(theme)
        if sheet != app.styleSheet():
            app.setStyleSheet(sheet)

    apply()
    theme.changed.connect(apply)
