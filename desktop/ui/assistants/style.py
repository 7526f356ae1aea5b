"""The look of the Assistants page, in the colours and shapes of the main window."""

from __future__ import annotations

PAGE_STYLE = """
QWidget { color: #1f2328; font-size: 14px; }
QWidget:disabled { color: #a3a9b1; }
QLineEdit[readOnly="true"], QPlainTextEdit[readOnly="true"] { background: #f7f8fa; }
#footerLine { color: #eceef1; }
QDialog#assistantsPage { background: #ffffff; }
#assistantList { background: #f7f8fa; border: 1px solid #eceef1; border-radius: 10px;
                 outline: none; padding: 4px; }
#assistantList::item { border-radius: 8px; margin: 1px 0; }
#assistantList::item:hover { background: #eceef1; }
#assistantList::item:selected { background: #e1e7f5; color: #1f2328; }
#entryName { font-weight: 600; }
#entryDescription { color: #6b7280; font-size: 12px; }
#editorTitle { font-size: 18px; font-weight: 600; }
#builtinBadge { background: #eef0f3; color: #4b5563; border-radius: 9px; padding: 1px 8px;
                font-size: 12px; }
#currentBadge { background: #dcfce7; color: #166534; border-radius: 9px; padding: 1px 8px;
                font-size: 12px; }
#unsavedLabel { color: #b45309; font-size: 12px; font-style: italic; }
#readOnlyNote { background: #fff7e6; border: 1px solid #f1d9a6; border-radius: 8px; }
#problemsNote { background: #fff7e6; border: 1px solid #f1d9a6; border-radius: 8px;
                padding: 6px 10px; color: #8a4b0f; font-size: 12px; }
#hint, #fieldCaption { color: #6b7280; font-size: 12px; }
#exampleCard { background: #fafbfc; border: 1px solid #e3e6ea; border-radius: 10px; }
#exampleTitle { color: #4b5563; font-size: 12px; font-weight: 600; }
QScrollArea#examplesScroll, #examplesInner { background: transparent; }
QToolButton#cardAction { border: none; color: #6b7280; font-size: 12px; padding: 2px 6px;
                         border-radius: 6px; background: transparent; }
QToolButton#cardAction:hover { background: #eceef1; color: #1f2328; }
QToolButton#cardAction:disabled { color: #c4c8ce; }
#editorMessage { color: #166534; }
#editorMessage[error="true"] { color: #b42318; }
QPushButton#primaryButton { background: #2563eb; color: #ffffff; border: none;
                            border-radius: 8px; padding: 6px 18px; font-weight: 600; }
QPushButton#primaryButton:hover { background: #1d4ed8; }
QPushButton#primaryButton:disabled { background: #b4c7f3; }
#previewBox { background: #f7f8fa; border: 1px solid #e3e6ea; border-radius: 8px;
              font-family: monospace; font-size: 13px; }
"""
