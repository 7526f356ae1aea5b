"""The style sheet's resources are found from the source tree (and, frozen, from the bundle)."""

from __future__ import annotations

from desktop.ui.shell.style import STYLE_SHEET, resource_path


def test_the_combo_box_arrow_exists_where_the_style_sheet_points() -> None:
    arrow = resource_path("icons", "chevron-down.svg")
    assert arrow.is_file()
    assert arrow.as_posix() in STYLE_SHEET
