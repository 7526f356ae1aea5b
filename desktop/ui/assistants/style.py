"""The Assistants page's own rules (list entries, badges, example cards): a template in the
palette's names (`desktop.ui.common.theme`), applied with the application's style."""

from __future__ import annotations

PAGE_STYLE = """
#footerLine { color: $border; }
#assistantList { padding: 4px; }
#assistantList::item { border-radius: 8px; margin: 1px 0; padding: 0; }
#entryName { font-weight: 600; }
#editorTitle { font-size: $fs_large; font-weight: 600; }
#builtinBadge { background: $hover; color: $muted; border-radius: 9px; padding: 1px 8px;
                font-size: $fs_small; }
#currentBadge { background: $success_back; color: $success_text; border-radius: 9px;
                padding: 1px 8px; font-size: $fs_small; }
#unsavedLabel { color: $warning_text; font-size: $fs_small; font-style: italic; }
#problemsNote { font-size: $fs_small; }
#exampleCard { background: $sidebar; border: 1px solid $border; border-radius: 10px; }
#exampleTitle { color: $muted; font-size: $fs_small; font-weight: 600; }
QScrollArea#examplesScroll, #examplesInner { background: transparent; }
QToolButton#cardAction { font-size: $fs_small; }
#editorMessage { color: $success_text; }
#editorMessage[error="true"] { color: $error_text; }
#previewBox { background: $code; border: 1px solid $border; border-radius: 8px;
              font-family: monospace; }
"""
