"""The Models page's own rules (list rows, badges, the memory warning): a template in the
palette's names (`desktop.ui.common.theme`), applied with the application's style."""

from __future__ import annotations

PAGE_STYLE = """
#modelList { padding: 4px; }
#modelList::item { border-radius: 8px; margin: 1px 0; padding: 0; }
#modelRow, #modelRow QLabel { background: transparent; }
#rowName { font-weight: 600; }
#badge { background: $user_bubble; color: $link; border-radius: 8px; padding: 1px 7px;
         font-size: $fs_small; font-weight: 600; }
#modelTitle { font-size: $fs_large; font-weight: 600; }
#memoryWarning { background: $error_back; border: 1px solid $error_border; border-radius: 8px;
                 color: $error_text; padding: 8px 10px; }
"""
