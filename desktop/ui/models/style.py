"""The Models page's style sheet: the main window's light look, plus the page's own parts
(list rows, badges, the memory warning, primary and danger buttons)."""

from __future__ import annotations

PAGE_STYLE = """
QDialog#modelsPage { background: #ffffff; }
QWidget { color: #1f2328; font-size: 14px; }
QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }
QTabWidget::pane { border: 1px solid #e3e6ea; border-radius: 8px; top: -1px; background: #ffffff; }
QTabBar::tab { padding: 6px 14px; border: 1px solid transparent; color: #4b5563; }
QTabBar::tab:selected { color: #1f2328; border-bottom: 2px solid #2563eb; font-weight: 600; }
QTabBar::tab:disabled { color: #b0b5bc; }
#modelList { background: #f7f8fa; border: 1px solid #eceef1; border-radius: 10px; outline: none;
             padding: 4px; }
#modelList::item { border-radius: 8px; margin: 1px 0; }
#modelList::item:hover { background: #eceef1; }
#modelList::item:selected { background: #e1e7f5; color: #1f2328; }
#modelRow, #modelRow QLabel { background: transparent; }
#rowName { font-weight: 600; }
#rowSubtitle { color: #6b7280; font-size: 12px; }
#rowProblem { color: #b42318; font-size: 12px; }
#badge { background: #e7eefc; color: #1d4ed8; border-radius: 8px; padding: 1px 7px;
         font-size: 11px; font-weight: 600; }
#modelTitle { font-size: 18px; font-weight: 600; }
#mutedText, #defaultHint { color: #6b7280; font-size: 12px; }
#problemText { color: #b42318; }
#memoryWarning { background: #fdecea; border: 1px solid #f3c1bd; border-radius: 8px;
                 color: #8c1d18; padding: 8px 10px; }
QLabel#pageMessage { background: #eef6ee; border: 1px solid #cfe3cf; border-radius: 8px;
                     padding: 6px 10px; color: #1e4620; }
QLabel#pageMessage[error="true"] { background: #fdecea; border-color: #f3c1bd; color: #8c1d18; }
QLabel[error="true"] { color: #b42318; }
QPushButton { background: #ffffff; border: 1px solid #d5d9df; border-radius: 8px;
              padding: 5px 12px; }
QPushButton:hover { background: #f3f4f6; }
QPushButton:disabled { color: #b0b5bc; border-color: #e6e8eb; }
QPushButton#primaryButton { background: #2563eb; color: #ffffff; border: none; font-weight: 600; }
QPushButton#primaryButton:hover { background: #1d4ed8; }
QPushButton#primaryButton:disabled { background: #b4c7f3; }
QPushButton#dangerButton { color: #b42318; }
QPushButton#dangerButton:disabled { color: #e0b4b0; }
QProgressBar { border: none; background: #e5e7eb; border-radius: 3px; max-height: 6px; }
QProgressBar::chunk { background: #2563eb; border-radius: 3px; }
"""
