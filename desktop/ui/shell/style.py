"""The window's style sheet: one light theme for the chat window and its pages."""

from __future__ import annotations

import sys
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """A file under `resources/`: in the frozen bundle, else in the source tree."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[3]))
    return base.joinpath("resources", *parts)


STYLE_SHEET = """
QMainWindow, #central, #chatView, #chatContainer, #emptyState { background: #ffffff; }
QWidget { color: #1f2328; font-size: 14px; }
#header { background: #ffffff; border-bottom: 1px solid #eceef1; }
#appTitle { font-size: 16px; font-weight: 600; }
#newChatButton { background: #ffffff; border: 1px solid #d5d9df; border-radius: 8px;
                 padding: 5px 12px; }
#newChatButton:hover, #searchButton:hover { background: #f3f4f6; }
#searchButton { background: #ffffff; border: 1px solid #d5d9df; border-radius: 8px;
                padding: 5px 12px; color: #4b5563; }
#userBubble[highlighted="true"] { background: #fde68a; }
#assistantBubble[highlighted="true"] { background: #fef3c7; border-radius: 8px; }
QToolButton#messageAction { border: none; color: #6b7280; font-size: 12px; padding: 2px 6px;
                            border-radius: 6px; background: transparent; }
QToolButton#messageAction:hover { background: #eceef1; color: #1f2328; }
QToolButton#messageAction:disabled { color: #c4c8ce; }
#versionLabel { color: #6b7280; font-size: 12px; }
#editBox { background: #ffffff; border: 1px solid #93b4f5; border-radius: 8px; }
#userBubble { background: #e7eefc; border-radius: 16px; }
#statusNote { color: #b45309; font-size: 12px; font-style: italic; }
#speakerName { color: #6b7280; font-size: 12px; font-weight: 600; }
#messageText { font-size: 14px; }
#emptyTitle { font-size: 24px; font-weight: 600; }
#emptyHint { color: #6b7280; font-size: 14px; }
#composerCard { background: #ffffff; border: 1px solid #d0d5dc; border-radius: 14px; }
#composer { background: #ffffff; border: none; font-size: 14px; }
#keysHint { color: #8a9099; font-size: 12px; }
QPushButton#sendButton { background: #2563eb; color: #ffffff; border: none; border-radius: 10px;
                         padding: 7px 18px; font-weight: 600; }
QPushButton#sendButton:hover { background: #1d4ed8; }
QPushButton#sendButton:disabled { background: #b4c7f3; }
QPushButton#stopButton { background: #ffffff; border: 1px solid #d0d5dc; border-radius: 10px;
                         padding: 7px 14px; }
QPushButton#stopButton:disabled { color: #b0b5bc; border-color: #e6e8eb; }
#errorBanner { background: #fdecea; border: 1px solid #f3c1bd; border-radius: 10px; }
#errorText { color: #8c1d18; }
#errorClose { border: none; color: #8c1d18; background: transparent; }
#sidebar { background: #f7f8fa; border-right: 1px solid #eceef1; }
#sidebarTitle { color: #6b7280; font-size: 12px; font-weight: 600; padding: 0 6px; }
#conversationList { background: transparent; outline: none; }
#conversationList::item { padding: 7px 8px; border-radius: 8px; }
#conversationList::item:hover { background: #eceef1; }
#conversationList::item:selected { background: #e1e7f5; color: #1f2328; }
#undoBanner { background: #fff7e6; border: 1px solid #f1d9a6; border-radius: 8px; }
#trashButton { border: none; color: #6b7280; padding: 4px 8px; border-radius: 6px;
               background: transparent; text-align: left; }
#trashButton:hover { background: #eceef1; color: #1f2328; }
#undoButton { border: 1px solid #d5d9df; border-radius: 6px; padding: 3px 10px;
              background: #ffffff; }
QStatusBar { background: #f7f8fa; border-top: 1px solid #eceef1; }
QStatusBar QLabel { color: #4b5563; font-size: 12px; padding: 0 6px; }
QScrollBar:vertical { background: transparent; width: 10px; margin: 2px; }
QScrollBar::handle:vertical { background: #cfd4da; border-radius: 3px; min-height: 32px; }
QScrollBar::handle:vertical:hover { background: #aeb5be; }
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical { height: 0; }
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical { background: transparent; }
QProgressBar { border: none; background: #e5e7eb; border-radius: 3px; max-height: 6px; }
QProgressBar::chunk { background: #2563eb; border-radius: 3px; }

#header QComboBox { background: #ffffff; border: 1px solid #d5d9df; border-radius: 8px;
                    padding: 4px 10px; color: #1f2328; }
#header QComboBox:hover { background: #f3f4f6; }
#header QComboBox { padding-right: 24px; }
#header QComboBox::drop-down { border: none; width: 22px; subcontrol-origin: padding;
                               subcontrol-position: center right; }
#header QComboBox::down-arrow { image: url(@ARROW@); width: 10px; height: 6px; }
#headerDot { color: #c4c8ce; }
#contextMeter { color: #8a9099; font-size: 12px; }
#contextMeter[level="full"] { color: #b45309; }
#contextMeter[level="error"] { color: #b42318; font-weight: 600; }
QWidget[leftOut="true"] QLabel { color: #9aa1ab; }
QWidget[leftOut="true"] #userBubble { background: #f1f3f7; }
#leftOutNote { color: #b45309; font-size: 12px; border-top: 1px dashed #f1d9a6;
               border-bottom: 1px dashed #f1d9a6; padding: 6px; }
"""

STYLE_SHEET = STYLE_SHEET.replace("@ARROW@", resource_path("icons", "chevron-down.svg").as_posix())
